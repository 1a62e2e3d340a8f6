package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/klaxon-agent/klaxon/sinks"
)

// Defaults of [heartbeat].
const (
	defaultHeartbeatInterval = time.Minute
	defaultHeartbeatTimeout  = 10 * time.Second
)

// heartbeatConfig is the [heartbeat] table: a dead man's switch URL that
// the agent requests at an interval while its pipeline runs, so that a
// monitoring service notices when the requests stop.
type heartbeatConfig struct {
	// URLFile and URLEnv name where the URL is read from, before every
	// request. The URL often holds a token, so it is never logged.
	URLFile  string         `toml:"url_file"`
	URLEnv   string         `toml:"url_env"`
	Interval sinks.Duration `toml:"interval"`
	Timeout  sinks.Duration `toml:"timeout"`
	// Method is GET or POST.
	Method string `toml:"method"`
}

func defaultHeartbeatConfig() heartbeatConfig {
	return heartbeatConfig{
		Interval: sinks.Duration(defaultHeartbeatInterval),
		Timeout:  sinks.Duration(defaultHeartbeatTimeout),
		Method:   http.MethodGet,
	}
}

func (h heartbeatConfig) enabled() bool { return h.URLFile != "" || h.URLEnv != "" }

func (h heartbeatConfig) validate() []error {
	errs := []error{sinks.ValidateSecretKeys("heartbeat.url_file", h.URLFile, "heartbeat.url_env", h.URLEnv, false)}
	if v := time.Duration(h.Interval); v < time.Second || v > 24*time.Hour {
		errs = append(errs, fmt.Errorf("heartbeat.interval: %s is outside 1s to 24h", v))
	}
	if v := time.Duration(h.Timeout); v <= 0 || v > time.Duration(h.Interval) {
		errs = append(errs, fmt.Errorf("heartbeat.timeout: %s must be positive and at most the interval", v))
	}
	if h.Method != http.MethodGet && h.Method != http.MethodPost {
		errs = append(errs, fmt.Errorf("heartbeat.method: invalid value %q (allowed: GET, POST)", h.Method))
	}
	return errs
}

// checkURL reads the URL as each heartbeat does, so that --check-config can
// warn about a file or variable that cannot be read where it runs. The error
// names the key and the file or variable, never the URL.
func (h heartbeatConfig) checkURL() error {
	if !h.enabled() {
		return nil
	}
	raw, err := sinks.ReadSecret("heartbeat.url_file", h.URLFile, "heartbeat.url_env", h.URLEnv)
	if err != nil {
		return err
	}
	// The URL is a secret, so the error describes the fault, not the URL.
	where := "heartbeat.url_file " + h.URLFile
	if h.URLFile == "" {
		where = "heartbeat.url_env " + h.URLEnv
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: not an http or https URL with a host", where)
	}
	return nil
}

// heartbeat requests the configured URL at its interval while the pipeline
// runs.
type heartbeat struct {
	config   func() heartbeatConfig // the running config, which a reload may change
	alive    func() bool            // whether the pipeline's loop makes progress
	client   *http.Client
	log      *slog.Logger
	requests *prometheus.CounterVec
}

func newHeartbeat(config func() heartbeatConfig, alive func() bool, logger *slog.Logger, reg prometheus.Registerer) *heartbeat {
	requests := promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_agent_heartbeats_total",
		Help: "Requests of the heartbeat URL, by result: success, failure, or skipped while the pipeline is stuck.",
	}, []string{"result"})
	for _, r := range []string{"success", "failure", "skipped"} {
		requests.WithLabelValues(r)
	}
	return &heartbeat{config: config, alive: alive, client: &http.Client{}, log: logger, requests: requests}
}

// run sends a heartbeat at once and then every interval until ctx ends.
// A stuck pipeline sends none, so that the dead man's switch fires.
func (h *heartbeat) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		cfg := h.config()
		timer.Reset(time.Duration(cfg.Interval))
		if !cfg.enabled() {
			continue
		}
		if !h.alive() {
			h.requests.WithLabelValues("skipped").Inc()
			h.log.Warn("heartbeat skipped: the pipeline is stuck")
			continue
		}
		// A failure is logged when its error differs from the last one's,
		// so that a long outage does not flood the log.
		err := h.send(ctx, cfg)
		switch {
		case err != nil:
			h.requests.WithLabelValues("failure").Inc()
			if msg := err.Error(); msg != lastErr {
				h.log.Warn("heartbeat failed", "err", msg)
				lastErr = msg
			}
		default:
			h.requests.WithLabelValues("success").Inc()
			if lastErr != "" {
				h.log.Info("heartbeat recovered")
			}
			lastErr = ""
		}
	}
}

// send makes one request. Its error never contains the URL.
func (h *heartbeat) send(ctx context.Context, cfg heartbeatConfig) error {
	url, err := sinks.ReadSecret("heartbeat.url_file", cfg.URLFile, "heartbeat.url_env", cfg.URLEnv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, cfg.Method, url, nil)
	if err != nil {
		return sinks.Redact(errors.New("invalid heartbeat URL"), url)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return sinks.Redact(fmt.Errorf("request heartbeat URL: %w", err), url)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("heartbeat URL returned status %d", resp.StatusCode)
	}
	return nil
}
