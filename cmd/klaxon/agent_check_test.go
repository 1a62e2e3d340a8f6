package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfigOpensSinks(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	config := filepath.Join(dir, "agent.toml")
	writeTestFile(t, config, `
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
