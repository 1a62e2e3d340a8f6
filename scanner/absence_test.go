package scanner

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// kinds renders alerts as "kind@minutes" for compact comparisons: fire,
// remind or resolve, at the alert's minute after t0.
func (te *testEngine) kinds() []string {
	var out []string
	for _, a := range te.alerts {
		kind := "fire"
		switch {
		case a.Resolved:
			kind = "resolve"
		case a.Reminder:
			kind = "remind"
		}
		at := a.LastSeen
		if !a.Resolved && (a.Rule == "renewed" || a.Rule == "quiet") && !a.Reminder {
			at = a.FirstSeen
		}
		out = append(out, kind+"@"+a.Severity.String()+"@"+at.Sub(t0).String())
	}
	return out
}

func TestAbsentFiresAndResolves(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "renewed"
kind = "absent"
severity = "warning"
match = "scheduled for renewal"
for = "24h"
repeat = "0s"
`)
	te.feed(certManager, 0, "Certificate web/shop scheduled for renewal in 1438 hours")
	te.feed(certManager, 20*time.Hour, "unrelated line")
	te.Advance(t0.Add(23 * time.Hour))
	if len(te.alerts) != 0 {
		t.Fatalf("fired after 23h: %v", te.kinds())
	}
	te.Advance(t0.Add(25 * time.Hour))
	te.feed(certManager, 30*time.Hour, "Certificate web/shop scheduled for renewal in 1438 hours")
	if got, want := te.kinds(), []string{"fire@warning@25h0m0s", "resolve@warning@30h0m0s"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts = %v, want %v", got, want)
	}
	if te.alerts[1].Summary[:9] != "resolved:" {
		t.Errorf("resolved summary = %q", te.alerts[1].Summary)
	}
}

func TestAbsentWithoutGroupFiresWhenNeverSeen(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "renewed"
kind = "absent"
severity = "warning"
match = "scheduled for renewal"
for = "1h"
group_by = []
`)
	for m := 0; m <= 90; m += 10 {
		te.feed(certManager, time.Duration(m)*time.Minute, "other line")
	}
	te.Flush()
	if len(te.alerts) != 2 || te.alerts[0].Resolved || !te.alerts[1].Reminder {
		t.Fatalf("alerts = %v, want a firing and an end-of-input report", te.kinds())
	}
}

func TestAbsentStateSurvivesRestart(t *testing.T) {
	rules := `
[[rule]]
name = "renewed"
kind = "absent"
severity = "warning"
match = "renewed"
for = "2h"
`
	before := newTestEngine(t, rules)
	before.feed(certManager, 0, "renewed")
	before.Advance(t0.Add(time.Hour))
	state, err := before.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	after := newTestEngine(t, rules)
	if err := after.Restore(state); err != nil {
		t.Fatal(err)
	}
	after.Advance(t0.Add(150 * time.Minute))
	if len(after.alerts) != 1 {
		t.Fatalf("restored engine raised %d alerts at 2.5h, want the absence", len(after.alerts))
	}
}

