package loki

import (
	"net/http"
	"time"

	"github.com/prometheus/common/config"

	"github.com/klaxon-agent/klaxon/sinks"
)

// newHTTPClient builds the push client with Prometheus' HTTP client
// configuration (prometheus/common/config), which reads the password and
// token files for each request and reloads certificate files when they
// change, so a rotated Kubernetes Secret takes effect without a restart.
func newHTTPClient(cfg Config) (*http.Client, error) {
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
				return nil, err
			}
			hc.BasicAuth.Password = config.Secret(password)
		}
	}
	if cfg.BearerTokenFile != "" || cfg.BearerTokenEnv != "" {
		hc.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: cfg.BearerTokenFile}
		if cfg.BearerTokenEnv != "" {
			token, err := sinks.ReadSecret("bearer_token_file", "", "bearer_token_env", cfg.BearerTokenEnv)
			if err != nil {
				return nil, err
			}
			hc.Authorization.Credentials = config.Secret(token)
		}
	}
	if err := hc.Validate(); err != nil {
		return nil, err
	}
	client, err := config.NewClientFromConfig(hc, "klaxon-loki", config.WithUserAgent("klaxon"))
	if err != nil {
		return nil, err
	}
	client.Timeout = time.Duration(cfg.Timeout)
	return client, nil
}
