package loki

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
)

// recentAlert is testAlert moved to the last minutes, inside the ages that
// Loki accepts.
func recentAlert(i int, base time.Time) *scanner.Alert {
	a := testAlert(i)
	shift := base.Sub(baseTime)
	a.FirstSeen = a.FirstSeen.Add(shift)
	a.LastSeen = a.LastSeen.Add(shift)
	for j := range a.Lines {
		a.Lines[j].Time = a.Lines[j].Time.Add(shift)
	}
	return a
}

func TestRealLokiStoresAlerts(t *testing.T) {
	l := startRealLoki(t)
	const tenant = "klaxon-test"
	s := newTestSink(t, Config{
		URL:          l.pushURL(),
		TenantID:     tenant,
		Labels:       map[string]string{"cluster": "ci"},
		ForwardLines: true,
	}, sinks.Options{})
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	const n = 5
	var alerts []*scanner.Alert
	for i := range n {
		alerts = append(alerts, recentAlert(i, base))
	}
	send(t, s, alerts...)
	// The same alert again, as after a crash between delivery and removal
	// from the spool: same timestamp and line, which Loki stores once.
	send(t, s, recentAlert(0, base))
	closeSink(t, s)

	got := l.waitForEntries(t, tenant, `{job="klaxon"}`, n)
	if len(got) != n {
		t.Errorf("Loki holds %d alert entries, want %d (the resent alert once)", len(got), n)
	}
	wantLabels := map[string]string{
		"job": "klaxon", "rule": "oom-killed", "severity": "critical",
		"namespace": "kube-system", "node": "node-a", "cluster": "ci",
	}
	for i, e := range got {
		if !containsAll(e.labels, wantLabels) {
			t.Errorf("entry %d labels = %v, want exactly %v", i, e.labels, wantLabels)
		}
		if !e.time.Equal(alerts[i].LastSeen) {
			t.Errorf("entry %d time = %s, want the alert's last seen time %s", i, e.time, alerts[i].LastSeen)
		}
	}
	seen := summaries(t, got)
	for _, a := range alerts {
		if seen[a.Summary] != 1 {
			t.Errorf("alert %q stored %d times, want once", a.Summary, seen[a.Summary])
		}
	}

	lines := l.waitForEntries(t, tenant, `{job="klaxon-lines", container="coredns"}`, 2*n)
	if len(lines) != 2*n {
		t.Errorf("Loki holds %d sample lines, want %d", len(lines), 2*n)
	}
	for _, e := range lines {
		if e.labels["rule"] != "oom-killed" || e.labels["cluster"] != "ci" {
			t.Errorf("sample line labels = %v, want rule and cluster", e.labels)
		}
	}
	if first := lines[0]; first.line != alerts[0].Lines[0].Text || !first.time.Equal(alerts[0].Lines[0].Time) {
		t.Errorf("first sample line = %q at %s, want %q at %s", first.line, first.time, alerts[0].Lines[0].Text, alerts[0].Lines[0].Time)
	}

	if other := l.query(t, "another-tenant", `{job="klaxon"}`); len(other) != 0 {
		t.Errorf("another tenant sees %d entries, want none", len(other))
	}
}

// TestRealLokiRejectsTooOldAlert queues three alerts before delivery
// starts, so that they share one batch, which Loki rejects with 400 for the
// old alert while it stores the two others. Each alert is then sent alone,
// and only the old one is dropped.
func TestRealLokiRejectsTooOldAlert(t *testing.T) {
	l := startRealLoki(t)
	const tenant = "klaxon-test"
	state := t.TempDir()
	base := time.Now().Add(-5 * time.Minute)
	old := recentAlert(1, time.Now().Add(-30*24*time.Hour))
	queueAlerts(t, state, recentAlert(0, base), old, recentAlert(2, base))

	reg := prometheus.NewPedanticRegistry()
	s := newTestSink(t, Config{URL: l.pushURL(), TenantID: tenant}, sinks.Options{StateDir: state, Registerer: reg})
	closeSink(t, s)

	got := l.waitForEntries(t, tenant, `{job="klaxon"}`, 2)
	seen := summaries(t, got)
	if len(got) != 2 || seen[old.Summary] != 0 {
		t.Errorf("Loki holds %v, want the two recent alerts only", seen)
	}
	rejected := testutil.ToFloat64(counterWith(t, reg, "klaxon_sink_alerts_dropped_total", "reason", "rejected"))
	if rejected != 1 {
		t.Errorf("rejected drops = %v, want 1 for the 30-day-old alert", rejected)
	}
	delivered := testutil.ToFloat64(counterWith(t, reg, "klaxon_sink_alerts_delivered_total"))
	if delivered != 2 {
		t.Errorf("delivered = %v, want 2", delivered)
	}
}

// queueAlerts leaves alerts in the spool of the sink "loki" under state,
// through a sink that cannot reach its server and is closed at once.
func queueAlerts(t *testing.T, state string, alerts ...*scanner.Alert) {
	t.Helper()
	s := newTestSink(t, Config{URL: "http://127.0.0.1:1/loki/api/v1/push"}, sinks.Options{StateDir: state})
	send(t, s, alerts...)
	closeNow(s)
}

// TestRealLokiOutage stops Loki, restarts the sink while Loki is down,
// starts Loki again on the same storage, and checks that every alert is
// stored once. Loki ignores exact duplicates, so the fake-server outage
// test is the one that would see a double delivery.
func TestRealLokiOutage(t *testing.T) {
	l := startRealLoki(t)
	const tenant = "klaxon-test"
	state := t.TempDir()
	cfg := Config{URL: l.pushURL(), TenantID: tenant}
	reg := prometheus.NewPedanticRegistry()
	opts := sinks.Options{StateDir: state, Registerer: reg}
	failures := func() float64 {
		return testutil.ToFloat64(counter(t, reg, "klaxon_sink_delivery_failures_total"))
	}
	s := newTestSink(t, cfg, opts)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	next := 0
	sendN := func(s *Sink, count int) {
		for range count {
			send(t, s, recentAlert(next, base))
			next++
		}
	}

	sendN(s, 5)
	l.waitForEntries(t, tenant, `{job="klaxon"}`, 5)
	l.stop(t)
	sendN(s, 5)
	waitFor(t, "a failed delivery during the outage", func() bool { return failures() >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close during the outage: %v", err)
	}
	cancel()
	s = newTestSink(t, cfg, opts)
	sendN(s, 5)
	atRestart := failures()
	waitFor(t, "a failed delivery after the restart", func() bool { return failures() > atRestart })
	l.start(t)
	sendN(s, 5)
	closeSink(t, s)

	got := l.waitForEntries(t, tenant, `{job="klaxon"}`, next)
	seen := summaries(t, got)
	for i := range next {
		if c := seen[recentAlert(i, base).Summary]; c != 1 {
			t.Errorf("alert %d stored %d times, want once", i, c)
		}
	}
	delivered := testutil.ToFloat64(counter(t, reg, "klaxon_sink_alerts_delivered_total"))
	if delivered != float64(next) {
		t.Errorf("delivered counter = %v, want %d", delivered, next)
	}
	t.Logf("real Loki outage: %d alerts sent, %d stored, %d distinct, %v reported delivered, %v delivery attempts failed",
		next, len(got), len(seen), delivered, failures())
}
