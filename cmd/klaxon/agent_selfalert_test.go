package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAgentSelfAlertsFailingSink(t *testing.T) {
	r := newReloadSetup(t)
	var brokenUp atomic.Bool
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !brokenUp.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(broken.Close)
	backup := newWebhookRecorder(t)
	brokenURL, backupURL := filepath.Join(r.dir, "broken-url"), filepath.Join(r.dir, "backup-url")
	writeFile(t, brokenURL, broken.URL+"\n")
	writeFile(t, backupURL, backup.srv.URL+"\n")
	config, err := os.ReadFile(r.config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.config, "self_alert_after = \"1s\"\n"+string(config)+fmt.Sprintf(`
[[sink]]
name = "broken"
type = "slack"
webhook_url_file = %q
retry_min = "100ms"
retry_max = "200ms"

[[sink]]
name = "backup"
type = "slack"
webhook_url_file = %q
`, brokenURL, backupURL))

	stop, _, errOut := runAgentOutput(t, "--config", r.config, "--log-format", "text")
	agentAddress(t, errOut)
	r.write("FATAL incident 1")
	backup.waitFor(t, "incident 1")
	backup.waitFor(t, "sink broken has failed to deliver")

	brokenUp.Store(true)
	backup.waitFor(t, "sink broken: sink delivers again")
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d; stderr: %s", code, stderr)
	}
	if n := backup.messages("sink broken has failed to deliver"); n != 1 {
		t.Errorf("%d self-alerts about the broken sink, want 1", n)
	}
}

// heartbeatServer records the heartbeat requests it receives.
type heartbeatServer struct {
	mu      sync.Mutex
	methods []string
	status  atomic.Int32
	srv     *httptest.Server
}

func newHeartbeatServer(t *testing.T) *heartbeatServer {
	h := &heartbeatServer{}
	h.status.Store(http.StatusOK)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		if r.URL.Query().Get("token") == "s3cr3t-token" {
			h.methods = append(h.methods, r.Method)
		}
		h.mu.Unlock()
		w.WriteHeader(int(h.status.Load()))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *heartbeatServer) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.methods...)
}

func TestAgentHeartbeat(t *testing.T) {
	r := newReloadSetup(t)
	hb := newHeartbeatServer(t)
	urlFile := filepath.Join(r.dir, "heartbeat-url")
	writeFile(t, urlFile, hb.srv.URL+"/ping?token=s3cr3t-token\n")
	config, err := os.ReadFile(r.config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.config, string(config)+fmt.Sprintf(`
[heartbeat]
url_file = %q
interval = "1s"
timeout = "1s"
method = "POST"
`, urlFile))
	stop, _, errOut := runAgentOutput(t, "--config", r.config, "--log-format", "text")
	agentAddress(t, errOut)
	for deadline := time.Now().Add(20 * time.Second); len(hb.received()) < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats, want 2; stderr:\n%s", len(hb.received()), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range hb.received() {
		if m != http.MethodPost {
			t.Errorf("heartbeat method = %s, want POST", m)
		}
	}

	// Failing heartbeats are logged without their URL, which holds a
	// token, also when the HTTP client's error names the URL.
	hb.status.Store(http.StatusInternalServerError)
	waitOutput(t, errOut, `msg="heartbeat failed"`, 1)
	hb.srv.Close()
	waitOutput(t, errOut, `msg="heartbeat failed"`, 2)
	if !strings.Contains(errOut.String(), "[redacted]") {
		t.Errorf("the connection error does not show the redacted URL:\n%s", errOut.String())
	}
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d; stderr: %s", code, stderr)
	}
	if strings.Contains(errOut.String(), "s3cr3t-token") {
		t.Errorf("the log contains the heartbeat URL's token:\n%s", errOut.String())
	}
}
