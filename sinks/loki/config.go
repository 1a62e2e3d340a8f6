package loki

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// Defaults for the zero fields of Config.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultBatchMaxBytes = 1 << 20
)

// Config is the TOML table of one Loki sink. Secrets are read from files
// or environment variables named here, never written in the table.
type Config struct {
	// Name identifies the sink in routes, logs, metrics and the state folder.
	Name string `toml:"name"`
	// URL is Loki's push endpoint, such as
	// "http://loki.monitoring:3100/loki/api/v1/push".
	URL string `toml:"url"`
	// TenantID is sent as X-Scope-OrgID when set.
	TenantID string `toml:"tenant_id"`

	// Username turns on basic authentication, with the password read from
	// PasswordFile or PasswordEnv.
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	// BearerTokenFile or BearerTokenEnv turns on bearer authentication.
	BearerTokenFile string `toml:"bearer_token_file"`
	BearerTokenEnv  string `toml:"bearer_token_env"`

	TLS TLSConfig `toml:"tls"`

	// Labels are added to every stream. They must not reuse the names of
	// the labels the sink sets itself.
	Labels map[string]string `toml:"labels"`
	// ForwardLines also pushes each sample line of an alert, with its own
	// timestamp, to a stream labelled job="klaxon-lines", so that Loki
	// contains the evidence next to the alert. Only the samples that the
	// alert carries are forwarded, not every line that the rule matched.
	ForwardLines bool `toml:"forward_lines"`

	// Timeout bounds one push request.
	Timeout sinks.Duration `toml:"timeout"`
	// BatchMaxBytes bounds the log line bytes of one push request. A single
	// entry that is larger is still sent, in a request of its own.
	BatchMaxBytes int `toml:"batch_max_bytes"`

	// Config sets the spool. Its retry_min and retry_max also set the
	// client's short retry schedule for one batch.
	spool.Config
}

// TLSConfig sets the TLS client of a sink. Certificate files are loaded
// again when they change.
type TLSConfig struct {
	CAFile             string `toml:"ca_file"`
	CertFile           string `toml:"cert_file"`
	KeyFile            string `toml:"key_file"`
	ServerName         string `toml:"server_name"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
}

// ownLabels are the labels that the sink sets itself, so Config.Labels
// must not set them.
var ownLabels = []string{"job", "rule", "severity", "namespace", "node", "container"}

// labelNamePattern is Prometheus' classic label name syntax, which every
// Loki version accepts.
var labelNamePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// maxLabelValue is Loki's default max_label_value_length (2048).
const maxLabelValue = 2048

// Validate reports every invalid field, naming its TOML key.
func (c Config) Validate() error {
	errs := []error{sinks.ValidateName(c.Name)}
	errs = append(errs, c.validateURL())
	if c.Username == "" && (c.PasswordFile != "" || c.PasswordEnv != "") {
		errs = append(errs, errors.New("username: missing, password_file or password_env needs it"))
	}
	if c.Username != "" {
		errs = append(errs, sinks.ValidateSecretKeys("password_file", c.PasswordFile, "password_env", c.PasswordEnv, true))
	}
	errs = append(errs, sinks.ValidateSecretKeys("bearer_token_file", c.BearerTokenFile, "bearer_token_env", c.BearerTokenEnv, false))
	if c.Username != "" && (c.BearerTokenFile != "" || c.BearerTokenEnv != "") {
		errs = append(errs, errors.New("username and bearer_token_file/bearer_token_env: use basic or bearer authentication, not both"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls.cert_file and tls.key_file: set both for a client certificate, or neither"))
	}
	errs = append(errs, validateLabels(c.Labels))
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: must not be negative, got %s", time.Duration(c.Timeout)))
	}
	if c.BatchMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("batch_max_bytes: must not be negative, got %d", c.BatchMaxBytes))
	}
	errs = append(errs, c.Config.Validate())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loki sink %q: %w", c.Name, err)
	}
	return nil
}

func (c Config) validateURL() error {
	if c.URL == "" {
		return errors.New("url: missing, set Loki's push endpoint such as http://loki:3100/loki/api/v1/push")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("url: invalid: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url: scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("url: %q has no host", c.URL)
	}
	if u.User != nil {
		return errors.New("url: must not contain a user or password, use username with password_file or password_env instead")
	}
	return nil
}

func validateLabels(labels map[string]string) error {
	var errs []error
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		value := labels[name]
		switch {
		case !labelNamePattern.MatchString(name) || strings.HasPrefix(name, "__"):
			errs = append(errs, fmt.Errorf("labels.%s: invalid label name, use letters, digits and '_', not starting with a digit or '__'", name))
		case slices.Contains(ownLabels, name):
			errs = append(errs, fmt.Errorf("labels.%s: the sink sets this label itself (%s)", name, strings.Join(ownLabels, ", ")))
		case value == "":
			errs = append(errs, fmt.Errorf("labels.%s: empty value; Loki drops labels without a value", name))
		case len(value) > maxLabelValue:
			errs = append(errs, fmt.Errorf("labels.%s: value is %d bytes, Loki accepts at most %d", name, len(value), maxLabelValue))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = sinks.Duration(DefaultTimeout)
	}
	if c.BatchMaxBytes == 0 {
		c.BatchMaxBytes = DefaultBatchMaxBytes
	}
	// The client's backoff takes these too, and a zero backoff would make
	// it retry without pause.
	if c.RetryMin == 0 {
		c.RetryMin = sinks.Duration(spool.DefaultRetryMin)
	}
	if c.RetryMax == 0 {
		c.RetryMax = sinks.Duration(spool.DefaultRetryMax)
	}
	return c
}

// pushHost returns the host and port of the push URL, the value of the
// host label on loki-client-go's counters. The URL must be valid.
func (c Config) pushHost() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// ValidateHosts reports Loki sinks that push to the same host and port.
// loki-client-go counts sent and dropped entries per host, and a sink
// reads these counters to confirm delivery, so two sinks cannot share a
// host. New rejects the second sink as well; this check finds the conflict
// while the configuration is validated, before anything is opened.
func ValidateHosts(cfgs []Config) error {
	var errs []error
	first := map[string]string{}
	for _, c := range cfgs {
		host := c.pushHost()
		if host == "" {
			continue
		}
		if other, ok := first[host]; ok {
			errs = append(errs, hostConflict(c.Name, other, host))
			continue
		}
		first[host] = c.Name
	}
	return errors.Join(errs...)
}

func hostConflict(name, other, host string) error {
	return fmt.Errorf("loki sink %q: url: host %s is already used by loki sink %q; "+
		"the Loki client counts deliveries per host, so give each Loki sink its own host and port", name, host, other)
}
