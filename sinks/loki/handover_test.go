package loki

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
)

// TestSinkReopenWhileClientStops closes a sink while its client waits for
// a held push request, opens the sink again on the same spool, and then
// lets the request succeed. The old client's delivery must be reported to
// the new sink, so the alert is not sent a second time.
func TestSinkReopenWhileClientStops(t *testing.T) {
	f := newFakeLoki(t)
	requestHeld := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	f.setGate(func() {
		first := false
		once.Do(func() { first = true })
		if first {
			close(requestHeld)
			<-release
		}
	})
	state := t.TempDir()
	cfg := Config{URL: f.url(), Timeout: sinks.Duration(time.Minute)}

	old := newTestSink(t, cfg, sinks.Options{StateDir: state})
	send(t, old, testAlert(0))
	<-requestHeld
	// Send must not wait for the client, which is busy with the held request.
	send(t, old, testAlert(1))
	closeNow(old)

	reg := prometheus.NewPedanticRegistry()
	s := newTestSink(t, cfg, sinks.Options{StateDir: state, Registerer: reg})
	close(release)
	closeSink(t, s)

	seen := map[string]int{}
	for _, e := range f.received() {
		var a scanner.Alert
		if err := json.Unmarshal([]byte(e.line), &a); err != nil {
			t.Fatalf("entry is not an alert: %v", err)
		}
		seen[a.Summary]++
	}
	for i := range 2 {
		if n := seen[testAlert(i).Summary]; n != 1 {
			t.Errorf("alert %d arrived %d times, want once", i, n)
		}
	}
	if got := testutil.ToFloat64(counter(t, reg, "klaxon_sink_alerts_delivered_total")); got != 2 {
		t.Errorf("delivered counter of the new sink = %v, want 2", got)
	}
	files, err := filepath.Glob(filepath.Join(state, "sinks", "loki", "spool", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 {
		t.Errorf("spool keeps %v, want it empty", files)
	}
}

func TestNewRejectsSecondSinkOnHost(t *testing.T) {
	f := newFakeLoki(t)
	first := newTestSink(t, Config{Name: "loki-a", URL: f.url()}, sinks.Options{})

	_, err := New(Config{Name: "loki-b", URL: f.url() + "?tenant=b", Config: fastRetry}, sinks.Options{StateDir: t.TempDir()})
	if err == nil {
		t.Fatal("New with the host of an open sink succeeded, want an error")
	}
	for _, want := range []string{`"loki-a"`, `"loki-b"`, f.addr} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}

	closeSink(t, first)
	second := newTestSink(t, Config{Name: "loki-b", URL: f.url()}, sinks.Options{})
	closeSink(t, second)
}

func TestValidateHosts(t *testing.T) {
	tests := []struct {
		name string
		urls []string
		want string
	}{
		{"distinct hosts", []string{"http://loki-a:3100/loki/api/v1/push", "http://loki-b:3100/loki/api/v1/push"}, ""},
		{"distinct ports", []string{"http://loki:3100/loki/api/v1/push", "http://loki:3101/loki/api/v1/push"}, ""},
		{"same host", []string{"http://loki:3100/loki/api/v1/push", "http://loki:3100/api/prom/push"}, `loki sink "s1": url: host loki:3100 is already used by loki sink "s0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfgs []Config
			for i, u := range tt.urls {
				cfgs = append(cfgs, Config{Name: "s" + string(rune('0'+i)), URL: u})
			}
			err := ValidateHosts(cfgs)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("ValidateHosts = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("ValidateHosts = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestCloseReturnsWhileClientRetries checks that Close keeps to its
// deadline while the client waits on a push that does not return.
func TestCloseReturnsWhileClientRetries(t *testing.T) {
	f := newFakeLoki(t)
	requestHeld := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	f.setGate(func() {
		once.Do(func() { close(requestHeld) })
		<-release
	})
	defer close(release)
	var logs syncBuffer
	s := newTestSink(t, Config{URL: f.url(), Timeout: sinks.Duration(time.Minute)}, sinks.Options{Logger: newTextLogger(&logs)})
	send(t, s, testAlert(0))
	<-requestHeld

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !strings.Contains(logs.String(), "loki client still sending after the shutdown deadline") {
		t.Errorf("log does not report the client that is still sending:\n%s", logs.String())
	}
}
