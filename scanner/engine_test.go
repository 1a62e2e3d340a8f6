package scanner

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)

// testEngine builds an engine from rules text and records its alerts.
type testEngine struct {
	*Engine
	alerts []*Alert
}

func newTestEngine(t *testing.T, rulesTOML string) *testEngine {
	t.Helper()
	rs, err := ParseRules("test.toml", []byte(rulesTOML))
	if err != nil {
		t.Fatalf("ParseRules: %v", err)
	}
	te := &testEngine{}
	te.Engine = NewEngine(rs, EngineOptions{Node: "node-1", Emit: func(a *Alert) { te.alerts = append(te.alerts, a) }})
	return te
}

// feed processes one line at t0 plus offset.
func (te *testEngine) feed(src *Source, offset time.Duration, text string) {
	te.Process(&Line{Time: t0.Add(offset), Stream: "stderr", Text: []byte(text), Source: src})
}

func (te *testEngine) counts() []int {
	out := make([]int, len(te.alerts))
	for i, a := range te.alerts {
		out[i] = a.Count
	}
	return out
}

var certManager = &Source{Path: "/var/log/pods/cert-manager_cm-1_u1/cert-manager-controller/0.log",
	Namespace: "cert-manager", Pod: "cm-1", PodUID: "u1", Container: "cert-manager-controller"}

func TestEngineThresholdWithinWindow(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "flaky"
severity = "warning"
match = "connection refused"
threshold = 3
window = "10m"
`)
	te.feed(certManager, 0, "dial: connection refused")
	te.feed(certManager, 6*time.Minute, "dial: connection refused")
	te.feed(certManager, 12*time.Minute, "dial: connection refused") // the first has left the window
	if len(te.alerts) != 0 {
		t.Fatalf("alerted with 2 matches in the window: %+v", te.alerts[0])
	}
	te.feed(certManager, 13*time.Minute, "dial: connection refused")
	if len(te.alerts) != 1 {
		t.Fatalf("got %d alerts after 3 matches in 7 minutes, want 1", len(te.alerts))
	}
	a := te.alerts[0]
	if a.Count != 3 || !a.FirstSeen.Equal(t0.Add(6*time.Minute)) || !a.LastSeen.Equal(t0.Add(13*time.Minute)) {
		t.Errorf("alert count=%d first=%v last=%v", a.Count, a.FirstSeen, a.LastSeen)
	}
	if len(a.Lines) != 3 {
		t.Errorf("alert carries %d sample lines, want the 3 in the window", len(a.Lines))
	}
	if a.Node != "node-1" || a.Namespace != "cert-manager" || a.Container != "cert-manager-controller" {
		t.Errorf("metadata = %q %q %q", a.Node, a.Namespace, a.Container)
	}
}

func TestEngineCooldownAndRepeat(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "renewal"
severity = "warning"
match = "renewal failed"
cooldown = "2h"
repeat = "24h"
`)
	// One failure an hour for three days: an alert, then one reminder a day.
	for h := 0; h < 72; h++ {
		te.feed(certManager, time.Duration(h)*time.Hour, "renewal failed")
	}
	te.Flush()
	if got, want := te.counts(), []int{1, 25, 49, 72}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alert counts = %v, want %v", got, want)
	}
	if te.alerts[0].Reminder || !te.alerts[1].Reminder {
		t.Error("the first alert is marked a reminder, or the second is not")
	}
	if te.alerts[1].New != 24 || !te.alerts[1].PreviousAt.Equal(t0) {
		t.Errorf("reminder New=%d PreviousAt=%v, want 24 since %v", te.alerts[1].New, te.alerts[1].PreviousAt, t0)
	}
	if last := te.alerts[3]; last.New != 23 || !last.FirstSeen.Equal(t0) {
		t.Errorf("final report New=%d FirstSeen=%v", last.New, last.FirstSeen)
	}
}

