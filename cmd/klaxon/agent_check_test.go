package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfigOpensSinks(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	config := filepath.Join(dir, "agent.toml")
	writeTestFile(t, config, `
state_dir = "`+dir+`"

[[sink]]
name = "slack-oncall"
type = "slack"
webhook_url_file = "`+filepath.Join(dir, "missing-url")+`"

[[route]]
severities = ["critical"]
sinks = ["slack-oncall"]
`)
	code, out, errOut := runCmd(t, dir, "", "agent", "--config", config, "--check-config")
	if code != exitOK {
		t.Errorf("exit %d with a missing secret file, want %d: the config itself is valid", code, exitOK)
	}
	if !strings.Contains(errOut, "warning: the agent could not start here") || !strings.Contains(errOut, "missing-url") {
		t.Errorf("stderr does not warn about the missing file: %s", errOut)
	}

	writeTestFile(t, filepath.Join(dir, "missing-url"), "http://127.0.0.1:1/hook\n")
	code, out, errOut = runCmd(t, dir, "", "agent", "--config", config, "--check-config")
	if code != exitOK || strings.Contains(errOut, "warning") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "no route is a default route") {
		t.Errorf("no note about alerts that match no route:\n%s", out)
	}
	if strings.Contains(out+errOut, "127.0.0.1:1/hook") {
		t.Errorf("the webhook URL was printed")
	}
}

func TestCheckConfigWarnsOfStateFolder(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	blocker := filepath.Join(dir, "notadir")
	writeTestFile(t, blocker, "")
	tests := []struct {
		name     string
		stateDir string
		warn     bool
	}{
		{"existing folder", dir, false},
		{"missing folder", filepath.Join(dir, "new", "state"), false},
		{"under a plain file", filepath.Join(blocker, "state"), true},
		{"a plain file", blocker, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, dir, "", "agent", "--state-dir", tt.stateDir, "--check-config")
			if code != exitOK {
				t.Fatalf("exit %d, want %d: a state folder is no config error: %s", code, exitOK, errOut)
			}
			warned := strings.Contains(errOut, "warning: state folder "+tt.stateDir)
			if warned != tt.warn {
				t.Errorf("warned = %t, want %t; stderr: %s", warned, tt.warn, errOut)
			}
			if tt.warn && !strings.Contains(errOut, "not a directory") {
				t.Errorf("the warning does not give the cause: %s", errOut)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Error("--check-config created the state folder")
	}

	// The sinks' spools need the folder at start.
	writeTestFile(t, filepath.Join(dir, "url"), "http://127.0.0.1:1/hook\n")
	config := filepath.Join(dir, "agent.toml")
	writeTestFile(t, config, `
[[sink]]
name = "slack-oncall"
type = "slack"
webhook_url_file = "`+filepath.Join(dir, "url")+`"
`)
	_, _, errOut := runCmd(t, dir, "", "agent", "--config", config, "--state-dir", blocker, "--check-config")
	if !strings.Contains(errOut, "the agent would not start, because the sinks keep their spools there") {
		t.Errorf("the warning does not say that the sinks need the folder: %s", errOut)
	}
}

func TestCheckConfigWarnsHeartbeatURLFile(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	urlFile := filepath.Join(dir, "heartbeat-url")
	config := filepath.Join(dir, "agent.toml")
	writeTestFile(t, config, "state_dir = \""+filepath.Join(dir, "state")+"\"\n[heartbeat]\nurl_file = \""+urlFile+"\"\n")

	code, _, errOut := runCmd(t, dir, "", "agent", "--config", config, "--check-config")
	if code != exitOK {
		t.Errorf("exit %d with a missing url_file, want %d: the config itself is valid", code, exitOK)
	}
	if !strings.Contains(errOut, "warning: heartbeats would fail here: heartbeat.url_file") || !strings.Contains(errOut, urlFile) {
		t.Errorf("stderr does not warn about the missing file: %s", errOut)
	}

	writeTestFile(t, urlFile, "http://127.0.0.1:1/ping/token-5f3a\n")
	code, out, errOut := runCmd(t, dir, "", "agent", "--config", config, "--check-config")
	if code != exitOK || strings.Contains(errOut, "warning") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out+errOut, "token-5f3a") {
		t.Errorf("the heartbeat URL was printed")
	}
}