func TestVolumeSilenceAndForget(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "quiet"
kind = "volume"
severity = "warning"
for = "10m"
group_by = ["namespace", "pod", "container"]
repeat = "0s"
`)
	other := &Source{Namespace: "kube-system", Pod: "coredns-1", Container: "coredns"}
	for s := 0; s < 300; s += 30 {
		te.feed(certManager, time.Duration(s)*time.Second, "tick")
		te.feed(other, time.Duration(s)*time.Second, "tick")
	}
	te.Forget(other) // its pod was deleted: no alert
	te.Advance(t0.Add(16 * time.Minute))
	te.feed(certManager, 20*time.Minute, "back")
	if got := te.kinds(); len(got) != 2 || te.alerts[0].Pod != "cm-1" || !te.alerts[1].Resolved {
		t.Fatalf("alerts = %v", got)
	}
}

func TestVolumeRateDrop(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "drop"
kind = "volume"
severity = "warning"
window = "10m"
baseline = "2h"
min_ratio = 0.2
repeat = "0s"
`)
	// 60 lines a minute for two hours, then 5 a minute, then 60 again.
	feedRate := func(from, to time.Duration, perMinute int) {
		for t := from; t < to; t += time.Minute / time.Duration(perMinute) {
			te.feed(certManager, t, "log line")
		}
	}
	feedRate(0, 2*time.Hour, 60)
	if len(te.alerts) != 0 {
		t.Fatalf("fired at a steady rate: %v", te.kinds())
	}
	feedRate(2*time.Hour, 2*time.Hour+20*time.Minute, 5)
	if len(te.alerts) != 1 || te.alerts[0].Resolved {
		t.Fatalf("after the drop: %v, want one firing", te.kinds())
	}
	feedRate(2*time.Hour+20*time.Minute, 3*time.Hour, 60)
	if len(te.alerts) != 2 || !te.alerts[1].Resolved {
		t.Fatalf("after recovery: %v, want a resolution", te.kinds())
	}
}

func TestEscalateAfter(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "renewal"
severity = "info"
match = "renewal failed"
cooldown = "26h"
repeat = "24h"
escalate_after = "3d"
`)
	for h := 0; h <= 24*8; h += 6 {
		te.feed(certManager, time.Duration(h)*time.Hour, "renewal failed")
	}
	var severities []string
	for _, a := range te.alerts {
		severities = append(severities, a.Severity.String())
	}
	want := []string{"info", "info", "info", "warning", "warning", "warning", "critical", "critical", "critical"}
	if !reflect.DeepEqual(severities, want) {
		t.Fatalf("severities = %v\nwant %v", severities, want)
	}
}

func TestKindValidation(t *testing.T) {
	cases := map[string]string{
		"kind = \"gone\"\nmatch = \"x\"":                                  `kind: unknown kind "gone" (allowed: match, absent, volume)`,
		"kind = \"absent\"\nmatch = \"xyz\"":                              `for: missing; an absent rule needs`,
		"kind = \"volume\"":                                               `for: missing; a volume rule needs`,
		"match = \"xyz\"\nfor = \"1h\"":                                   `for: only applies to rules of kind absent or volume`,
		"kind = \"volume\"\nmin_ratio = 0.5\nbaseline = \"5m\"":           `baseline: must be longer than window (10m) when min_ratio is set`,
		"kind = \"volume\"\nfor = \"1h\"\nmin_ratio = 2.0":                `min_ratio: 2 is out of range (allowed: 0 to 1)`,
		"kind = \"absent\"\nmatch = \"xyz\"\nfor = \"1h\"\nthreshold = 3": `threshold: only applies to rules of kind match`,
	}
	for body, want := range cases {
		_, err := ParseRules("r.toml", []byte("[[rule]]\nname = \"a\"\nseverity = \"info\"\n"+body+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rule with\n%s\ngave %v\nwant %q", body, err, want)
		}
	}
}

func TestForgetAfterRestore(t *testing.T) {
	rules := `
[[rule]]
name = "quiet"
kind = "volume"
severity = "warning"
for = "10m"
group_by = ["namespace", "pod", "container"]
`
	before := newTestEngine(t, rules)
	before.feed(certManager, 0, "tick")
	state, err := before.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	after := newTestEngine(t, rules)
	if err := after.Restore(state); err != nil {
		t.Fatal(err)
	}
	// A new Source value for the same file, as a restarted agent builds.
	after.Forget(&Source{Path: certManager.Path, Namespace: certManager.Namespace, Pod: certManager.Pod, Container: certManager.Container})
	after.Advance(t0.Add(time.Hour))
	if len(after.alerts) != 0 {
		t.Fatalf("a forgotten pod restored from state alerted: %v", after.kinds())
	}
}
