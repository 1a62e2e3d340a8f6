package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/klaxon-agent/klaxon/certwatch"
	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/scanner/follow"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/setup"
)

// Values of start_at.
const (
	startAtEnd       = "end"
	startAtBeginning = "beginning"
)

// defaultStateDir holds the positions, the alert state and the sinks' spools.
const defaultStateDir = "/var/lib/klaxon"

// defaultMetricsAddress is the address of the agent's HTTP endpoints, whose
// port the deploy files' probes and PodMonitor use.
const defaultMetricsAddress = ":9090"

// agentConfig is the TOML configuration of `klaxon agent`. Every key is
// optional.
type agentConfig struct {
	// Rules are rules files; empty means ./rules.toml when present, else the
	// rules built into the binary.
	Rules []string `toml:"rules"`
	// LogRoot is the kubelet's pod log folder.
	LogRoot string `toml:"log_root"`
	// StateDir holds the state file and the sinks' files.
	StateDir string `toml:"state_dir"`
	// Node is put on every alert; empty means $NODE_NAME, else the host name.
	Node string `toml:"node"`
	// StartAt is where files present at the very first start are read
	// from: "end" skips their old lines, "beginning" reads them. Files that
	// appear later, and every file after a restart, are read from where the
	// agent left off.
	StartAt string `toml:"start_at"`
	// ExtraFiles are globs of further plain log files, such as a control
	// plane's own logs. They must not match rotated files.
	ExtraFiles []string `toml:"extra_files"`
	// MetricsAddress is the host:port that serves /metrics, /healthz,
	// /readyz and /coverage; empty disables them.
	MetricsAddress string `toml:"metrics_address"`

	Namespaces namespacesConfig `toml:"namespaces"`
	Follow     followConfig     `toml:"follow"`
	// SelfAlertAfter is how long a sink may fail to deliver before an alert
	// about it goes out through the other sinks; 0 turns this off.
	SelfAlertAfter sinks.Duration `toml:"self_alert_after"`

	Heartbeat heartbeatConfig `toml:"heartbeat"`
	// Certs is the certificate watch. Without files and endpoints it is off.
	Certs certwatch.Config `toml:"certs"`
	// Config holds the [[sink]] and [[route]] tables. Without a sink, alerts
	// go to standard output as JSON lines.
	setup.Config

	// sinkSpecs are the decoded [[sink]] tables.
	sinkSpecs []setup.Spec
}

// namespacesConfig selects pods by namespace glob.
type namespacesConfig struct {
	// Include defaults to follow.DefaultNamespaces; ["*"] follows all.
	Include []string `toml:"include"`
	Exclude []string `toml:"exclude"`
}

// followConfig tunes discovery and tailing. Zero values take the defaults
// of package follow.
type followConfig struct {
	RescanInterval sinks.Duration `toml:"rescan_interval"`
	CheckInterval  sinks.Duration `toml:"check_interval"`
	RotateWait     sinks.Duration `toml:"rotate_wait"`
	IdleTimeout    sinks.Duration `toml:"idle_timeout"`
	SaveInterval   sinks.Duration `toml:"save_interval"`
	MaxFiles       int            `toml:"max_files"`
	MaxLineBytes   int            `toml:"max_line_bytes"`
}

func defaultAgentConfig() *agentConfig {
	return &agentConfig{
		LogRoot:        follow.DefaultRoot,
		StateDir:       defaultStateDir,
		StartAt:        startAtEnd,
		MetricsAddress: defaultMetricsAddress,
		SelfAlertAfter: sinks.Duration(defaultSelfAlertAfter),
		Heartbeat:      defaultHeartbeatConfig(),
		Certs:          certwatch.DefaultConfig(),
	}
}

// loadAgentConfig reads a config file over the defaults. Unknown keys are
// errors naming their line, because a misspelt key would otherwise be
// silently ignored.
func loadAgentConfig(path string) (*agentConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg := defaultAgentConfig()
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: invalid TOML: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	// Decode reads the [[sink]] tables before the check of unknown keys,
	// because it marks the keys of each sink type as decoded.
	specs, err := setup.Decode(&md, cfg.Config)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	cfg.sinkSpecs = specs
	for _, key := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("%s:%d: unknown key %q", path, keyLine(data, key), key.String()))
	}
	if err := cfg.validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return cfg, errors.Join(errs...)
}

// validate reports every invalid value, naming its key.
func (c *agentConfig) validate() error {
	var errs []error
	if c.StartAt != startAtEnd && c.StartAt != startAtBeginning {
		errs = append(errs, fmt.Errorf("start_at: invalid value %q (allowed: end, beginning)", c.StartAt))
	}
	if c.LogRoot == "" {
		errs = append(errs, errors.New("log_root: must not be empty"))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("state_dir: must not be empty"))
	}
	filter := follow.NamespaceFilter{Include: c.Namespaces.Include, Exclude: c.Namespaces.Exclude}
	if err := filter.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("namespaces: %w", err))
	}
	for _, g := range c.ExtraFiles {
		if _, err := filepath.Match(g, ""); err != nil || !filepath.IsAbs(g) {
			errs = append(errs, fmt.Errorf("extra_files: invalid pattern %q: use an absolute path glob", g))
		}
	}
	errs = append(errs, c.Follow.validate()...)
	if v := time.Duration(c.SelfAlertAfter); v != 0 && (v < time.Second || v > 24*time.Hour) {
		errs = append(errs, fmt.Errorf("self_alert_after: %s is outside 1s to 24h (0s turns self-alerts off)", v))
	}
	errs = append(errs, c.Heartbeat.validate()...)
	if c.certsEnabled() {
		if err := c.Certs.Validate(); err != nil {
			errs = append(errs, prefixErrors("certs.", err))
		}
	}
	return errors.Join(errs...)
}

