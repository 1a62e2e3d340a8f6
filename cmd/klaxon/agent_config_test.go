package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxon-agent/klaxon/scanner/follow"
)

func TestLoadAgentConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.toml")
	writeFile(t, path, `
# A full configuration.
rules = ["/etc/klaxon/rules.toml", "/etc/klaxon/local.toml"]
log_root = "/host/var/log/pods"
state_dir = "/var/lib/klaxon-test"
node = "worker-3"
start_at = "beginning"
extra_files = ["/var/log/kube-apiserver*.log"]
metrics_address = "127.0.0.1:9102"

[namespaces]
include = ["kube-*", "cert-manager"]
exclude = ["kube-public"]

[follow]
rescan_interval = "30s"
check_interval = "500ms"
rotate_wait = "10s"
idle_timeout = "1h"
save_interval = "2s"
max_files = 100
`)
	cfg, err := loadAgentConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := cfg.tailOptions()
	checks := []struct {
		name      string
		got, want any
	}{
		{"rules", strings.Join(cfg.Rules, ","), "/etc/klaxon/rules.toml,/etc/klaxon/local.toml"},
		{"log root", opts.Root, "/host/var/log/pods"},
		{"state dir", cfg.StateDir, "/var/lib/klaxon-test"},
		{"node", cfg.nodeName(), "worker-3"},
		{"start at", cfg.StartAt, startAtBeginning},
		{"extra files", strings.Join(opts.ExtraFiles, ","), "/var/log/kube-apiserver*.log"},
		{"metrics", cfg.MetricsAddress, "127.0.0.1:9102"},
		{"include", strings.Join(opts.Namespaces.Include, ","), "kube-*,cert-manager"},
		{"exclude", strings.Join(opts.Namespaces.Exclude, ","), "kube-public"},
		{"rescan", opts.RescanInterval, 30 * time.Second},
		{"check", opts.CheckInterval, 500 * time.Millisecond},
		{"rotate wait", opts.RotateWait, 10 * time.Second},
		{"idle", opts.IdleTimeout, time.Hour},
		{"save", time.Duration(cfg.Follow.SaveInterval), 2 * time.Second},
		{"max files", opts.MaxFiles, 100},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestAgentConfigDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.toml")
	writeFile(t, path, "# nothing set\n")
	cfg, err := loadAgentConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NODE_NAME", "from-env")
	if cfg.LogRoot != follow.DefaultRoot || cfg.StateDir != defaultStateDir || cfg.StartAt != startAtEnd {
		t.Errorf("defaults = %q, %q, %q; want %q, %q, %q", cfg.LogRoot, cfg.StateDir, cfg.StartAt,
			follow.DefaultRoot, defaultStateDir, startAtEnd)
	}
	if got := cfg.nodeName(); got != "from-env" {
		t.Errorf("node = %q, want $NODE_NAME", got)
	}
}

func TestAgentConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"unknown key", "log_root = \"/x\"\nlogroot = \"/y\"\n", []string{"agent.toml:2: unknown key \"logroot\""}},
		{"duplicate table", "[follow]\nrescan_interval = \"1m\"\n\n[follow]\n", []string{"invalid TOML"}},
		{"misspelt table key", "[namespaces]\ninclude = [\"a\"]\nexlude = [\"b\"]\n", []string{"agent.toml:3: unknown key \"namespaces.exlude\""}},
		{"unknown table", "[sinks]\nurl = \"x\"\n", []string{"agent.toml:1: unknown key \"sinks\"", "agent.toml:2: unknown key \"sinks.url\""}},
		{"syntax", "log_root = \n", []string{"agent.toml:1: invalid TOML"}},
		{"integer duration", "[follow]\nrotate_wait = 5\n", []string{"agent.toml"}},
		{"duration range", "[follow]\ncheck_interval = \"1ms\"\n", []string{"follow.check_interval: 1ms is outside 100ms to 1m0s"}},
		{"start at", "start_at = \"middle\"\n", []string{"start_at: invalid value \"middle\" (allowed: end, beginning)"}},
		{"namespace glob", "[namespaces]\ninclude = [\"kube-[\"]\n", []string{"namespaces: invalid namespace pattern \"kube-[\""}},
		{"relative glob", "extra_files = [\"logs/*.log\"]\n", []string{"extra_files: invalid pattern \"logs/*.log\""}},
		{"several", "start_at = \"x\"\nlog_root = \"\"\n", []string{"start_at:", "log_root: must not be empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "agent.toml")
			writeFile(t, path, tt.content)
			_, err := loadAgentConfig(path)
			if err == nil {
				t.Fatal("loadAgentConfig succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), strings.ReplaceAll(w, "agent.toml", path)) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestAgentFlagsOverrideConfig(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "agent.toml")
	writeFile(t, config, "log_root = \"/from/config\"\nstate_dir = \"/from/config/state\"\nrules = [\"/from/config.toml\"]\n")
	var errOut bytes.Buffer
	fl, _, ok := parseAgentFlags([]string{"--config", config, "--log-root", "/from/flag", "--state-dir", "/flag/state",
		"--rules", "a.toml", "--rules", "b.toml"}, &errOut)
	if !ok {
		t.Fatalf("parse flags: %s", errOut.String())
	}
	cfg, err := agentSetup(fl)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogRoot != "/from/flag" || cfg.StateDir != "/flag/state" || strings.Join(cfg.Rules, ",") != "a.toml,b.toml" {
		t.Errorf("config after flags: root %q, state %q, rules %v", cfg.LogRoot, cfg.StateDir, cfg.Rules)
	}
}

func TestRunAgentUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	writeFile(t, bad, "colour = \"red\"\n")
	rules := filepath.Join(dir, "rules.toml")
	writeFile(t, rules, e2eRules)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--bogus"}, exitUsage, "flag provided but not defined"},
		{"argument", []string{"extra"}, exitUsage, "unexpected argument"},
		{"bad config", []string{"--config", bad}, exitUsage, "unknown key \"colour\""},
		{"missing config", []string{"--config", filepath.Join(dir, "none.toml")}, exitUsage, "read config"},
		{"log format", []string{"--rules", rules, "--log-format", "xml", "--state-dir", dir}, exitUsage, "invalid --log-format"},
		{"check", []string{"--rules", rules, "--check-config"}, exitOK, "2 rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runAgent(context.Background(), tt.args, nil, &out, &errOut)
			if code != tt.code {
				t.Errorf("exit status = %d, want %d; stderr: %s", code, tt.code, errOut.String())
			}
			if got := out.String() + errOut.String(); !strings.Contains(got, tt.want) {
				t.Errorf("output %q does not contain %q", got, tt.want)
			}
		})
	}
}

func TestRunAgentStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "pods")
	path := filepath.Join(root, "kube-system_etcd-0_uid", "etcd", "0.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.toml")
	writeFile(t, rules, e2eRules)

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAgent(ctx, []string{"--rules", rules, "--log-root", root, "--state-dir", filepath.Join(dir, "state"),
			"--log-format", "text", "--metrics-address", "127.0.0.1:0"}, nil, &out, &errOut)
	}()

	// Lines are appended until the agent has opened the file and saved.
	stateFile := filepath.Join(dir, "state", follow.StateFileName)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(stateFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent saved no state")
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(time.Now().UTC().Format(time.RFC3339Nano) + " stdout F FATAL incident 7\n")
		f.Close()
		time.Sleep(100 * time.Millisecond)
	}
	for !strings.Contains(out.String(), `"incident":"7"`) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit status = %d, want %d; stderr: %s", code, exitOK, errOut.String())
	}
	if n := strings.Count(out.String(), `"rule":"incident"`); n != 1 {
		t.Errorf("%d alerts on standard output, want 1:\n%s", n, out.String())
	}
	st, err := follow.ReadState(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Positions) != 1 || st.Positions[0].Path != path {
		t.Errorf("saved positions = %+v, want one for %s", st.Positions, path)
	}
}

// lockedBuffer is a bytes.Buffer that the agent writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
