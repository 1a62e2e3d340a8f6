package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAgentConfigSinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.toml")
	writeFile(t, path, `
[[sink]]
name = "slack-oncall"
type = "slack"
webhook_url_file = "/etc/klaxon/slack/webhook-url"

[[sink]]
name = "loki"
type = "loki"
url = "http://127.0.0.1:3100/loki/api/v1/push"

[[route]]
severities = ["critical"]
sinks = ["slack-oncall", "loki"]

[[route]]
sinks = ["loki"]
`)
	cfg, err := loadAgentConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cfg.sinkSpecs {
		names = append(names, s.Name+"/"+s.Type)
	}
	if got, want := strings.Join(names, ","), "slack-oncall/slack,loki/loki"; got != want {
		t.Errorf("sinks = %s, want %s", got, want)
	}
	if len(cfg.Routes) != 2 {
		t.Errorf("%d routes, want 2", len(cfg.Routes))
	}
}

func TestAgentConfigSinkErrors(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string
	}{
		{"unknown sink key", `
[[sink]]
name = "slack"
type = "slack"
webhook_url_file = "/run/url"
chanel = "C1"
`, `:6: unknown key "sink.chanel"`},
		{"unknown sink type", `
[[sink]]
name = "pager"
type = "pagerduty"
`, `sink[0]: type: unknown sink type "pagerduty"`},
		{"route to unknown sink", `
[[sink]]
name = "slack"
type = "slack"
webhook_url_file = "/run/url"

[[route]]
sinks = ["slack", "email"]
`, `route[0].sinks: unknown sink "email"`},
		{"certs interval", `
[certs]
interval = "10ms"
`, `certs.interval: must be at least 1s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "agent.toml")
			writeFile(t, path, tt.config)
			_, err := loadAgentConfig(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestAgentCertsOff(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   bool
	}{
		{"defaults", "", true},
		{"no files", "[certs]\nfiles = []\n", false},
		{"endpoint only", "[certs]\nfiles = []\nendpoints = [{address = \"127.0.0.1:6443\"}]\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "agent.toml")
			writeFile(t, path, tt.config)
			cfg, err := loadAgentConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.certsEnabled(); got != tt.want {
				t.Errorf("certsEnabled() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckConfigRouteRuleNames(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.toml")
	writeFile(t, rules, e2eRules)
	tests := []struct {
		name     string
		rule     string
		wantCode int
		wantErr  string
	}{
		{"rules file rule", "incident", exitOK, ""},
		{"certificate rule", "certificate-expired", exitOK, ""},
		{"typo", "incidnet", exitUsage, `route[0].rules[0]: no rule is named "incidnet"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "agent.toml")
			writeFile(t, config, `
[[sink]]
name = "slack"
type = "slack"
webhook_url_file = "/run/url"

[[route]]
rules = ["`+tt.rule+`"]
sinks = ["slack"]
`)
			var out, errOut strings.Builder
			code := runAgent(context.Background(), []string{"--config", config, "--rules", rules, "--check-config"},
				nil, &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d; stderr: %s", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut.String(), tt.wantErr)
			}
		})
	}
}

// webhookRecorder is a Slack incoming webhook on 127.0.0.1 that records
// the bodies it receives.
type webhookRecorder struct {
	mu     sync.Mutex
	bodies []string
	srv    *httptest.Server
}

func newWebhookRecorder(t *testing.T) *webhookRecorder {
	w := &webhookRecorder{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, string(body))
		w.mu.Unlock()
		io.WriteString(rw, "ok")
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// count returns how many bodies contain s.
func (w *webhookRecorder) count(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.bodies {
		n += strings.Count(b, s)
	}
	return n
}

// messages returns how many bodies contain s.
func (w *webhookRecorder) messages(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.bodies {
		if strings.Contains(b, s) {
			n++
		}
	}
	return n
}

// waitFor waits until a body contains s.
func (w *webhookRecorder) waitFor(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); w.count(s) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no webhook message contains %q", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runAgentUntil runs the agent with args until stop is called, and
// returns its exit status and standard error when it is.
func runAgentUntil(t *testing.T, args ...string) (stop func() (int, string)) {
	stop, _, _ = runAgentOutput(t, args...)
	return stop
}

// runAgentOutput runs the agent with args until stop is called, and
// returns its standard output and error as it writes them.
func runAgentOutput(t *testing.T, args ...string) (stop func() (int, string), out, errOut *lockedBuffer) {
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut = &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- runAgent(ctx, args, nil, out, errOut) }()
	stopped := false
	stop = func() (int, string) {
		cancel()
		code := <-done
		stopped = true
		return code, errOut.String()
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return stop, out, errOut
}

func TestAgentCertAlertsThroughSink(t *testing.T) {
	dir := t.TempDir()
	hook := newWebhookRecorder(t)
	urlFile := filepath.Join(dir, "webhook-url")
	writeFile(t, urlFile, hook.srv.URL+"\n")
	certDir := filepath.Join(dir, "pki")
	expired := newCertsTestCert(t, "expired.klaxon.test", nil, -48*time.Hour, -time.Hour)
	writeCertsFile(t, filepath.Join(certDir, "expired.crt"), expired.pem())
	rules := filepath.Join(dir, "rules.toml")
	writeFile(t, rules, e2eRules)
	config := filepath.Join(dir, "agent.toml")
	writeFile(t, config, `
log_root = "`+filepath.Join(dir, "pods")+`"
state_dir = "`+filepath.Join(dir, "state")+`"
rules = ["`+rules+`"]
metrics_address = "127.0.0.1:0"

[certs]
files = ["`+certDir+`"]

[[sink]]
name = "slack"
type = "slack"
webhook_url_file = "`+urlFile+`"
`)
	if err := os.MkdirAll(filepath.Join(dir, "pods"), 0o755); err != nil {
		t.Fatal(err)
	}

	stop := runAgentUntil(t, "--config", config, "--log-format", "text")
	hook.waitFor(t, "expired.klaxon.test")
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", certStateFile)); err != nil {
		t.Fatalf("certificate alerts not saved: %v", err)
	}

	// After a restart, the saved alert is not sent again, while a new
	// certificate found in the same check raises its own.
	before := hook.count("expired.klaxon.test")
	soon := newCertsTestCert(t, "soon.klaxon.test", nil, -300*24*time.Hour, 72*time.Hour)
	writeCertsFile(t, filepath.Join(certDir, "soon.crt"), soon.pem())
	stop = runAgentUntil(t, "--config", config, "--log-format", "text")
	hook.waitFor(t, "soon.klaxon.test")
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	if after := hook.count("expired.klaxon.test"); after != before {
		t.Errorf("the expired certificate was reported again after the restart: %d mentions, before %d", after, before)
	}
}