// stateDirWarning describes what happens when the agent cannot create or
// write the state folder here, or returns "" when it can. This is a warning,
// not a config error, because the folder may exist only where the agent
// runs, as with a hostPath volume.
func stateDirWarning(cfg *agentConfig) string {
	err := checkStateDir(cfg.StateDir)
	if err == nil {
		return ""
	}
	effect := "the agent would keep positions and alert state in memory"
	if len(cfg.sinkSpecs) > 0 {
		effect = "the agent would not start, because the sinks keep their spools there"
	}
	return fmt.Sprintf("state folder %s cannot be created or written here, so %s: %v", cfg.StateDir, effect, err)
}

// checkStateDir returns why the agent could not create or write the state
// folder dir here. It creates no folder: it writes and removes a temporary
// file in dir, or in dir's nearest existing parent when dir is missing.
func checkStateDir(dir string) error {
	existing := filepath.Clean(dir)
	for {
		fi, err := os.Stat(existing)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", existing)
			}
			break
		}
		parent := filepath.Dir(existing)
		if !errors.Is(err, fs.ErrNotExist) || parent == existing {
			return err
		}
		existing = parent
	}
	f, err := os.CreateTemp(existing, ".klaxon-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func (f followConfig) validate() []error {
	var errs []error
	for _, d := range []struct {
		key      string
		value    sinks.Duration
		min, max time.Duration
	}{
		{"follow.rescan_interval", f.RescanInterval, time.Second, time.Hour},
		{"follow.check_interval", f.CheckInterval, 100 * time.Millisecond, time.Minute},
		{"follow.rotate_wait", f.RotateWait, time.Second, time.Hour},
		{"follow.idle_timeout", f.IdleTimeout, 10 * time.Second, 24 * time.Hour},
		{"follow.save_interval", f.SaveInterval, time.Second, time.Hour},
	} {
		v := time.Duration(d.value)
		if v != 0 && (v < d.min || v > d.max) {
			errs = append(errs, fmt.Errorf("%s: %s is outside %s to %s", d.key, v, d.min, d.max))
		}
	}
	if f.MaxLineBytes != 0 && (f.MaxLineBytes < 1024 || f.MaxLineBytes > 16<<20) {
		errs = append(errs, fmt.Errorf("follow.max_line_bytes: %d is out of range (allowed: 1024 to %d, or 0 for %d)", f.MaxLineBytes, 16<<20, scanner.DefaultMaxLineBytes))
	}
	if f.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("follow.max_files: %d must not be negative", f.MaxFiles))
	}
	return errs
}

// certsEnabled reports whether the certificate watch has anything to check.
func (c *agentConfig) certsEnabled() bool {
	return len(c.Certs.Files) > 0 || len(c.Certs.Endpoints) > 0
}

// prefixErrors puts prefix before each error that err joins, so that every
// line of the message names its full key.
func prefixErrors(prefix string, err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return fmt.Errorf("%s%w", prefix, err)
	}
	var errs []error
	for _, e := range joined.Unwrap() {
		errs = append(errs, fmt.Errorf("%s%w", prefix, e))
	}
	return errors.Join(errs...)
}

// tailOptions returns the follow options the config sets.
func (c *agentConfig) tailOptions() follow.Options {
	return follow.Options{
		Root:           c.LogRoot,
		Namespaces:     follow.NamespaceFilter{Include: c.Namespaces.Include, Exclude: c.Namespaces.Exclude},
		ExtraFiles:     c.ExtraFiles,
		RescanInterval: time.Duration(c.Follow.RescanInterval),
		CheckInterval:  time.Duration(c.Follow.CheckInterval),
		RotateWait:     time.Duration(c.Follow.RotateWait),
		IdleTimeout:    time.Duration(c.Follow.IdleTimeout),
		MaxFiles:       c.Follow.MaxFiles,
		MaxLineBytes:   c.Follow.MaxLineBytes,
	}
}

// nodeName returns the configured node name, else $NODE_NAME, else the
// host name.
func (c *agentConfig) nodeName() string {
	if c.Node != "" {
		return c.Node
	}
	if n := os.Getenv("NODE_NAME"); n != "" {
		return n
	}
	n, _ := os.Hostname()
	return n
}

// keyLine returns the line that sets key, or 0 when it cannot be found. It
// reads [table] headers and plain or quoted keys, which is all this config
// uses, because BurntSushi/toml does not report positions of unknown keys.
func keyLine(data []byte, key toml.Key) int {
	want := key.String()
	table := ""
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			name, _, _ := strings.Cut(line, "#")
			table = strings.TrimSpace(strings.Trim(strings.TrimSpace(name), "[]"))
			if table == want {
				return n + 1
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		if table != "" {
			k = table + "." + k
		}
		if k == want {
			return n + 1
		}
	}
	return 0
}
