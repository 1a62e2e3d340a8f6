package certwatch

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// DefaultFiles are the certificate files of a kubeadm node: the kubelet's
// client and serving certificates, the control plane's certificates, and the
// kubeconfigs with embedded client certificates. Nodes without a control
// plane simply lack the last two.
var DefaultFiles = []string{
	"/var/lib/kubelet/pki",
	"/etc/kubernetes/pki",
	"/etc/kubernetes/*.conf",
}

// Config is the certificate watch section of the agent's configuration.
type Config struct {
	// Files are paths or filepath.Match globs of certificate and kubeconfig
	// files. A matching directory is walked recursively, and files without
	// certificates, such as private keys, are skipped.
	Files     []string   `toml:"files"`
	Endpoints []Endpoint `toml:"endpoints"`
	// Interval is the time between two checks of the files, and of an
	// endpoint that sets no interval of its own.
	Interval Duration `toml:"interval"`
	// Timeout limits the connection and TLS handshake of an endpoint that
	// sets no timeout of its own.
	Timeout        Duration `toml:"timeout"`
	Warning        Duration `toml:"warning"`
	Critical       Duration `toml:"critical"`
	RenewalOverdue float64  `toml:"renewal_overdue"`
}

// Endpoint is a TLS endpoint whose certificate chain is checked.
type Endpoint struct {
	Address    string   `toml:"address"`     // host:port or an https:// URL
	ServerName string   `toml:"server_name"` // SNI, by default the host unless it is an IP address
	Interval   Duration `toml:"interval"`    // 0 uses Config.Interval
	Timeout    Duration `toml:"timeout"`     // 0 uses Config.Timeout
}

// DefaultConfig returns the configuration used for keys that a file does not
// set: DefaultFiles, no endpoints, checks every 10 minutes with a 10 second
// timeout, and DefaultThresholds.
func DefaultConfig() Config {
	t := DefaultThresholds()
	return Config{
		Files:          append([]string{}, DefaultFiles...),
		Interval:       Duration(10 * time.Minute),
		Timeout:        Duration(10 * time.Second),
		Warning:        Duration(t.Warning),
		Critical:       Duration(t.Critical),
		RenewalOverdue: t.RenewalOverdue,
	}
}

// Thresholds returns the alert thresholds that c sets.
func (c Config) Thresholds() Thresholds {
	return Thresholds{Warning: time.Duration(c.Warning), Critical: time.Duration(c.Critical), RenewalOverdue: c.RenewalOverdue}
}

// Validate returns every problem of c, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Interval < Duration(time.Second) {
		fail("interval: must be at least 1s, got %q", c.Interval)
	}
	if c.Timeout <= 0 {
		fail("timeout: must be positive, got %q", c.Timeout)
	}
	if c.Warning < 0 {
		fail("warning: must not be negative, got %q", c.Warning)
	}
	if c.Critical < 0 {
		fail("critical: must not be negative, got %q", c.Critical)
	}
	if c.Warning > 0 && c.Critical >= c.Warning {
		fail("critical: must be less than warning (%q), got %q", c.Warning, c.Critical)
	}
	if c.RenewalOverdue < 0 || c.RenewalOverdue >= 1 {
		fail("renewal_overdue: must be a share of the lifetime from 0 (off) to below 1, such as 0.9, got %v", c.RenewalOverdue)
	}
	for i, pattern := range c.Files {
		if _, err := filepath.Match(pattern, ""); err != nil {
			fail("files[%d]: invalid glob %q: %w", i, pattern, err)
		}
	}
	for i, ep := range c.Endpoints {
		if _, err := ParseEndpoint(ep.Address); err != nil {
			fail("endpoints[%d].address: %w", i, err)
		}
		if ep.Interval != 0 && ep.Interval < Duration(time.Second) {
			fail("endpoints[%d].interval: must be at least 1s, got %q", i, ep.Interval)
		}
		if ep.Timeout < 0 {
			fail("endpoints[%d].timeout: must not be negative, got %q", i, ep.Timeout)
		}
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration read from a string such as "30d", "12h" or
// "90s"; integers are rejected.
type Duration = scanner.Duration
