package follow

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxon-agent/klaxon/scanner"
)

const pipelineRules = `
[[rule]]
name = "incident"
severity = "critical"
match = 'FATAL incident (?P<incident>[0-9]+)'
group_by = ["incident"]
cooldown = "1h"
summary = "incident {{.incident}}"
# Every incident is expected as its own alert, so no storm limit applies.
max_alerts = 0

[[rule]]
name = "probe-failing"
severity = "warning"
match = 'probe failed: (?P<probe>[a-z0-9-]+)'
threshold = 3
window = "10m"
group_by = ["probe"]
cooldown = "1h"
summary = "probe {{.probe}} failing"
`

// alertLog records delivered alerts.
type alertLog struct {
	mu     sync.Mutex
	alerts []string
}

func (l *alertLog) deliver(a *scanner.Alert) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts = append(l.alerts, fmt.Sprintf("%s: %s (%s/%s)", a.Rule, a.Summary, a.Namespace, a.Container))
	return nil
}

func (l *alertLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.alerts)
}

// startPipeline runs a Pipeline with pipelineRules until the returned
// function is called.
func startPipeline(t *testing.T, root, stateDir string, log *alertLog) (stop func()) {
	t.Helper()
	return startPipelineRules(t, root, stateDir, log, pipelineRules)
}

