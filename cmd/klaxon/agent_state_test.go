package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxon-agent/klaxon/scanner/follow"
)

// blockedStateConfig writes a config whose state folder lies under a plain
// file, so that it cannot be created (permissions do not stop root), with
// the certificate watch on. It returns the config, the plain file and the
// state folder.
func blockedStateConfig(t *testing.T) (config, blocker, stateDir string) {
	t.Helper()
	dir := t.TempDir()
	blocker = filepath.Join(dir, "notadir")
	writeFile(t, blocker, "")
	stateDir = filepath.Join(blocker, "state")
	root := filepath.Join(dir, "pods")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.toml")
	writeFile(t, rules, e2eRules)
	config = filepath.Join(dir, "agent.toml")
	writeFile(t, config, fmt.Sprintf(`
log_root = %q
state_dir = %q
rules = [%q]
metrics_address = "127.0.0.1:0"

[follow]
save_interval = "1s"

[certs]
files = [%q]
`, root, stateDir, rules, filepath.Join(dir, "pki")))
	return config, blocker, stateDir
}

// waitReady polls /readyz until its status is want.
func waitReady(t *testing.T, base string, want int, errOut *lockedBuffer) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		code, body := httpGet(t, base+"/readyz")
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz status %d, want %d: %s\nstderr:\n%s", code, want, body, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentStateFolderRecovers starts the agent with a state folder that
// cannot be created, then unblocks it, then deletes it while the agent runs.
func TestAgentStateFolderRecovers(t *testing.T) {
	config, blocker, stateDir := blockedStateConfig(t)
	stop, _, errOut := runAgentOutput(t, "--config", config, "--log-format", "text")
	base := "http://" + agentAddress(t, errOut)

	code, body := httpGet(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "state folder not writable") {
		t.Errorf("/readyz = %d %q, want 503 naming the state folder", code, body)
	}
	if n := strings.Count(errOut.String(), "cannot use state folder"); n != 1 {
		t.Errorf("the state folder error was logged %d times, want once:\n%s", n, errOut.String())
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	waitReady(t, base, http.StatusOK, errOut)
	stateFile := filepath.Join(stateDir, follow.StateFileName)
	waitStateSaved(t, stateFile, "no state saved after the state folder could be created", errOut)

	// The folder goes while its parent stays: the next save creates it.
	if err := os.RemoveAll(stateDir); err != nil {
		t.Fatal(err)
	}
	waitReady(t, base, http.StatusOK, errOut)
	waitStateSaved(t, stateFile, "the deleted state folder was not created again", errOut)

	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	if _, err := os.Stat(filepath.Join(stateDir, certStateFile)); err != nil {
		t.Errorf("certificate alerts not saved at stop: %v", err)
	}
}

// TestAgentStopNamesFailedSaves stops an agent whose state folder never
// became usable: the exit status is 1 and the error names both the
// pipeline's state and the certificate watch's.
func TestAgentStopNamesFailedSaves(t *testing.T) {
	config, _, _ := blockedStateConfig(t)
	stop, _, errOut := runAgentOutput(t, "--config", config, "--log-format", "text")
	agentAddress(t, errOut)
	code, stderr := stop()
	if code != exitError {
		t.Fatalf("exit status = %d, want %d; stderr: %s", code, exitError, stderr)
	}
	var failed string
	for line := range strings.Lines(stderr) {
		if strings.Contains(line, `msg="agent failed"`) {
			failed = line
		}
	}
	for _, want := range []string{"save positions and alert state", "save certificate alerts", "not a directory"} {
		if !strings.Contains(failed, want) {
			t.Errorf("the final error does not contain %q: %s", want, failed)
		}
	}
}

// waitStateSaved waits up to 20 s for a state file that reads back, and
// fails with failure and the agent's log otherwise.
func waitStateSaved(t *testing.T, stateFile, failure string, errOut *lockedBuffer) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := follow.ReadState(stateFile); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s:\n%s", failure, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
