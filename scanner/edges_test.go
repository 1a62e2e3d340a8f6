package scanner

import (
	"reflect"
	"testing"
	"time"
)

// TestWindowBoundary checks that a window includes a match exactly its
// length before the newest and excludes one a nanosecond earlier.
func TestWindowBoundary(t *testing.T) {
	rules := `
[[rule]]
name = "w"
severity = "warning"
match = "boom"
threshold = 2
window = "10m"
`
	inside := newTestEngine(t, rules)
	inside.feed(certManager, 0, "boom")
	inside.feed(certManager, 10*time.Minute, "boom")
	if len(inside.alerts) != 1 {
		t.Errorf("matches exactly one window apart: %d alerts, want 1", len(inside.alerts))
	}
	outside := newTestEngine(t, rules)
	outside.feed(certManager, 0, "boom")
	outside.feed(certManager, 10*time.Minute+time.Nanosecond, "boom")
	if len(outside.alerts) != 0 {
		t.Errorf("matches a nanosecond more than a window apart: %d alerts, want 0", len(outside.alerts))
	}
}

// TestTimeGoingBackwards feeds lines whose times jump back, as when two
// files interleave or a node's clock is corrected: nothing may fire early,
// twice, or with a negative span.
func TestTimeGoingBackwards(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "w"
severity = "warning"
match = "boom"
threshold = 3
window = "10m"
cooldown = "30m"
repeat = "0s"
`)
	te.feed(certManager, time.Hour, "boom")
	te.feed(certManager, 0, "boom") // an hour back
	te.feed(certManager, time.Hour+time.Minute, "boom")
	if len(te.alerts) != 0 {
		t.Fatalf("fired with two matches in the window: %v", te.kinds())
	}
	te.feed(certManager, time.Hour+2*time.Minute, "boom")
	if len(te.alerts) != 1 {
		t.Fatalf("got %d alerts after three matches in the window, want 1", len(te.alerts))
	}
	te.feed(certManager, 5*time.Minute, "boom") // far back, inside the episode
	te.Flush()
	for _, a := range te.alerts {
		if a.LastSeen.Before(a.FirstSeen) {
			t.Errorf("alert spans backwards: first %v, last %v", a.FirstSeen, a.LastSeen)
		}
	}
	if got := te.counts(); !reflect.DeepEqual(got, []int{3, 4}) {
		t.Errorf("counts = %v, want the alert and one end-of-input report", got)
	}
}

// TestStreamEndsInReplay checks that an absent rule grouped per container
// reports a container whose log ended before the rest of the input did.
func TestStreamEndsInReplay(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "heartbeat"
kind = "absent"
severity = "warning"
match = "heartbeat ok"
for = "30m"
repeat = "0s"
`)
	quiet := &Source{Namespace: "kube-system", Pod: "a", Container: "a"}
	busy := &Source{Namespace: "kube-system", Pod: "b", Container: "b"}
	for m := 0; m <= 120; m += 10 {
		if m <= 20 {
			te.feed(quiet, time.Duration(m)*time.Minute, "heartbeat ok")
		}
		te.feed(busy, time.Duration(m)*time.Minute, "heartbeat ok")
	}
	te.Flush()
	var fired []string
	for _, a := range te.alerts {
		if !a.Resolved {
			fired = append(fired, a.Container)
		}
	}
	if len(fired) == 0 || fired[0] != "a" {
		t.Fatalf("fired for %v, want the container whose log ended", fired)
	}
	for _, c := range fired {
		if c == "b" {
			t.Errorf("the container that kept logging fired too")
		}
	}
}