// startPipelineRules runs a Pipeline with the given rules until the
// returned function is called.
func startPipelineRules(t *testing.T, root, stateDir string, log *alertLog, rulesText string) (stop func()) {
	t.Helper()
	rules, err := scanner.ParseRules("rules.toml", []byte(rulesText))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(PipelineOptions{
		Tail:     Options{Root: root, CheckInterval: 50 * time.Millisecond, RescanInterval: 200 * time.Millisecond},
		Rules:    rules,
		Node:     "node-1",
		StateDir: stateDir,
		Deliver:  log.deliver,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitAlerts(t *testing.T, log *alertLog, want []string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d alerts", len(want)), func() bool { return len(log.list()) >= len(want) })
	got := log.list()
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("alerts:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestPipelineRestartKeepsAlertState(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	path := podLog(root, "kube-system", "etcd-0", "etcd")
	w := newLogWriter(t, path)
	// The first run starts without state: lines present now are skipped.
	w.raw(cri("stdout F FATAL incident 1 written before the agent"))
	log := &alertLog{}
	stop := startPipeline(t, root, stateDir, log)
	waitFor(t, "the first position", func() bool {
		st, err := ReadState(stateDir + "/" + StateFileName)
		return err == nil && len(st.Positions) == 1
	})
	w.raw(cri("stdout F FATAL incident 2",
		"stdout F probe failed: liveness",
		"stdout F probe failed: liveness",
		"stderr P FATAL incident ",
		"stdout F unrelated",
		"stderr F 3"))
	waitAlerts(t, log, []string{
		"incident: incident 2 (kube-system/etcd)",
		"incident: incident 3 (kube-system/etcd)",
	})
	stop()

	// After a restart, a repeat of incident 2 stays quiet, and the third
	// failed probe completes the window begun before the restart.
	w.raw(cri("stdout F FATAL incident 2 again", "stdout F probe failed: liveness"))
	log2 := &alertLog{}
	stop = startPipeline(t, root, stateDir, log2)
	waitAlerts(t, log2, []string{"probe-failing: probe liveness failing (kube-system/etcd)"})
	w.raw(cri("stdout F FATAL incident 4"))
	waitAlerts(t, log2, []string{
		"probe-failing: probe liveness failing (kube-system/etcd)",
		"incident: incident 4 (kube-system/etcd)",
	})
	stop()
}

func TestPipelineLocksStateDir(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	startPipeline(t, root, stateDir, &alertLog{})
	rules, err := scanner.ParseRules("rules.toml", []byte(pipelineRules))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPipeline(PipelineOptions{Tail: Options{Root: root}, Rules: rules, StateDir: stateDir, Deliver: (&alertLog{}).deliver})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second pipeline on the same state folder: error %v, want one saying it is in use", err)
	}
}

// cri returns CRI records stamped with the current time, each being the
// stream, tag and message given.
func cri(records ...string) string {
	var b strings.Builder
	for _, r := range records {
		fmt.Fprintf(&b, "%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), r)
	}
	return b.String()
}

func TestPipelineCorruptStateIsKeptAside(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	stateFile := filepath.Join(stateDir, StateFileName)
	if err := os.WriteFile(stateFile, []byte(`{"version":1,"positions":[{"pa`), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newLogWriter(t, podLog(root, "kube-system", "etcd-0", "etcd"))
	log := &alertLog{}
	stop := startPipeline(t, root, stateDir, log)
	// Without a usable state, the file is read from its end once opened.
	waitFor(t, "the first position", func() bool {
		st, err := ReadState(stateFile)
		return err == nil && len(st.Positions) == 1
	})
	w.raw(cri("stdout F FATAL incident 9"))
	waitAlerts(t, log, []string{"incident: incident 9 (kube-system/etcd)"})
	stop()

	kept, err := os.ReadFile(stateFile + ".corrupt")
	if err != nil {
		t.Fatalf("corrupt state was not kept: %v", err)
	}
	if string(kept) != `{"version":1,"positions":[{"pa` {
		t.Errorf("kept state = %q, want the corrupt original", kept)
	}
	if _, err := ReadState(stateFile); err != nil {
		t.Errorf("state after the run: %v", err)
	}
}

func TestPipelineJoinsMultilineEvents(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	w := newLogWriter(t, podLog(root, "kube-system", "operator-0", "manager"))
	log := &alertLog{}
	stop := startPipelineRules(t, root, stateDir, log, `
[[rule]]
name = "handler-crash"
severity = "critical"
match = '(?s)IllegalStateException: boom.*at com\.example\.Handler\.run'
summary = "handler crashed"
`)
	waitFor(t, "the first position", func() bool {
		st, err := ReadState(filepath.Join(stateDir, StateFileName))
		return err == nil && len(st.Positions) == 1
	})
	// The event is the last thing written, so only the idle flush can end it.
	w.raw(cri("stdout F java.lang.IllegalStateException: boom",
		"stdout F \tat com.example.Handler.run(Handler.java:42)",
		"stdout F \tat java.base/java.lang.Thread.run(Thread.java:1583)"))
	waitAlerts(t, log, []string{"handler-crash: handler crashed (kube-system/manager)"})
	stop()
}

// TestPipelineSendsLastErrorLineAtOnce writes an error line that Java
// frames could follow and nothing more on its stream. The follower has read
// all there is, so the line goes on without waiting for the joining
// timeout, which is set to a minute here. Lines keep coming on stdout, so
// the file is never quiet long enough for the flush of a quiet file.
func TestPipelineSendsLastErrorLineAtOnce(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	w := newLogWriter(t, podLog(root, "kube-system", "etcd-0", "etcd"))
	log := &alertLog{}
	startPipelineRules(t, root, stateDir, log, pipelineRules+"\n[multiline]\ntimeout = \"1m\"\n")
	waitFor(t, "the first position", func() bool {
		st, err := ReadState(filepath.Join(stateDir, StateFileName))
		return err == nil && len(st.Positions) == 1
	})
	w.raw(cri("stderr F E1003 12:00:00.000000 1 main.go:9] FATAL incident 7: error"))
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				w.raw(cri("stdout F I1003 12:00:00.000000 1 main.go:9] still working"))
			}
		}
	}()
	waitAlerts(t, log, []string{"incident: incident 7 (kube-system/etcd)"})
}

func TestPipelinePositionStopsAtHeldChunk(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	path := podLog(root, "kube-system", "etcd-0", "etcd")
	w := newLogWriter(t, path)
	log := &alertLog{}
	stop := startPipeline(t, root, stateDir, log)
	stateFile := filepath.Join(stateDir, StateFileName)
	waitFor(t, "the first position", func() bool {
		st, err := ReadState(stateFile)
		return err == nil && len(st.Positions) == 1
	})
	first := cri("stdout F FATAL incident 1")
	w.raw(first)
	waitAlerts(t, log, []string{"incident: incident 1 (kube-system/etcd)"})
	w.raw(cri("stderr P FATAL incident ", "stdout F FATAL incident 2"))
	waitAlerts(t, log, []string{"incident: incident 1 (kube-system/etcd)", "incident: incident 2 (kube-system/etcd)"})
	stop()

	st, err := ReadState(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Positions) != 1 || st.Positions[0].Offset != int64(len(first)) {
		t.Fatalf("saved positions = %+v, want offset %d, before the held chunk", st.Positions, len(first))
	}
	// After a restart the held chunk is read again and completed.
	log2 := &alertLog{}
	startPipeline(t, root, stateDir, log2)
	w.raw(cri("stderr F 3"))
	waitAlerts(t, log2, []string{"incident: incident 3 (kube-system/etcd)"})
}

func TestPipelineForgetsDeletedPods(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	doomed := podLog(root, "kube-system", "doomed-pod", "app")
	staying := podLog(root, "kube-system", "staying-pod", "app")
	wd, ws := newLogWriter(t, doomed), newLogWriter(t, staying)
	stop := startPipelineRules(t, root, stateDir, &alertLog{}, `
[[rule]]
name = "heartbeat-missing"
severity = "warning"
kind = "absent"
match = 'heartbeat'
for = "1h"
group_by = ["pod"]
`)
	stateFile := filepath.Join(stateDir, StateFileName)
	waitFor(t, "two positions", func() bool {
		st, err := ReadState(stateFile)
		return err == nil && len(st.Positions) == 2
	})
	wd.raw(cri("stdout F heartbeat"))
	ws.raw(cri("stdout F heartbeat"))
	waitFor(t, "both heartbeats in the saved alert state", func() bool {
		st, err := ReadState(stateFile)
		return err == nil && strings.Contains(string(st.Engine), "doomed-pod") &&
			strings.Contains(string(st.Engine), "staying-pod")
	})
	wd.f.Close()
	if err := os.RemoveAll(filepath.Dir(filepath.Dir(doomed))); err != nil {
		t.Fatal(err)
	}
	// The kubelet removes a pod's files before its folder, so the source
	// may be forgotten a round after its position is dropped.
	waitFor(t, "the deleted pod to leave the saved state", func() bool {
		st, err := ReadState(stateFile)
		return err == nil && len(st.Positions) == 1 && !strings.Contains(string(st.Engine), "doomed-pod")
	})
	stop()

	st, err := ReadState(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(st.Engine), "staying-pod") {
		t.Errorf("alert state lost the pod that still exists: %s", st.Engine)
	}
}

// TestPipelineKeepsWorkingWhenStateCannotBeSaved blocks the state file with
// a folder of its name (permissions do not stop root), checks that alerts
// still flow and the error is logged once, then unblocks it and checks that
// the state is written again.
func TestPipelineKeepsWorkingWhenStateCannotBeSaved(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	var logs lockedBuffer
	rules, err := scanner.ParseRules("rules.toml", []byte(pipelineRules))
	if err != nil {
		t.Fatal(err)
	}
	alerts := &alertLog{}
	p, err := NewPipeline(PipelineOptions{
		Tail: Options{Root: root, CheckInterval: 50 * time.Millisecond, RescanInterval: 200 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		Rules: rules, Node: "node-1", StateDir: stateDir, Deliver: alerts.deliver,
		CheckpointInterval: 50 * time.Millisecond, FromStart: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipeline log:\n%s", logs.String())
		}
	})
	blocker := filepath.Join(stateDir, StateFileName)
	os.Remove(blocker)
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	w := newLogWriter(t, podLog(root, "kube-system", "coredns-1", "coredns"))
	w.raw(cri("stderr F FATAL incident 1"))
	waitFor(t, "an alert while the state cannot be saved", func() bool { return len(alerts.list()) == 1 })
	waitFor(t, "a failed save", func() bool { return strings.Contains(logs.String(), "cannot save state") })
	time.Sleep(300 * time.Millisecond) // several checkpoint periods
	if n := strings.Count(logs.String(), "cannot save state"); n != 1 {
		t.Errorf("the save error was logged %d times, want once", n)
	}

	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the recovery logged", func() bool { return strings.Contains(logs.String(), "state saved again") })
	st, err := ReadState(blocker)
	if err != nil || len(st.Positions) == 0 {
		t.Errorf("state after recovery: %+v, %v; want the positions written", st, err)
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPipelineCutsHugeLines follows a file with a line of 3 MiB: the line
// reaches the rules cut and marked, and the lines around it are read whole.
func TestPipelineCutsHugeLines(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	alerts := &alertLog{}
	startPipelineRules(t, root, stateDir, alerts, pipelineRules)
	w := newLogWriter(t, podLog(root, "kube-system", "etcd-0", "etcd"))
	huge := strings.Repeat("x", 3<<20)
	w.raw(cri("stdout F FATAL incident 1", "stdout F "+huge+" FATAL incident 2", "stdout F FATAL incident 3"))
	waitAlerts(t, alerts, []string{"incident: incident 1 (kube-system/etcd)", "incident: incident 3 (kube-system/etcd)"})
}

func TestBatchCapsLineCopies(t *testing.T) {
	b := Batch{lineCap: rawLineCap(0)}
	b.add(bytes.Repeat([]byte("y"), 5<<20), 5<<20+1)
	b.add([]byte("short"), 5<<20+7)
	if n := len(b.Lines[0].Text); n != scanner.DefaultMaxLineBytes+1 {
		t.Errorf("copied %d bytes of a 5 MiB line, want %d", n, scanner.DefaultMaxLineBytes+1)
	}
	if b.Lines[0].End != 5<<20+1 || string(b.Lines[1].Text) != "short" {
		t.Errorf("lines after the cut: %+v", b.Lines[1])
	}
}

func TestPipelineCountsMergedAlerts(t *testing.T) {
	root, stateDir := t.TempDir(), t.TempDir()
	rules, err := scanner.ParseRules("rules.toml", []byte(strings.Replace(pipelineRules, "max_alerts = 0", "max_alerts = 1", 1)))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	alerts := &alertLog{}
	p, err := NewPipeline(PipelineOptions{
		Tail:  Options{Root: root, CheckInterval: 50 * time.Millisecond, RescanInterval: 200 * time.Millisecond, Registerer: reg},
		Rules: rules, Node: "node-1", StateDir: stateDir, Deliver: alerts.deliver, FromStart: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	w := newLogWriter(t, podLog(root, "kube-system", "etcd-0", "etcd"))
	w.raw(cri("stdout F FATAL incident 1", "stdout F FATAL incident 2", "stdout F FATAL incident 3"))
	waitFor(t, "two merged alerts counted", func() bool {
		return testutil.ToFloat64(p.metrics.merged) == 2
	})
	if got := alerts.list(); len(got) != 1 {
		t.Errorf("delivered %v, want only the first alert inside the window", got)
	}
}
