package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The load of BenchmarkAgent: 200 files at 20,000 lines per second in total,
// a busy node's system namespaces, with a few alerting lines whose delay is
// measured.
const (
	benchPods       = 100 // two containers each
	benchLinesPerS  = 20000
	benchAlertsPerS = 10
	benchDuration   = 20 * time.Second
	benchTick       = 20 * time.Millisecond
)

const benchRule = `
[[rule]]
name = "bench-incident"
severity = "critical"
match = 'FATAL bench incident (?P<incident>[0-9]+)'
group_by = ["incident"]
cooldown = "1h"
summary = "incident {{.incident}}"
# Every incident is expected as its own alert, so no storm limit applies.
max_alerts = 0
`

// BenchmarkAgent runs the agent binary with the shipped rules over 200 files
// that grow by 20,000 lines per second in total. It reports the delay from
// appending an alerting line to reading its alert from the agent's output
// (p50, p99), and the agent's CPU time and peak resident memory.
//
//	go test -run '^$' -bench Agent -benchtime 1x ./cmd/klaxon/
func BenchmarkAgent(b *testing.B) {
	bin := buildKlaxon(b, false)
	for range b.N {
		benchAgentOnce(b, bin)
	}
}

func benchAgentOnce(b *testing.B, bin string) {
	dir := b.TempDir()
	root := filepath.Join(dir, "pods")
	rules := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(rules, []byte(benchRule), 0o644); err != nil {
		b.Fatal(err)
	}
	files := make([]*os.File, 0, 2*benchPods)
	for i := range benchPods {
		for _, c := range []string{"main", "sidecar"} {
			path := filepath.Join(root, fmt.Sprintf("kube-system_pod-%03d_%08x-uid", i, i), c, "0.log")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				b.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			files = append(files, f)
		}
	}
	sink := &alertSink{}
	agent := startAgent(b, bin, sink, "--log-root", root, "--state-dir", filepath.Join(dir, "state"),
		"--rules", filepath.Join("..", "..", "rules.toml"), "--rules", rules, "--metrics-address", "127.0.0.1:0")
	time.Sleep(2 * time.Second) // the first scan opens every file
	start := time.Now()
	written, lines := writeBenchLoad(b, files)
	elapsed := time.Since(start)

	deadline := time.Now().Add(10 * time.Second)
	for benchAlerts(sink.list()) < len(written) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := agent.signal(b, syscall.SIGTERM, 30*time.Second); err != nil {
		b.Fatalf("agent exited with %v; its log:\n%s", err, agent.logs())
	}
	usage := agent.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	delays := alertDelays(b, sink.list(), written)
	cpu := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	rssMiB := float64(usage.Maxrss) / 1024 // Linux reports kilobytes

	b.ReportMetric(percentile(delays, 50), "p50-delay-ms")
	b.ReportMetric(percentile(delays, 99), "p99-delay-ms")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds()*100, "cpu-%")
	b.ReportMetric(rssMiB, "peak-rss-MiB")
	b.Logf("%d files, %.0f lines/s for %s: %d alerts, delay p50 %.0f ms, p99 %.0f ms, max %.0f ms; agent CPU %.1f s (%.0f%% of one core), peak RSS %.1f MiB",
		len(files), float64(lines)/elapsed.Seconds(), elapsed.Round(100*time.Millisecond), len(delays),
		percentile(delays, 50), percentile(delays, 99), percentile(delays, 100),
		cpu.Seconds(), cpu.Seconds()/elapsed.Seconds()*100, rssMiB)
}

// writeBenchLoad appends lines to the files at the benchmark's rate for
// benchDuration. It returns when each alerting line was appended, by incident
// number, and how many lines it wrote.
func writeBenchLoad(b *testing.B, files []*os.File) (map[string]time.Time, int) {
	rnd := rand.New(rand.NewPCG(3, 4))
	written := map[string]time.Time{}
	perTick := benchLinesPerS * int(benchTick) / int(time.Second)
	alertEvery := int(time.Second / benchTick / benchAlertsPerS)
	var buf strings.Builder
	n, incident := 0, 0
	ticker := time.NewTicker(benchTick)
	defer ticker.Stop()
	for tick := 0; tick < int(benchDuration/benchTick); tick++ {
		<-ticker.C
		now := time.Now().UTC().Format(time.RFC3339Nano)
		for i, f := range files {
			buf.Reset()
			for j := i; j < perTick; j += len(files) {
				n++
				fmt.Fprintf(&buf, "%s stdout F I0301 10:00:00.000000       1 reconciler.go:%d] \"Reconciled object\" object=\"kube-system/item-%d\" duration=\"%dms\"\n",
					now, 100+n%400, n, n%97)
			}
			if _, err := f.WriteString(buf.String()); err != nil {
				b.Fatal(err)
			}
		}
		if tick%alertEvery == 0 {
			incident++
			f := files[rnd.IntN(len(files))]
			line := fmt.Sprintf("%s stderr F E0301 10:00:00.000000 1 server.go:88] FATAL bench incident %d\n", time.Now().UTC().Format(time.RFC3339Nano), incident)
			if _, err := f.WriteString(line); err != nil {
				b.Fatal(err)
			}
			written[fmt.Sprint(incident)] = time.Now()
			n++
		}
	}
	return written, n
}

// alertDelays returns the delay of every benchmark alert in milliseconds,
// sorted, and fails when an alert is missing or repeated.
func alertDelays(b *testing.B, alerts []receivedAlert, written map[string]time.Time) []float64 {
	seen := map[string]bool{}
	var delays []float64
	for _, a := range alerts {
		if a.Rule != "bench-incident" {
			continue
		}
		id := a.Labels["incident"]
		at, ok := written[id]
		if !ok || seen[id] {
			b.Errorf("unexpected or repeated alert for incident %s", id)
			continue
		}
		seen[id] = true
		delays = append(delays, float64(a.At.Sub(at))/float64(time.Millisecond))
	}
	if len(seen) != len(written) {
		var missing []string
		for id := range written {
			if !seen[id] {
				missing = append(missing, id)
			}
		}
		slices.Sort(missing)
		b.Errorf("%d of %d alerts arrived; missing incidents %v", len(seen), len(written), missing)
	}
	slices.Sort(delays)
	return delays
}

// benchAlerts counts the alerts of the benchmark's rule. The shipped rules
// may raise others.
func benchAlerts(alerts []receivedAlert) int {
	n := 0
	for _, a := range alerts {
		if a.Rule == "bench-incident" {
			n++
		}
	}
	return n
}

// percentile returns the p-th percentile of sorted values, by the
// nearest-rank method.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
