package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The default load of BenchmarkAgent: 1,000 files at 50,000 lines per
// second in total for 20 s, a busy node's system namespaces, with a few
// alerting lines whose delay is measured. The environment variables
// KLAXON_BENCH_FILES, KLAXON_BENCH_RATE (lines per second in all files) and
// KLAXON_BENCH_SECONDS override the first three.
const (
	defaultBenchFiles   = 1000
	defaultBenchRate    = 50000
	defaultBenchSeconds = 20
	benchAlertsPerS     = 10
	benchTick           = 20 * time.Millisecond
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

// benchLoad is the load BenchmarkAgent puts on the agent.
type benchLoad struct {
	files    int
	rate     int // lines per second in all files
	duration time.Duration
}

// benchLoadFromEnv returns the default load with the overrides of the
// KLAXON_BENCH_* environment variables.
func benchLoadFromEnv(b *testing.B) benchLoad {
	return benchLoad{
		files:    benchEnvInt(b, "KLAXON_BENCH_FILES", defaultBenchFiles),
		rate:     benchEnvInt(b, "KLAXON_BENCH_RATE", defaultBenchRate),
		duration: time.Duration(benchEnvInt(b, "KLAXON_BENCH_SECONDS", defaultBenchSeconds)) * time.Second,
	}
}

func benchEnvInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("invalid %s %q: must be a positive integer", name, s)
	}
	return n
}

// BenchmarkAgent runs the agent binary with the shipped rules over files
// that grow at a steady rate, 1,000 files and 50,000 lines per second in
// total unless the KLAXON_BENCH_* variables set other values. It reports the
// delay from appending an alerting line to reading its alert from the
// agent's output (p50, p99), the agent's CPU time while the files grow, per
// second and per million lines, and its peak resident memory.
//
//	go test -run '^$' -bench Agent -benchtime 1x ./cmd/klaxon/
//	KLAXON_BENCH_FILES=200 KLAXON_BENCH_RATE=20000 go test -run '^$' -bench Agent -benchtime 1x ./cmd/klaxon/
func BenchmarkAgent(b *testing.B) {
	bin := buildKlaxon(b, false)
	load := benchLoadFromEnv(b)
	for range b.N {
		benchAgentOnce(b, bin, load)
	}
}

func benchAgentOnce(b *testing.B, bin string, load benchLoad) {
	dir := b.TempDir()
	root := filepath.Join(dir, "pods")
	rules := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(rules, []byte(benchRule), 0o644); err != nil {
		b.Fatal(err)
	}
	// follow.DefaultMaxFiles, the agent's default cap on files followed at
	// once, is below the default load's file count.
	config := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("[follow]\nmax_files = %d\n", load.files)), 0o644); err != nil {
		b.Fatal(err)
	}
	files := make([]*os.File, 0, load.files)
	for i := range load.files {
		// Pods with two containers each, as in the kubelet's layout.
		pod, container := i/2, []string{"main", "sidecar"}[i%2]
		path := filepath.Join(root, fmt.Sprintf("kube-system_pod-%04d_%08x-uid", pod, pod), container, "0.log")
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
	sink := &alertSink{}
	agent := startAgent(b, bin, sink, "--config", config, "--log-root", root, "--state-dir", filepath.Join(dir, "state"),
		"--rules", filepath.Join("..", "..", "rules.toml"), "--rules", rules, "--metrics-address", "127.0.0.1:0")
	waitFollowing(b, agent, 30*time.Second)
	time.Sleep(2 * time.Second) // the followers open their files
	startCPU := processCPU(b, agent.cmd.Process.Pid)
	start := time.Now()
	written, lines := writeBenchLoad(b, files, load)
	writeTime := time.Since(start)

	deadline := time.Now().Add(10 * time.Second)
	for benchAlerts(sink.list()) < len(written) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The window ends once the last alert is out, so it includes the reading
	// of the last lines written.
	cpu := processCPU(b, agent.cmd.Process.Pid) - startCPU
	elapsed := time.Since(start)
	if _, err := agent.signal(b, syscall.SIGTERM, 30*time.Second); err != nil {
		b.Fatalf("agent exited with %v; its log:\n%s", err, agent.logs())
	}
	usage := agent.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	delays := alertDelays(b, sink.list(), written)
	total := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	rssMiB := float64(usage.Maxrss) / 1024 // Linux reports kilobytes
	rate := float64(lines) / writeTime.Seconds()
	cpuPercent := cpu.Seconds() / elapsed.Seconds() * 100
	cpuPerMillion := cpu.Seconds() / (float64(lines) / 1e6)

	b.ReportMetric(percentile(delays, 50), "p50-delay-ms")
	b.ReportMetric(percentile(delays, 99), "p99-delay-ms")
	b.ReportMetric(cpuPercent, "cpu-%")
	b.ReportMetric(cpuPerMillion, "cpu-s/Mlines")
	b.ReportMetric(rssMiB, "peak-rss-MiB")
	b.ReportMetric(rate, "lines/s")
	b.Logf("%d files, %.0f lines/s (target %d) for %s: %d alerts, delay p50 %.0f ms, p99 %.0f ms, max %.0f ms; "+
		"agent CPU %.2f s in %s (%.1f%% of one core), %.2f s per million lines, %.2f s in its whole run; peak RSS %.1f MiB",
		len(files), rate, load.rate, writeTime.Round(100*time.Millisecond), len(delays),
		percentile(delays, 50), percentile(delays, 99), percentile(delays, 100),
		cpu.Seconds(), elapsed.Round(100*time.Millisecond), cpuPercent, cpuPerMillion, total.Seconds(), rssMiB)
}

