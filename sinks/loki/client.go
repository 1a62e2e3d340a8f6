package loki

import (
	"fmt"
	"time"

	"github.com/grafana/loki-client-go/loki"
	"github.com/prometheus/common/config"

	"github.com/klaxon-agent/klaxon/sinks"
)

// batchWait is how long the client collects entries before it pushes them.
// Alerts are few and urgent, so it is shorter than the library's 1 s.
const batchWait = 200 * time.Millisecond

// clientAttempts is how often the client tries one batch before it gives
// up. A batch it gives up on for a retryable reason is handed in again by
// the spool, with the spool's own backoff. A short schedule here keeps
// Handle and Stop from blocking for long, because the client retries
// inside the goroutine that takes new entries and Stop cannot cut a retry
// short.
const clientAttempts = 3

// clientConfig builds the loki-client-go configuration of a sink. It starts
// from the library's defaults, because a zero Config makes the client retry
// without pause and without end.
func clientConfig(cfg Config) (loki.Config, error) {
	lc, err := loki.NewDefaultConfig(cfg.URL)
	if err != nil {
		return loki.Config{}, fmt.Errorf("url: invalid: %w", err)
	}
	hc, err := httpClientConfig(cfg)
	if err != nil {
		return loki.Config{}, err
	}
	lc.Client = hc
	lc.TenantID = cfg.TenantID
	lc.BatchWait = batchWait
	lc.BatchSize = cfg.BatchMaxBytes
	lc.Timeout = time.Duration(cfg.Timeout)
	lc.BackoffConfig.MinBackoff = time.Duration(cfg.RetryMin)
	lc.BackoffConfig.MaxBackoff = time.Duration(cfg.RetryMax)
	lc.BackoffConfig.MaxRetries = clientAttempts
	return lc, nil
}

// httpClientConfig builds the HTTP settings with Prometheus' HTTP client
// configuration (prometheus/common/config). It reads the password and
// token files for each request and loads certificate files again when they
// change, so a rotated Kubernetes Secret takes effect without a restart.
// Secrets from environment variables are set inline. A client is built
// once here, so that a missing certificate file fails New.
func httpClientConfig(cfg Config) (config.HTTPClientConfig, error) {
	hc := config.HTTPClientConfig{
		FollowRedirects: false,
		TLSConfig: config.TLSConfig{
			CAFile:             cfg.TLS.CAFile,
			CertFile:           cfg.TLS.CertFile,
			KeyFile:            cfg.TLS.KeyFile,
			ServerName:         cfg.TLS.ServerName,
			InsecureSkipVerify: cfg.TLS.InsecureSkipVerify,
		},
	}
	if cfg.Username != "" {
		hc.BasicAuth = &config.BasicAuth{Username: cfg.Username, PasswordFile: cfg.PasswordFile}
		if cfg.PasswordEnv != "" {
			password, err := sinks.ReadSecret("password_file", "", "password_env", cfg.PasswordEnv)
			if err != nil {
				return hc, err
			}
			hc.BasicAuth.Password = config.Secret(password)
		}
	}
	if cfg.BearerTokenFile != "" || cfg.BearerTokenEnv != "" {
		hc.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: cfg.BearerTokenFile}
		if cfg.BearerTokenEnv != "" {
			token, err := sinks.ReadSecret("bearer_token_file", "", "bearer_token_env", cfg.BearerTokenEnv)
			if err != nil {
				return hc, err
			}
			hc.Authorization.Credentials = config.Secret(token)
		}
	}
	if err := hc.Validate(); err != nil {
		return hc, err
	}
	if _, err := config.NewClientFromConfig(hc, "klaxon-loki"); err != nil {
		return hc, err
	}
	return hc, nil
}
