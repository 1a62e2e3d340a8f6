package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxon-agent/klaxon/scanner/follow"
)

var listenAddress = regexp.MustCompile(`msg="serving metrics" address=(\S+)`)

// agentAddress waits for the agent's log line that names its HTTP address.
func agentAddress(t *testing.T, errOut *lockedBuffer) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := listenAddress.FindStringSubmatch(errOut.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent logged no HTTP address:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpGet returns the status and body of a GET request.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestAgentHTTPEndpoints(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "pods")
	etcd := filepath.Join(root, "kube-system_etcd-0_uid-1", "etcd", "0.log")
	proxy := filepath.Join(root, "kube-system_proxy-0_uid-2", "proxy", "0.log")
	ignored := filepath.Join(root, "default_web-0_uid-3", "web", "0.log")
	for _, p := range []string{etcd, proxy, ignored} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	writeFile(t, etcd, now+" stdout F starting\n"+now+" stdout F FATAL incident 5\n")
	writeFile(t, proxy, now+" stdout F proxy line\n")
	writeFile(t, ignored, now+" stdout F FATAL incident 6\n")
	rules := filepath.Join(dir, "rules.toml")
	writeFile(t, rules, e2eRules)
	config := filepath.Join(dir, "agent.toml")
	// One open file at most, so that the second container is a visible gap.
	writeFile(t, config, fmt.Sprintf(`
log_root = %q
state_dir = %q
rules = [%q]
start_at = "beginning"
metrics_address = "127.0.0.1:0"

[follow]
max_files = 1

[certs]
files = []
`, root, filepath.Join(dir, "state"), rules))

	stop, out, errOut := runAgentOutput(t, "--config", config, "--log-format", "text")
	base := "http://" + agentAddress(t, errOut)
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), `"incident":"5"`); {
		if time.Now().After(deadline) {
			t.Fatalf("no alert; stderr:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	t.Run("metrics", func(t *testing.T) {
		expected := `
# HELP klaxon_agent_alerts_total Alerts raised by the rules, by rule and severity.
# TYPE klaxon_agent_alerts_total counter
klaxon_agent_alerts_total{rule="incident",severity="critical"} 1
# HELP klaxon_follow_lines_total Physical lines read from followed files, by namespace (empty for extra files).
# TYPE klaxon_follow_lines_total counter
klaxon_follow_lines_total{namespace="kube-system"} 2
# HELP klaxon_follow_open_files Files being followed, each with an open descriptor.
# TYPE klaxon_follow_open_files gauge
klaxon_follow_open_files 1
# HELP klaxon_build_info Always 1; the version label is the version of the running binary.
# TYPE klaxon_build_info gauge
klaxon_build_info{version="` + version() + `"} 1
`
		err := testutil.ScrapeAndCompare(base+"/metrics", strings.NewReader(expected),
			"klaxon_agent_alerts_total", "klaxon_follow_lines_total", "klaxon_follow_open_files", "klaxon_build_info")
		if err != nil {
			t.Error(err)
		}
		_, body := httpGet(t, base+"/metrics")
		// The default registry's series are served too.
		if !strings.Contains(body, "\ngo_goroutines ") {
			t.Error("metrics lack go_goroutines of the default registry")
		}
	})

	t.Run("health", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			if code, body := httpGet(t, base+path); code != http.StatusOK {
				t.Errorf("%s: status %d, want 200: %s", path, code, body)
			}
		}
	})

	t.Run("coverage", func(t *testing.T) {
		code, body := httpGet(t, base+"/coverage")
		if code != http.StatusOK {
			t.Fatalf("status %d, want 200", code)
		}
		var list []follow.Coverage
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		byPath := map[string]follow.Coverage{}
		for _, c := range list {
			byPath[c.Path] = c
		}
		if len(byPath) != 2 {
			t.Errorf("%d files, want 2 (the default namespace is not watched): %s", len(byPath), body)
		}
		// The scan opens one of the two files, the one it finds first.
		read, gap := byPath[etcd], byPath[proxy]
		if !read.Followed {
			read, gap = gap, read
		}
		if !read.Followed || read.Offset != read.Size || read.LastLine == nil {
			t.Errorf("followed file = %+v, want followed to its end with a last line time", read)
		}
		if gap.Followed || gap.Size <= 0 {
			t.Errorf("unopened file = %+v, want it listed as not followed with its size", gap)
		}
	})

	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(errOut.String(), "msg=coverage "); {
		if time.Now().After(deadline) {
			t.Fatalf("no coverage summary logged:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d; stderr: %s", code, stderr)
	}
	// Whether the followed file is behind depends on whether its last line
	// was still held for multi-line joining when the summary was taken.
	summary := regexp.MustCompile(`msg=coverage files=2 followed=1 behind=[01] not_followed=1`)
	if !summary.MatchString(errOut.String()) {
		t.Errorf("coverage summary does not match %q:\n%s", summary, errOut.String())
	}
}

// stuckProbe is a pipeline whose loop last ran at a set time.
type stuckProbe struct {
	last    time.Time
	scanned bool
}

func (p stuckProbe) LastProgress() time.Time     { return p.last }
func (p stuckProbe) Scanned() bool               { return p.scanned }
func (p stuckProbe) CaughtUp() bool              { return p.scanned }
func (p stuckProbe) Coverage() []follow.Coverage { return nil }

func TestAgentHealthChecksFail(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	writeFile(t, notADir, "")
	tests := []struct {
		name     string
		probe    stuckProbe
		stateDir string
		path     string
		want     string
	}{
		{"stuck loop", stuckProbe{last: time.Now().Add(-time.Minute), scanned: true}, dir, "/healthz", "pipeline loop stuck"},
		{"scan pending", stuckProbe{last: time.Now(), scanned: false}, dir, "/readyz", "first scan"},
		{"state not writable", stuckProbe{last: time.Now(), scanned: true}, notADir, "/readyz", "state folder not writable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := newAgentMux(prometheus.NewRegistry(), tt.probe, tt.stateDir)
			addr, stopHTTP, err := serveHTTP("127.0.0.1:0", mux, discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer stopHTTP()
			code, body := httpGet(t, "http://"+addr+tt.path)
			if code != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", code)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("body = %q, want it to contain %q", body, tt.want)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
