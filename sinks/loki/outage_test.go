package loki

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
)

// TestSinkOutageAndRestart stops the server, restarts the sink while the
// server is down, brings the server back, and checks that every alert
// arrived exactly once. The fake server counts each entry it accepts, so
// unlike a real Loki it does not hide duplicates.
func TestSinkOutageAndRestart(t *testing.T) {
	const before, during, afterRestart = 10, 20, 10
	f := newFakeLoki(t)
	state := t.TempDir()
	reg := prometheus.NewPedanticRegistry()
	cfg := Config{URL: f.url()}
	opts := sinks.Options{StateDir: state, Registerer: reg}

	s := newTestSink(t, cfg, opts)
	next := 0
	sendN := func(s *Sink, n int) {
		for range n {
			send(t, s, testAlert(next))
			next++
		}
	}
	sendN(s, before)
	waitFor(t, "the alerts sent before the outage", func() bool { return len(f.received()) == before })

	failures := func() float64 {
		return testutil.ToFloat64(counter(t, reg, "klaxon_sink_delivery_failures_total"))
	}

	f.stop()
	sendN(s, during/2)
	waitFor(t, "a failed delivery during the outage", func() bool { return failures() >= 1 })
	// Restart the sink during the outage. Its drain cannot reach the server,
	// so the alerts stay in the spool.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := s.Close(ctx)
	cancel()
	if err != nil {
		t.Fatalf("Close during the outage: %v", err)
	}
	s = newTestSink(t, cfg, opts)
	sendN(s, during/2)
	atRestart := failures()
	waitFor(t, "a failed delivery after the restart", func() bool { return failures() > atRestart })

	f.start()
	sendN(s, afterRestart)
	total := before + during + afterRestart
	waitFor(t, "every alert after the outage", func() bool { return len(f.received()) >= total })
	closeSink(t, s)

	seen := map[string]int{}
	duplicates := 0
	for _, e := range f.received() {
		var a scanner.Alert
		if err := json.Unmarshal([]byte(e.line), &a); err != nil {
			t.Fatalf("entry is not an alert: %v", err)
		}
		seen[a.Summary]++
		if seen[a.Summary] > 1 {
			duplicates++
		}
	}
	for i := range total {
		if n := seen[testAlert(i).Summary]; n != 1 {
			t.Errorf("alert %d arrived %d times, want once", i, n)
		}
	}
	if duplicates != 0 {
		t.Errorf("server received %d duplicate alerts, want none", duplicates)
	}
	if got := len(f.received()); got != total {
		t.Errorf("server accepted %d entries, want %d", got, total)
	}
	delivered := testutil.ToFloat64(counter(t, reg, "klaxon_sink_alerts_delivered_total"))
	if delivered != float64(total) {
		t.Errorf("delivered counter = %v, want %d", delivered, total)
	}
	requests, failed := f.requestCount()
	t.Logf("outage: %d alerts sent (%d before, %d during with a sink restart, %d after), %d entries received, %d distinct, %d duplicates; "+
		"%d push requests reached the server (%d failed), %v delivery attempts failed",
		total, before, during, afterRestart, len(f.received()), len(seen), duplicates, requests, failed, failures())
}
