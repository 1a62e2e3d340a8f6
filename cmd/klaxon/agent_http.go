package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klaxon-agent/klaxon/scanner/follow"
)

// stuckAfter is how long the pipeline's loop may go without a round before
// /healthz fails. The loop wakes every 100 ms while it runs.
const stuckAfter = 30 * time.Second

// agentProbe is the view of the running pipeline that the HTTP endpoints read.
type agentProbe interface {
	LastProgress() time.Time
	Scanned() bool
	CaughtUp() bool
	Coverage() []follow.Coverage
}

// newAgentMux returns the handler of /metrics, /healthz, /readyz and
// /coverage. /metrics serves reg and the default registry, where
// loki-client-go registers its promtail_* counters and the Go and process
// collectors live.
func newAgentMux(reg *prometheus.Registry, probe agentProbe, stateDir string) *http.ServeMux {
	mux := http.NewServeMux()
	gatherers := prometheus.Gatherers{reg, prometheus.DefaultGatherer}
	mux.Handle("/metrics", promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		since := time.Since(probe.LastProgress())
		if since > stuckAfter {
			http.Error(w, fmt.Sprintf("pipeline loop stuck: no round for %s", since.Round(time.Second)),
				http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := checkReady(probe, stateDir); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/coverage", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(probe.Coverage())
	})
	return mux
}

// checkReady returns why the agent is not ready: the first scan for files
// has not finished, or the state folder is not writable. The rules were
// loaded before the endpoints start.
func checkReady(probe agentProbe, stateDir string) error {
	var errs []error
	if !probe.Scanned() {
		errs = append(errs, errors.New("first scan for log files not finished"))
	}
	f, err := os.CreateTemp(stateDir, ".readyz-*")
	if err != nil {
		errs = append(errs, fmt.Errorf("state folder not writable: %w", err))
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	return errors.Join(errs...)
}

// serveHTTP serves handler on addr until the returned function is called,
// and returns the address it listens on. An empty addr serves nothing.
func serveHTTP(addr string, handler http.Handler, logger *slog.Logger) (string, func(), error) {
	if addr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen for metrics: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server failed", "err", err)
		}
	}()
	logger.Info("serving metrics", "address", ln.Addr().String())
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// newBuildInfo returns klaxon_build_info, which is 1 and carries the
// version as a label.
func newBuildInfo() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "klaxon_build_info",
		Help: "Always 1; the version label is the version of the running binary.",
	}, []string{"version"})
	g.WithLabelValues(version()).Set(1)
	return g
}