func TestEngineEpisodeEndsAfterQuietCooldown(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "burst"
severity = "warning"
match = "boom"
cooldown = "30m"
repeat = "0s"
`)
	te.feed(certManager, 0, "boom")
	te.feed(certManager, 10*time.Minute, "boom") // inside the cooldown: counted, not sent
	te.Advance(t0.Add(41 * time.Minute))         // quiet for 31 minutes: the episode ends
	te.feed(certManager, 50*time.Minute, "boom") // a new episode
	if got, want := te.counts(), []int{1, 2, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alert counts = %v, want %v", got, want)
	}
	if !te.alerts[1].Reminder || te.alerts[1].New != 1 {
		t.Errorf("end-of-episode report Reminder=%v New=%d", te.alerts[1].Reminder, te.alerts[1].New)
	}
	if te.alerts[2].Reminder || !te.alerts[2].FirstSeen.Equal(t0.Add(50*time.Minute)) {
		t.Errorf("new episode Reminder=%v FirstSeen=%v", te.alerts[2].Reminder, te.alerts[2].FirstSeen)
	}
}

func TestEngineGroupByNamedGroups(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "expiring"
severity = "warning"
match = 'SSL certificate for server "(?P<server>[^"]+)" is about to expire'
group_by = ["server"]
summary = "certificate of {{.server}} expires soon ({{.namespace}})"
labels = { team = "platform" }
`)
	for i, host := range []string{"a.example.com", "b.example.com", "a.example.com"} {
		te.feed(certManager, time.Duration(i)*time.Second, fmt.Sprintf(`SSL certificate for server "%s" is about to expire (2022-01-23)`, host))
	}
	if len(te.alerts) != 2 {
		t.Fatalf("got %d alerts, want one per server", len(te.alerts))
	}
	a := te.alerts[0]
	if a.Summary != "certificate of a.example.com expires soon (cert-manager)" {
		t.Errorf("summary = %q", a.Summary)
	}
	if want := map[string]string{"team": "platform", "server": "a.example.com"}; !reflect.DeepEqual(a.Labels, want) {
		t.Errorf("labels = %v, want %v", a.Labels, want)
	}
	if a.GroupKey == te.alerts[1].GroupKey {
		t.Error("two servers share a group key")
	}
}

func TestEngineExcludeAndLevels(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "errors"
severity = "warning"
match = "failed"
exclude = "optimistic locking"
levels = ["error", "fatal"]
group_by = ["message"]
`)
	te.feed(certManager, 0, `I0318 06:34:56.581056 1 controller.go:162] "re-queuing item due to optimistic locking on resource" failed`)
	te.feed(certManager, 1, `E0318 06:34:56.581056 1 controller.go:162] "re-queuing item due to optimistic locking on resource" failed`)
	te.feed(certManager, 2, `I0318 06:34:56.581056 1 controller.go:162] sync failed`)
	te.feed(certManager, 3, `E0318 06:34:56.581056 1 controller.go:162] sync failed`)
	te.feed(certManager, 4, `{"level":"error","msg":"sync failed"}`)
	te.feed(certManager, 5, `time="2026-01-01T00:00:00Z" level=fatal msg="run failed"`)
	te.feed(certManager, 6, `[ERROR] plugin/errors: failed`)
	if len(te.alerts) != 4 {
		for _, a := range te.alerts {
			t.Log(a.Lines[0].Text)
		}
		t.Fatalf("got %d alerts, want 4 (error-level lines without the excluded text)", len(te.alerts))
	}
}

func TestEngineSelectors(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "ingress-only"
severity = "warning"
match = "reload failed"
namespaces = ["ingress-*"]
containers = ["controller"]
`)
	ingress := &Source{Namespace: "ingress-nginx", Pod: "p", Container: "controller"}
	other := &Source{Namespace: "kube-system", Pod: "p", Container: "controller"}
	plain := &Source{Path: "saved.log"}
	te.feed(other, 0, "reload failed")
	te.feed(ingress, 1, "reload failed")
	te.feed(plain, 2, "reload failed")
	if len(te.alerts) != 2 {
		t.Fatalf("got %d alerts, want 2 (the ingress container and the plain file)", len(te.alerts))
	}
	if te.alerts[0].Namespace != "ingress-nginx" {
		t.Errorf("first alert from %q", te.alerts[0].Namespace)
	}
}

func TestEngineContextLines(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "panic"
severity = "critical"
match = "^panic: "
context = 2
`)
	te.feed(certManager, 0, "line one")
	te.feed(certManager, 1, "line two")
	te.feed(certManager, 2, "line three")
	te.feed(certManager, 3, "panic: runtime error: invalid memory address")
	if len(te.alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(te.alerts))
	}
	s := te.alerts[0].Lines[0]
	if want := []string{"line two", "line three"}; !reflect.DeepEqual(s.Context, want) {
		t.Errorf("context = %q, want %q", s.Context, want)
	}
	if s.Text != "panic: runtime error: invalid memory address" {
		t.Errorf("sample = %q", s.Text)
	}
}

func TestEngineSamplesKeepFirstAndLatest(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "r"
severity = "info"
match = "hit"
repeat = "1h"
cooldown = "2h"
`)
	te.feed(certManager, 0, "hit 0")
	for i := 1; i <= 10; i++ {
		te.feed(certManager, time.Duration(i)*6*time.Minute, fmt.Sprintf("hit %d", i))
	}
	if len(te.alerts) != 2 {
		t.Fatalf("got %d alerts, want 2", len(te.alerts))
	}
	var texts []string
	for _, s := range te.alerts[1].Lines {
		texts = append(texts, s.Text)
	}
	if want := "hit 1,hit 2,hit 3,hit 4,hit 10"; strings.Join(texts, ",") != want {
		t.Errorf("reminder samples = %v, want %s", texts, want)
	}
}

