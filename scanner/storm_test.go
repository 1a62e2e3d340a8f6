package scanner

import (
	"fmt"
	"testing"
	"time"
)

func TestStormMergesAlertsOverTheLimit(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "crashloop"
description = "A container keeps failing."
severity = "warning"
match = 'failed: (?P<id>\d+)'
group_by = ["id"]
max_alerts = 5
max_alerts_window = "5m"
`)
	for i := 0; i < 100; i++ {
		te.feed(certManager, time.Duration(i)*time.Second, fmt.Sprintf("request failed: %d", i))
	}
	if len(te.alerts) != 5 {
		t.Fatalf("got %d alerts inside the window, want the limit of 5", len(te.alerts))
	}
	te.Advance(t0.Add(6 * time.Minute))
	if len(te.alerts) != 6 {
		t.Fatalf("got %d alerts after the window, want 5 and a summary", len(te.alerts))
	}
	s := te.alerts[5]
	want := "95 more alerts of rule crashloop in the last 6m were held back (limit 5 per 5m): A container keeps failing."
	if s.Summary != want {
		t.Errorf("summary = %q\nwant %q", s.Summary, want)
	}
	if s.Count != 95 || s.Labels["merged_alerts"] != "95" || s.Namespace != "cert-manager" {
		t.Errorf("summary alert count=%d labels=%v namespace=%q", s.Count, s.Labels, s.Namespace)
	}
	if te.Stats.Merged != 95 {
		t.Errorf("merged = %d, want 95", te.Stats.Merged)
	}
	// A new window admits alerts again.
	te.feed(certManager, 7*time.Minute, "request failed: 1000")
	if len(te.alerts) != 7 {
		t.Errorf("a new window did not admit an alert")
	}
}

func TestStormLimitOff(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "all"
severity = "info"
match = 'n=(?P<n>\d+)'
group_by = ["n"]
max_alerts = 0
`)
	for i := 0; i < 50; i++ {
		te.feed(certManager, time.Duration(i)*time.Millisecond, fmt.Sprintf("n=%d", i))
	}
	te.Flush()
	if len(te.alerts) != 50 {
		t.Errorf("got %d alerts with the limit off, want 50", len(te.alerts))
	}
}

func TestStormStateSurvivesRestart(t *testing.T) {
	rules := `
[[rule]]
name = "crashloop"
severity = "warning"
match = 'failed: (?P<id>\d+)'
group_by = ["id"]
max_alerts = 2
`
	before := newTestEngine(t, rules)
	for i := 0; i < 10; i++ {
		before.feed(certManager, time.Duration(i)*time.Second, fmt.Sprintf("request failed: %d", i))
	}
	state, err := before.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	after := newTestEngine(t, rules)
	if err := after.Restore(state); err != nil {
		t.Fatal(err)
	}
	after.feed(certManager, time.Minute, "request failed: 99")
	after.Advance(t0.Add(10 * time.Minute))
	if len(after.alerts) != 1 || after.alerts[0].Labels["merged_alerts"] != "9" {
		t.Fatalf("after restart: %d alerts %v, want one summary of the 8 held before and 1 after", len(after.alerts), after.kinds())
	}
}
