package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var baseTime = time.Date(2026, 3, 1, 14, 5, 0, 123456789, time.UTC)

func testAlert(i int) *scanner.Alert {
	t := baseTime.Add(time.Duration(i) * time.Second)
	return &scanner.Alert{
		Rule:      "oom-killed",
		Severity:  scanner.SeverityCritical,
		Summary:   fmt.Sprintf("alert %d: <b>container</b> & \"quotes\"", i),
		Namespace: "kube-system",
		Pod:       fmt.Sprintf("coredns-%d", i),
		Container: "coredns",
		Node:      "node-a",
		FirstSeen: t.Add(-time.Minute),
		LastSeen:  t,
		Count:     2,
		Lines: []scanner.Sample{
			{Time: t.Add(-time.Minute), Text: fmt.Sprintf("first line %d", i)},
			{Time: t, Text: fmt.Sprintf("last line %d", i), Context: []string{"before"}},
		},
		Labels: map[string]string{"reason": "OOMKilled"},
	}
}

// fastRetry keeps tests quick. The spool tests check the schedule itself.
var fastRetry = spool.Config{RetryMin: sinks.Duration(time.Millisecond), RetryMax: sinks.Duration(20 * time.Millisecond)}

func newTestSink(t *testing.T, cfg Config, opts sinks.Options) *Sink {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "loki"
	}
	if cfg.Config == (spool.Config{}) {
		cfg.Config = fastRetry
	}
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func send(t *testing.T, s *Sink, alerts ...*scanner.Alert) {
	t.Helper()
	for _, a := range alerts {
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
}

func closeSink(t *testing.T, s *Sink) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestSinkPushesAlertStream(t *testing.T) {
	f := newFakeLoki(t)
	s := newTestSink(t, Config{URL: f.url(), TenantID: "team-a", Labels: map[string]string{"cluster": "prod"}}, sinks.Options{})
	a := testAlert(1)
	send(t, s, a)
	closeSink(t, s)

	got := f.received()
	if len(got) != 1 {
		t.Fatalf("received %d entries, want 1", len(got))
	}
	wantLabels := map[string]string{
		"job": "klaxon", "rule": "oom-killed", "severity": "critical",
		"namespace": "kube-system", "node": "node-a", "cluster": "prod",
	}
	if fmt.Sprint(got[0].labels) != fmt.Sprint(wantLabels) {
		t.Errorf("labels = %v, want %v", got[0].labels, wantLabels)
	}
	if !got[0].time.Equal(a.LastSeen) {
		t.Errorf("timestamp = %s, want the alert's last seen time %s", got[0].time, a.LastSeen)
	}
	var decoded scanner.Alert
	if err := json.Unmarshal([]byte(got[0].line), &decoded); err != nil {
		t.Fatalf("line is not alert JSON: %v\n%s", err, got[0].line)
	}
	if decoded.Summary != a.Summary || decoded.Pod != a.Pod || len(decoded.Lines) != 2 {
		t.Errorf("line decodes to %+v, want the alert %+v", decoded, a)
	}
	if !strings.Contains(got[0].line, "<b>container</b> & ") {
		t.Errorf("line %s escapes HTML, want it written as the stdout sink does", got[0].line)
	}
	if h := f.requestHeaders()[0]; h.Get("X-Scope-OrgID") != "team-a" {
		t.Errorf("X-Scope-OrgID = %q, want team-a", h.Get("X-Scope-OrgID"))
	}
}

func TestSinkForwardsSampleLines(t *testing.T) {
	f := newFakeLoki(t)
	s := newTestSink(t, Config{URL: f.url(), ForwardLines: true}, sinks.Options{})
	a := testAlert(2)
	send(t, s, a)
	closeSink(t, s)

	var lines []fakeEntry
	for _, e := range f.received() {
		if e.labels["job"] == "klaxon-lines" {
			lines = append(lines, e)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("received %d sample lines, want 2: %+v", len(lines), f.received())
	}
	for i, e := range lines {
		if e.line != a.Lines[i].Text || !e.time.Equal(a.Lines[i].Time) {
			t.Errorf("sample %d = %q at %s, want %q at its own time %s", i, e.line, e.time, a.Lines[i].Text, a.Lines[i].Time)
		}
		if e.labels["container"] != "coredns" || e.labels["rule"] != "oom-killed" {
			t.Errorf("sample %d labels = %v, want container and rule", i, e.labels)
		}
		if _, ok := e.labels["pod"]; ok {
			t.Errorf("sample %d has a pod label, want it left out", i)
		}
	}
}

// TestSinkRetriesServerErrors checks both retry layers: the client tries a
// batch clientAttempts times, then gives up, and the spool hands the
// alerts in again after its backoff instead of dropping them.
func TestSinkRetriesServerErrors(t *testing.T) {
	f := newFakeLoki(t)
	statuses := []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusTooManyRequests}
	if len(statuses) != clientAttempts {
		t.Fatalf("script has %d failures, want one per client attempt (%d)", len(statuses), clientAttempts)
	}
	failedResponses := 0
	f.setRespond(func(*push.PushRequest) (int, http.Header, string) {
		if failedResponses < len(statuses) {
			failedResponses++
			return statuses[failedResponses-1], nil, "ingester not ready"
		}
		return 0, nil, ""
	})
	reg := prometheus.NewPedanticRegistry()
	var logs syncBuffer
	s := newTestSink(t, Config{URL: f.url()}, sinks.Options{Registerer: reg, Logger: newTextLogger(&logs)})
	send(t, s, testAlert(1), testAlert(2))
	closeSink(t, s)

	if got := len(f.received()); got != 2 {
		t.Errorf("received %d entries, want 2", got)
	}
	if _, failed := f.requestCount(); failed != clientAttempts {
		t.Errorf("failed requests = %d, want %d", failed, clientAttempts)
	}
	if got := testutil.ToFloat64(counter(t, reg, "klaxon_sink_delivery_failures_total")); got != 1 {
		t.Errorf("delivery failures = %v, want 1: the client gives up once, then the spool retries", got)
	}
	if got := testutil.ToFloat64(counterWith(t, reg, "klaxon_sink_alerts_dropped_total", "reason", "rejected")); got != 0 {
		t.Errorf("rejected drops = %v, want 0", got)
	}
	if !strings.Contains(logs.String(), "429 Too Many Requests") {
		t.Errorf("log does not show the status the client gave up on:\n%s", logs.String())
	}
}

// TestSinkKeepsAlertOnAuthFailure checks that a 401, which the client
// does not retry, leaves the alert in the spool until the secret is fixed.
func TestSinkKeepsAlertOnAuthFailure(t *testing.T) {
	f := newFakeLoki(t)
	denied := 0
	f.setRespond(func(*push.PushRequest) (int, http.Header, string) {
		if denied < 2 {
			denied++
			return http.StatusUnauthorized, nil, "invalid token"
		}
		return 0, nil, ""
	})
	reg := prometheus.NewPedanticRegistry()
	s := newTestSink(t, Config{URL: f.url()}, sinks.Options{Registerer: reg})
	send(t, s, testAlert(1))
	closeSink(t, s)

	if got := len(f.received()); got != 1 {
		t.Errorf("received %d entries, want 1", got)
	}
	if got := testutil.ToFloat64(counter(t, reg, "klaxon_sink_delivery_failures_total")); got != 2 {
		t.Errorf("delivery failures = %v, want 2", got)
	}
	if got := testutil.ToFloat64(counterWith(t, reg, "klaxon_sink_alerts_dropped_total", "reason", "rejected")); got != 0 {
		t.Errorf("rejected drops = %v, want 0", got)
	}
}

func TestSinkIsolatesInvalidAlert(t *testing.T) {
	f := newFakeLoki(t)
	// Like Loki, reject the whole request with 400 when one entry is
	// invalid, here any line that mentions "alert 2:".
	f.setRespond(func(req *push.PushRequest) (int, http.Header, string) {
		for _, st := range req.Streams {
			for _, e := range st.Entries {
				if strings.Contains(e.Line, "alert 2:") {
					return http.StatusBadRequest, nil, "entry has timestamp too new"
				}
			}
		}
		return 0, nil, ""
	})
	reg := prometheus.NewPedanticRegistry()
	var logs syncBuffer
	s := newTestSink(t, Config{URL: f.url()}, sinks.Options{Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	send(t, s, testAlert(1), testAlert(2), testAlert(3))
	closeSink(t, s)

	var got []string
	for _, e := range f.received() {
		got = append(got, e.line[:strings.Index(e.line, ":")+9])
	}
	if len(got) != 2 {
		t.Fatalf("received %v, want alerts 1 and 3", got)
	}
	dropped := testutil.ToFloat64(counterWith(t, reg, "klaxon_sink_alerts_dropped_total", "reason", "rejected"))
	if dropped != 1 {
		t.Errorf("rejected drops = %v, want 1", dropped)
	}
	if !strings.Contains(logs.String(), "entry has timestamp too new") {
		t.Errorf("log does not contain Loki's reason:\n%s", logs.String())
	}
}

func TestSinkKeepsSecretsOutOfLogs(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	const password = "pa55-w0rd-value"
	f := newFakeLoki(t)
	// A proxy that echoes the request headers in its error response.
	f.setRespond(func(*push.PushRequest) (int, http.Header, string) {
		h := f.headers[len(f.headers)-1]
		return http.StatusUnauthorized, nil, "denied: " + h.Get("Authorization")
	})
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KLAXON_TEST_LOKI_TOKEN", token)

	for _, cfg := range []Config{
		{URL: f.url(), BearerTokenEnv: "KLAXON_TEST_LOKI_TOKEN"},
		{URL: f.url(), Username: "klaxon", PasswordFile: passwordFile},
	} {
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s := newTestSink(t, cfg, sinks.Options{Logger: log})
		send(t, s, testAlert(1))
		waitFor(t, "a failed push", func() bool { return strings.Contains(logs.String(), "delivery failed") })
		expired, cancel := context.WithCancel(context.Background())
		cancel()
		s.Close(expired)

		out := logs.String()
		if !strings.Contains(out, "denied: ") {
			t.Errorf("log lacks the server's answer:\n%s", out)
		}
		for _, secret := range []string{token, password} {
			if strings.Contains(out, secret) {
				t.Errorf("log contains a secret:\n%s", out)
			}
		}
	}
	auth := f.requestHeaders()[0].Get("Authorization")
	if auth != "Bearer "+token {
		t.Errorf("Authorization = %q, want the bearer token from the environment", auth)
	}
}

func TestSinkBatchesByBytes(t *testing.T) {
	f := newFakeLoki(t)
	var perRequest []int
	f.setRespond(func(req *push.PushRequest) (int, http.Header, string) {
		n := 0
		for _, st := range req.Streams {
			n += len(st.Entries)
		}
		perRequest = append(perRequest, n)
		return 0, nil, ""
	})
	// Hold delivery until all alerts are queued by starting with a spool
	// that a stopped sink left behind.
	state := t.TempDir()
	line, err := alertLine(testAlert(0))
	if err != nil {
		t.Fatal(err)
	}
	// Room for two alert lines of this size but not three.
	cfg := Config{URL: "http://127.0.0.1:1/unused", BatchMaxBytes: len(line)*2 + len(line)/2}
	s := newTestSink(t, cfg, sinks.Options{StateDir: state})
	for i := range 6 {
		send(t, s, testAlert(i))
	}
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	s.Close(expired)

	cfg.URL = f.url()
	s = newTestSink(t, cfg, sinks.Options{StateDir: state})
	closeSink(t, s)
	if got := len(f.received()); got != 6 {
		t.Fatalf("received %d entries, want 6", got)
	}
	// The client closes a batch when the next entry would not fit, or when
	// the batch is older than batchWait, so a slow machine may send more
	// requests, but never one with more than two alerts.
	if len(perRequest) < 3 {
		t.Errorf("push requests = %v alerts each, want at least 3 requests", perRequest)
	}
	for i, n := range perRequest {
		if n > 2 {
			t.Errorf("request %d carries %d alerts, want at most 2 within batch_max_bytes", i, n)
		}
	}
}

func TestAlertLineCutsLongSamples(t *testing.T) {
	a := testAlert(1)
	long := strings.Repeat("é", 300<<10)
	a.Lines = []scanner.Sample{{Time: baseTime, Text: long}, {Time: baseTime, Text: "short"}}
	line, err := alertLine(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(line) > maxLineBytes {
		t.Errorf("line is %d bytes, want at most %d", len(line), maxLineBytes)
	}
	var decoded scanner.Alert
	if err := json.Unmarshal([]byte(line), &decoded); err != nil {
		t.Fatalf("cut line is not valid JSON: %v", err)
	}
	if !strings.HasSuffix(decoded.Lines[0].Text, truncatedMarker) {
		t.Errorf("long sample does not end with the marker: ...%s", decoded.Lines[0].Text[len(decoded.Lines[0].Text)-20:])
	}
	if decoded.Lines[1].Text != "short" {
		t.Errorf("short sample = %q, want it unchanged", decoded.Lines[1].Text)
	}
	if a.Lines[0].Text != long {
		t.Error("alertLine changed the caller's alert")
	}
}

func TestTruncateKeepsRunes(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{strings.Repeat("a", 20), 17, "aaa" + truncatedMarker},
		{"ééééééééé", 16, "é" + truncatedMarker},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := truncate(tt.in, tt.limit); got != tt.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// closeNow closes s without waiting for delivery; undelivered alerts stay
// in its spool.
func closeNow(s *Sink) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Close(ctx)
}

// syncBuffer is a bytes.Buffer that a logger may write while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	return counterWith(t, reg, name)
}

// counterWith returns a collector for the single series of name whose
// labels include the given pairs, for testutil.ToFloat64.
func counterWith(t *testing.T, reg *prometheus.Registry, name string, pairs ...string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(pairs); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == pairs[i] && lp.GetValue() == pairs[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: name}, m.GetCounter().GetValue)
		}
	}
	t.Fatalf("no series %s with %v", name, pairs)
	return nil
}