func TestEngineSnapshotRestore(t *testing.T) {
	rules := `
[[rule]]
name = "flaky"
severity = "warning"
match = "refused"
threshold = 2
window = "10m"
cooldown = "1h"
repeat = "0s"
`
	before := newTestEngine(t, rules)
	before.feed(certManager, 0, "refused")
	state, err := before.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	after := newTestEngine(t, rules)
	if err := after.Restore(state); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	after.feed(certManager, time.Minute, "refused")
	if len(after.alerts) != 1 || after.alerts[0].Count != 2 {
		t.Fatalf("after restore: %d alerts, want 1 covering both lines", len(after.alerts))
	}
	// The restored engine must also remember the episode: no new alert inside the cooldown.
	state, _ = after.Snapshot()
	again := newTestEngine(t, rules)
	if err := again.Restore(state); err != nil {
		t.Fatal(err)
	}
	again.feed(certManager, 2*time.Minute, "refused")
	again.feed(certManager, 3*time.Minute, "refused")
	if len(again.alerts) != 0 {
		t.Errorf("restored firing group alerted again inside its cooldown")
	}
	if err := again.Restore([]byte(`{"version":99}`)); err == nil {
		t.Error("Restore accepted an unknown version")
	}
}

func TestEngineNoAllocationOnMiss(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "a"
severity = "warning"
match = "certificate has expired"
[[rule]]
name = "b"
severity = "warning"
match = '(?i)loop .* detected'
[[rule]]
name = "c"
severity = "warning"
match = 'Failed while requesting a signed certificate'
`)
	line := &Line{Time: t0, Text: []byte("I1003 02:00:14.123456 1 reflector.go:255] Watch close - *v1.Pod total 12 items received"), Source: certManager}
	te.Process(line)
	if n := testing.AllocsPerRun(200, func() { line.levelDone = false; te.Process(line) }); n != 0 {
		t.Errorf("Process allocates %.1f times per non-matching line, want 0", n)
	}
}

func TestSummaryOfUnmatchedOptionalGroup(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "fatal"
severity = "critical"
match = 'fatal(?:: (?P<reason>.+))?'
summary = "exits: {{.reason}}"
exclude = '(?:ignored|skipped) fatal'
`)
	te.feed(certManager, 0, "fatal")
	te.feed(certManager, time.Second, "skipped fatal: test")
	if len(te.alerts) != 1 {
		t.Fatalf("got %d alerts, want 1 (the second line is excluded)", len(te.alerts))
	}
	if got := te.alerts[0].Summary; got != "exits: " {
		t.Errorf("summary = %q, want the unmatched group empty", got)
	}
}

func TestAlertJSONNamesItsEvent(t *testing.T) {
	cases := []struct {
		set  func(a *Alert)
		want string
	}{
		{func(a *Alert) {}, "firing"},
		{func(a *Alert) { a.Reminder = true }, "reminder"},
		{func(a *Alert) { a.Reminder, a.Escalated = true, true }, "escalated"},
		{func(a *Alert) { a.Ended = true }, "ended"},
		{func(a *Alert) { a.Final = true }, "final"},
		{func(a *Alert) { a.Resolved, a.Reminder = true, true }, "resolved"},
	}
	for _, tc := range cases {
		a := &Alert{Rule: "r", Severity: SeverityWarning, Labels: map[string]string{}}
		tc.set(a)
		data, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if got["event"] != tc.want || got["rule"] != "r" || got["severity"] != "warning" {
			t.Errorf("JSON %s, want event %q with the other fields", data, tc.want)
		}
		if _, ok := got["Reminder"]; ok {
			t.Errorf("JSON %s has the sink-only fields", data)
		}
	}
}

func TestEngineLeavesOutEmptyLabels(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "sync"
severity = "warning"
match = 'sync failed(?: for zone (?P<zone>\S+))?'
group_by = ["zone"]
labels = { component = "dns", where = "{{.zone}}", team = "" }
`)
	te.feed(certManager, 0, "sync failed")
	te.feed(certManager, time.Second, "sync failed for zone example.com")
	if len(te.alerts) != 2 {
		t.Fatalf("%d alerts, want 2", len(te.alerts))
	}
	if want := map[string]string{"component": "dns"}; !reflect.DeepEqual(te.alerts[0].Labels, want) {
		t.Errorf("labels without a zone = %v, want %v", te.alerts[0].Labels, want)
	}
	if want := map[string]string{"component": "dns", "zone": "example.com", "where": "example.com"}; !reflect.DeepEqual(te.alerts[1].Labels, want) {
		t.Errorf("labels with a zone = %v, want %v", te.alerts[1].Labels, want)
	}
}