// waitFollowing waits until the agent's first scan has started a follower
// for every file, which it logs.
func waitFollowing(b *testing.B, agent *agentProcess, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for !strings.Contains(agent.logs(), `"msg":"following files"`) {
		if time.Now().After(deadline) {
			b.Fatalf("agent did not finish its first scan in %s; its log:\n%s", limit, agent.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processCPU returns the user and system CPU time that process pid and its
// threads used so far, from /proc/PID/stat.
func processCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read CPU time of the agent: %v", err)
	}
	// The command name in parentheses may contain spaces, so fields are
	// counted after its closing parenthesis. From there, utime and stime
	// are the 12th and 13th fields.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		b.Fatalf("read CPU time of the agent: short /proc/%d/stat: %q", pid, data)
	}
	var ticks int64
	for _, s := range fields[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("read CPU time of the agent: %v", err)
		}
		ticks += n
	}
	// The kernel reports both in clock ticks (USER_HZ), 100 per second on
	// x86 and arm64 Linux.
	return time.Duration(ticks) * (time.Second / 100)
}

// writeBenchLoad appends lines to the files at load's rate for its
// duration. Each tick writes the lines due by then, one write per file, so
// a late tick is made up by the next. Lines go to the files in turn. It
// returns when each alerting line was appended, by incident number, and how
// many lines it wrote.
func writeBenchLoad(b *testing.B, files []*os.File, load benchLoad) (map[string]time.Time, int) {
	rnd := rand.New(rand.NewPCG(3, 4))
	written := map[string]time.Time{}
	bufs := make([][]byte, len(files))
	n, next, incident := 0, 0, 0
	ticker := time.NewTicker(benchTick)
	defer ticker.Stop()
	start := time.Now()
	for elapsed := time.Duration(0); elapsed < load.duration; {
		now := <-ticker.C
		elapsed = min(now.Sub(start), load.duration)
		stamp := now.UTC().Format(time.RFC3339Nano)
		for due := int(float64(load.rate) * elapsed.Seconds()); n < due; n++ {
			i := next
			next = (next + 1) % len(files)
			bufs[i] = fmt.Appendf(bufs[i], "%s stdout F I0301 10:00:00.000000       1 reconciler.go:%d] \"Reconciled object\" object=\"kube-system/item-%d\" duration=\"%dms\"\n",
				stamp, 100+n%400, n, n%97)
		}
		for i, f := range files {
			if len(bufs[i]) == 0 {
				continue
			}
			if _, err := f.Write(bufs[i]); err != nil {
				b.Fatal(err)
			}
			bufs[i] = bufs[i][:0]
		}
		if due := int(benchAlertsPerS * elapsed.Seconds()); incident < due {
			incident++
			f := files[rnd.IntN(len(files))]
			line := fmt.Sprintf("%s stderr F E0301 10:00:00.000000 1 server.go:88] FATAL bench incident %d\n", time.Now().UTC().Format(time.RFC3339Nano), incident)
			if _, err := f.WriteString(line); err != nil {
				b.Fatal(err)
			}
			written[fmt.Sprint(incident)] = time.Now()
		}
	}
	return written, n + incident
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
