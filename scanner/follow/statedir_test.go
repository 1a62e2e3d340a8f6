package follow

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxon-agent/klaxon/scanner"
)

// newLoggedPipeline returns a Pipeline with pipelineRules that logs to logs
// and saves every 50 ms.
func newLoggedPipeline(t *testing.T, root, stateDir string, logs *lockedBuffer, alerts *alertLog) (*Pipeline, error) {
	t.Helper()
	rules, err := scanner.ParseRules("rules.toml", []byte(pipelineRules))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipeline log:\n%s", logs.String())
		}
	})
	return NewPipeline(PipelineOptions{
		Tail: Options{Root: root, CheckInterval: 50 * time.Millisecond, RescanInterval: 200 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: prometheus.NewRegistry()},
		Rules: rules, Node: "node-1", StateDir: stateDir, Deliver: alerts.deliver,
		CheckpointInterval: 50 * time.Millisecond, FromStart: true,
	})
}

// runPipeline runs p until the returned function is called, which returns
// Run's error.
func runPipeline(t *testing.T, p *Pipeline) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// checkStateDirLocked checks that the state folder's lock is held. A second
// lock from this process fails too, because a flock lock belongs to the
// open file, not to the process.
func checkStateDirLocked(t *testing.T, stateDir string) {
	t.Helper()
	lock, err := lockStateDir(stateDir)
	if err == nil {
		lock.Close()
		t.Error("the state folder is not locked")
		return
	}
	if !errors.Is(err, errStateDirInUse) {
		t.Errorf("lock state folder: %v, want it in use", err)
	}
}

// TestPipelineStartsWithoutStateFolder puts the state folder under a plain
// file, so that it cannot be created (permissions do not stop root). The
// pipeline must run with its state in memory, log the error once, and save
// and lock the folder once the file is gone.
func TestPipelineStartsWithoutStateFolder(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	blocker := filepath.Join(dir, "notadir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(blocker, "state")
	var logs lockedBuffer
	alerts := &alertLog{}
	p, err := newLoggedPipeline(t, root, stateDir, &logs, alerts)
	if err != nil {
		t.Fatalf("NewPipeline: %v, want the pipeline to start with its state in memory", err)
	}
	runPipeline(t, p)

	w := newLogWriter(t, podLog(root, "kube-system", "coredns-1", "coredns"))
	w.raw(cri("stderr F FATAL incident 1"))
	waitFor(t, "an alert while the state folder cannot be created", func() bool { return len(alerts.list()) == 1 })
	waitFor(t, "three failed saves", func() bool { return testutil.ToFloat64(p.metrics.saveFailures) >= 3 })
	text := logs.String()
	if n := strings.Count(text, "cannot use state folder"); n != 1 {
		t.Errorf("the state folder error was logged %d times, want once", n)
	}
	if !strings.Contains(text, "folder="+stateDir) || !strings.Contains(text, "not a directory") {
		t.Errorf("the log does not name the folder and the error:\n%s", text)
	}
	if strings.Contains(text, "cannot save state") {
		t.Errorf("the failed saves were logged besides the state folder error:\n%s", text)
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the recovery logged", func() bool { return strings.Contains(logs.String(), "state saved again") })
	st, err := ReadState(filepath.Join(stateDir, StateFileName))
	if err != nil || len(st.Positions) != 1 {
		t.Errorf("state after recovery: %+v, %v; want the position written", st, err)
	}
	checkStateDirLocked(t, stateDir)
}

// TestPipelineRecreatesDeletedStateFolder deletes the state folder while the
// pipeline runs: the next save must create it again and lock it.
func TestPipelineRecreatesDeletedStateFolder(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	stateDir := filepath.Join(dir, "state")
	var logs lockedBuffer
	alerts := &alertLog{}
	p, err := newLoggedPipeline(t, root, stateDir, &logs, alerts)
	if err != nil {
		t.Fatal(err)
	}
	runPipeline(t, p)
	stateFile := filepath.Join(stateDir, StateFileName)
	waitFor(t, "a first save", func() bool { _, err := os.Stat(stateFile); return err == nil })

	if err := os.RemoveAll(stateDir); err != nil {
		t.Fatal(err)
	}
	w := newLogWriter(t, podLog(root, "kube-system", "coredns-1", "coredns"))
	w.raw(cri("stderr F FATAL incident 2"))
	waitFor(t, "the state saved in a new state folder", func() bool {
		st, err := ReadState(stateFile)
		return err == nil && len(st.Positions) == 1
	})
	checkStateDirLocked(t, stateDir)
	if !strings.Contains(logs.String(), "state folder was removed or replaced") {
		t.Errorf("the new state folder was not logged:\n%s", logs.String())
	}
}

// TestPipelineRunReportsFinalSaveFailure stops a pipeline whose state folder
// cannot be created: Run must return the failed final save.
func TestPipelineRunReportsFinalSaveFailure(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	blocker := filepath.Join(dir, "notadir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	p, err := newLoggedPipeline(t, root, filepath.Join(blocker, "state"), &logs, &alertLog{})
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "the first scan", p.Scanned)
	err = stop()
	if err == nil {
		t.Fatal("Run returned no error after its final save failed")
	}
	if !strings.Contains(err.Error(), "save positions and alert state") {
		t.Errorf("Run error %q does not name the positions and alert state", err)
	}
	if !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Run error %q does not contain the cause", err)
	}
}
