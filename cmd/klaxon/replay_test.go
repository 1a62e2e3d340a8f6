package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

const testRules = `
[[rule]]
name = "cert-expired"
description = "A certificate has expired."
severity = "critical"
match = 'x509: certificate has expired'
summary = "expired certificate seen by {{.container}}"
labels = { team = "platform" }
`

// runCmd runs the klaxon command line in dir and returns its exit status and output.
func runCmd(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReplayJSONOutput(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	log := filepath.Join(dir, "logs", "ingress-nginx_ctrl-1_u1", "controller", "0.log")
	writeTestFile(t, log, "2026-10-03T02:00:14.5Z stderr F E1003 02:00:14.500000 1 backend_ssl.go:161] x509: certificate has expired or is not yet valid\n")

	code, out, errOut := runCmd(t, dir, "", "replay", "--output", "json", "--node", "node-a", "logs")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"container", "count", "event", "first_seen", "labels", "last_seen", "lines", "namespace", "node", "pod", "rule", "severity", "summary"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %v\nwant %v", keys, want)
	}
	checks := map[string]any{
		"rule": "cert-expired", "severity": "critical", "namespace": "ingress-nginx", "pod": "ctrl-1",
		"container": "controller", "node": "node-a", "count": 1.0, "first_seen": "2026-10-03T02:00:14.5Z",
		"summary": "expired certificate seen by controller",
	}
	for k, v := range checks {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if !strings.Contains(errOut, "1 alerts from 1 lines") {
		t.Errorf("summary on stderr = %q", errOut)
	}
}

func TestReplayTextFromStdin(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "my-rules.toml")
	writeTestFile(t, rules, testRules)
	code, out, errOut := runCmd(t, dir, "2022/08/18 20:22:19 x509: certificate has expired\n", "replay", "--rules", rules, "-")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
	for _, want := range []string{"CRITICAL", "cert-expired", "2022-08-18T20:22:19Z", "> 2022/08/18 20:22:19 x509: certificate has expired"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestReplayExitStatuses(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "bad.toml"), "[[rule]]\nname = \"x\"\nseverity = \"critical\"\nmatch = \"(\"\n")
	writeTestFile(t, filepath.Join(dir, "good.toml"), testRules)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no path", []string{"replay", "--rules", "good.toml"}, exitUsage, "no PATH given"},
		{"missing path", []string{"replay", "--rules", "good.toml", "nope.log"}, exitUsage, "nope.log"},
		{"bad output", []string{"replay", "--rules", "good.toml", "--output", "yaml", "-"}, exitUsage, `invalid --output "yaml"`},
		{"bad rules", []string{"replay", "--rules", "bad.toml", "-"}, exitUsage, `bad.toml:4: rule "x": match: invalid match pattern`},
		{"unknown command", []string{"replya"}, exitUsage, `unknown command "replya"`},
		{"check bad rules", []string{"check", "--rules", "bad.toml"}, exitUsage, `bad.toml:4: rule "x"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, dir, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(errOut, tc.msg) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tc.msg)
			}
		})
	}
}

func TestCheckPrintsRules(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	code, out, errOut := runCmd(t, dir, "", "check")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "cert-expired") || !strings.Contains(out, "critical") || !strings.Contains(out, "rules.toml: 1 rules OK") {
		t.Errorf("check output:\n%s", out)
	}
}

func TestReplaySummaryNamesRules(t *testing.T) {
	const line = "2022/08/18 20:22:19 x509: certificate has expired\n"
	cases := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"default rules.toml", map[string]string{"rules.toml": testRules}, nil, " with ./rules.toml ("},
		{"rules flag", map[string]string{"a.toml": testRules, "rules.toml": ""}, []string{"--rules", "a.toml"}, " with a.toml ("},
		{"two rules flags", map[string]string{"a.toml": testRules, "b.toml": ""}, []string{"--rules", "a.toml", "--rules", "b.toml"}, " with a.toml, b.toml ("},
		{"built-in rules", nil, nil, " with built-in rules ("},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				writeTestFile(t, filepath.Join(dir, name), body)
			}
			args := append(append([]string{"replay"}, tc.args...), "-")
			code, _, errOut := runCmd(t, dir, line, args...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr: %s", code, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("summary = %q, want it to contain %q", errOut, tc.want)
			}
		})
	}
}

// TestOptionsAfterPaths runs replay and test with their options after the
// paths, as people type them: the options must apply, not be read as paths.
func TestOptionsAfterPaths(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "good.toml"), testRules)
	writeTestFile(t, filepath.Join(dir, "rules.toml"), "[[rule]]\nname = \"other\"\nseverity = \"info\"\nmatch = 'unrelated'\n")
	log := filepath.Join(dir, "logs", "ingress-nginx_ctrl-1_u1", "controller", "0.log")
	writeTestFile(t, log, "2026-10-03T02:00:14.5Z stderr F x509: certificate has expired or is not yet valid\n")

	code, out, errOut := runCmd(t, dir, "", "replay", "logs", "--output", "json", "--rules", "good.toml")
	if code != exitOK || !strings.HasPrefix(out, "{") || !strings.Contains(out, `"rule":"cert-expired"`) {
		t.Errorf("replay with options after the path: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	writeTestFile(t, filepath.Join(dir, "rules_test.toml"), ruleTestFile)
	code, out, errOut = runCmd(t, dir, "", "test", "rules_test.toml", "--rules", "good.toml")
	if code != exitOK || !strings.Contains(out, "2 passed, 0 failed with good.toml") {
		t.Errorf("test with --rules after the file: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
