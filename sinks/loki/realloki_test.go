package loki

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The tests against a real Loki need its binary. test/loki/build.sh builds
// the pinned version once and prints its path.
const lokiHelp = "set KLAXON_LOKI_BIN to a Loki binary, for example: export KLAXON_LOKI_BIN=$(test/loki/build.sh)"

func lokiBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KLAXON_LOKI_BIN")
	if bin != "" {
		return bin
	}
	if os.Getenv("KLAXON_REQUIRE_LOKI") == "1" {
		t.Fatal("KLAXON_REQUIRE_LOKI=1 but KLAXON_LOKI_BIN is unset; " + lokiHelp)
	}
	t.Skip("KLAXON_LOKI_BIN is unset; " + lokiHelp)
	return ""
}

// realLoki is a single-process Loki on 127.0.0.1 with filesystem storage
// in a temporary folder. Multi-tenancy is on, so every request names a
// tenant, and the automatic service_name and detected_level labels are off,
// so a stream carries exactly the labels the sink sent.
type realLoki struct {
	bin, dir, configFile string
	httpAddr             string
	cmd                  *exec.Cmd
	exited               chan error
}

const lokiConfig = `auth_enabled: true
analytics:
  reporting_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %d
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: %[3]s
  storage:
    filesystem:
      chunks_directory: %[3]s/chunks
      rules_directory: %[3]s/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
ingester:
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
limits_config:
  discover_service_name: []
  discover_log_levels: false
schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
`

func startRealLoki(t *testing.T) *realLoki {
	t.Helper()
	bin := lokiBinary(t)
	dir := t.TempDir()
	httpPort, grpcPort := freePort(t), freePort(t)
	l := &realLoki{
		bin:        bin,
		dir:        dir,
		configFile: filepath.Join(dir, "loki.yaml"),
		httpAddr:   fmt.Sprintf("127.0.0.1:%d", httpPort),
	}
	config := fmt.Sprintf(lokiConfig, httpPort, grpcPort, filepath.Join(dir, "data"))
	if err := os.WriteFile(l.configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	l.start(t)
	t.Cleanup(func() { l.stop(t) })
	return l
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (l *realLoki) pushURL() string { return "http://" + l.httpAddr + "/loki/api/v1/push" }

// start runs Loki and waits until /ready returns 200.
func (l *realLoki) start(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(filepath.Join(l.dir, "loki.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	l.cmd = exec.Command(l.bin, "-config.file="+l.configFile)
	l.cmd.Stdout, l.cmd.Stderr = logFile, logFile
	began := time.Now()
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("start Loki: %v", err)
	}
	l.exited = make(chan error, 1)
	go func(cmd *exec.Cmd) { l.exited <- cmd.Wait() }(l.cmd)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-l.exited:
			t.Fatalf("Loki exited before it was ready: %v\n%s", err, l.logTail())
		default:
		}
		resp, err := http.Get("http://" + l.httpAddr + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("Loki ready after %s", time.Since(began).Round(100*time.Millisecond))
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Loki not ready after 2 minutes\n%s", l.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for Loki to exit, killing it after 30 s.
func (l *realLoki) stop(t *testing.T) {
	t.Helper()
	if l.cmd == nil {
		return
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
	case <-time.After(30 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.exited
		t.Log("Loki did not stop within 30 s and was killed")
	}
	l.cmd = nil
}

func (l *realLoki) logTail() string {
	data, _ := os.ReadFile(filepath.Join(l.dir, "loki.log"))
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// lokiEntry is one entry of a query_range response.
type lokiEntry struct {
	labels map[string]string
	time   time.Time
	line   string
}

// query runs a LogQL stream query for tenant over the last day.
func (l *realLoki) query(t *testing.T, tenant, logql string) []lokiEntry {
	t.Helper()
	now := time.Now()
	params := url.Values{
		"query":     {logql},
		"start":     {strconv.FormatInt(now.Add(-24*time.Hour).UnixNano(), 10)},
		"end":       {strconv.FormatInt(now.Add(time.Hour).UnixNano(), 10)},
		"limit":     {"5000"},
		"direction": {"forward"},
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+l.httpAddr+"/loki/api/v1/query_range?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Scope-OrgID", tenant)

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("query Loki: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query Loki: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode query response: %v", err)
	}

	var out []lokiEntry
	for _, r := range body.Data.Result {
		for _, v := range r.Values {
			ns, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				t.Fatalf("timestamp %q: %v", v[0], err)
			}
			out = append(out, lokiEntry{labels: r.Stream, time: time.Unix(0, ns).UTC(), line: v[1]})
		}
	}
	return out
}

// waitForEntries queries until at least n entries match, and returns them.
func (l *realLoki) waitForEntries(t *testing.T, tenant, logql string, n int) []lokiEntry {
	t.Helper()
	var got []lokiEntry
	deadline := time.Now().Add(time.Minute)
	for {
		got = l.query(t, tenant, logql)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s for tenant %s returned %d entries after a minute, want %d\n%s",
				logql, tenant, len(got), n, l.logTail())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func containsAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return len(have) == len(want)
}

func summaries(t *testing.T, entries []lokiEntry) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, e := range entries {
		var a struct {
			Summary string `json:"summary"`
		}
		if err := json.Unmarshal([]byte(e.line), &a); err != nil {
			t.Fatalf("entry %q is not alert JSON: %v", e.line, err)
		}
		seen[a.Summary]++
	}
	return seen
}
