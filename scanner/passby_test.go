package scanner

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// passByRules exercise every way a line can matter besides matching: a
// catch-all on the level, absence and volume checks that run on the lines'
// clock, context lines kept before a match, and multi-line events.
const passByRules = `
[[rule]]
name = "conflict"
severity = "critical"
match = 'record (?P<name>\S+) is not permitted'
group_by = ["name"]
context = 4
[[rule]]
name = "errors"
severity = "warning"
levels = ["error", "fatal"]
threshold = 5
window = "1m"
group_by = ["container"]
[[rule]]
name = "heartbeat-stopped"
severity = "warning"
kind = "absent"
match = 'heartbeat ok'
for = "45s"
[[rule]]
name = "sync-rate-low"
severity = "info"
kind = "volume"
match = 'sync done'
window = "2m"
baseline = "10m"
min_ratio = 0.5
[[rule]]
name = "panic"
severity = "critical"
match = '^panic: (?P<reason>.+)'
`

// passByStream writes a CRI log of n lines for one container, seeded so the
// streams of a test differ. Most lines are Info lines and access logs. The
// rest are error lines, matches, heartbeats that stop for a while, partial
// records, panics with their goroutine dump, and times that sometimes go back.
func passByStream(seed uint64, n int) string {
	rnd := rand.New(rand.NewPCG(seed, seed^0x5eed))
	t := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	var b strings.Builder
	line := func(stream, tag, msg string) { b.WriteString(cri(t, stream, tag, msg)) }
	for i := 0; i < n; i++ {
		step := time.Duration(rnd.IntN(900)) * time.Millisecond
		if rnd.IntN(200) == 0 {
			step = time.Duration(rnd.IntN(120)) * time.Second // a quiet spell
		}
		if rnd.IntN(50) == 0 {
			step = -step // an out-of-order record
		}
		t = t.Add(step)
		switch k := rnd.IntN(100); {
		case k < 40:
			line("stderr", "F", fmt.Sprintf(`I1003 %s       1 controller.go:162] "finished processing work item" key="web/shop-%d-tls"`, t.Format("15:04:05.000000"), i))
		case k < 70:
			line("stdout", "F", fmt.Sprintf(`192.0.2.%d - - [03/Oct/2026:02:00:00 +0000] "GET /items/%d HTTP/1.1" 200 %d`, i%250, i, rnd.IntN(9000)))
		case k < 78:
			line("stdout", "F", fmt.Sprintf(`time="%s" level=info msg="sync done" zone=z%d`, t.Format(time.RFC3339), i%3))
		case k < 84 && (i/300)%3 != 1:
			line("stdout", "F", fmt.Sprintf(`{"level":"info","msg":"heartbeat ok","n":%d}`, i))
		case k < 90:
			line("stderr", "F", fmt.Sprintf(`E1003 %s       1 sync.go:88] "Reconcile failed" err="timeout %d"`, t.Format("15:04:05.000000"), i))
		case k < 93:
			line("stdout", "F", fmt.Sprintf(`level=error msg="boom %d"`, i))
		case k < 95:
			line("stderr", "P", fmt.Sprintf("Failure in zone z%d: record www-%d.example.com is not ", i%3, i%7))
			line("stderr", "F", "permitted because a conflicting RRSet of type CNAME")
		case k < 96:
			line("stderr", "F", fmt.Sprintf("record api-%d.example.com is not permitted", i%5))
		case k < 97:
			line("stderr", "F", fmt.Sprintf("panic: runtime error: index out of range [%d]", i))
			line("stderr", "F", "")
			line("stderr", "F", "goroutine 1 [running]:")
			line("stderr", "F", "main.main()")
			line("stderr", "F", "\t/src/main.go:12 +0x1d")
		case k < 98:
			line("stdout", "F", fmt.Sprintf("java.lang.IllegalStateException: state %d", i))
			line("stdout", "F", "\tat com.example.Sync.run(Sync.java:42)")
		default:
			line("stdout", "F", fmt.Sprintf("ERROR could not reach upstream %d", i))
		}
	}
	return b.String()
}

// replayOutcome runs a replay and returns everything it reports, as JSON.
func replayOutcome(t *testing.T, rs *RuleSet, paths []string, processAll bool) string {
	t.Helper()
	var out []string
	stats, err := Replay(context.Background(), rs, paths, ReplayOptions{
		Node:       "n1",
		Emit:       func(a *Alert) { out = append(out, mustJSON(t, a)) },
		Matched:    func(l *Line) { out = append(out, l.Time.Format(time.RFC3339Nano)+" "+string(l.Text)) },
		processAll: processAll,
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	stats.Elapsed = 0
	return strings.Join(append(out, mustJSON(t, stats)), "\n")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPassByChangesNothing replays the same inputs twice: once with every
// line going through Process, and once with lines that no rule can match
// passing the engine by. The alerts, matches and counts must be the same.
func TestPassByChangesNothing(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, ctr := range []string{"sync", "proxy", "dns"} {
		p := filepath.Join(dir, fmt.Sprintf("kube-system_%s-x_uid%d", ctr, i), ctr, "0.log")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(passByStream(uint64(i+1), 6000)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	shipped, err := LoadRules("../rules.toml")
	if err != nil {
		t.Fatal(err)
	}
	custom, err := ParseRules("passby.toml", []byte(passByRules))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		rules *RuleSet
		paths []string
	}{
		{"custom rules, one stream", custom, paths[:1]},
		{"custom rules, three streams", custom, paths},
		{"shipped rules, three streams", shipped, paths},
		{"shipped rules, incident example", shipped, []string{"../examples/incident"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := replayOutcome(t, tc.rules, tc.paths, true)
			got := replayOutcome(t, tc.rules, tc.paths, false)
			if got != want {
				t.Errorf("outcome differs when lines pass the engine by\n%s", firstDifference(want, got))
			}
			if n := strings.Count(want, "\n"); n < 20 {
				t.Errorf("only %d alerts and matches; the input should exercise the rules", n)
			}
		})
	}
}

// firstDifference shows the first line where two outcomes part.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, a, b)
		}
	}
	return ""
}
