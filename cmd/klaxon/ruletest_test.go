package main

import (
	"path/filepath"
	"strings"
	"testing"
)

const ruleTestFile = `
rules = ["rules.toml"]

[[test]]
name = "expired certificate fires"
[[test.input]]
namespace = "ingress-nginx"
container = "controller"
start = 2026-10-03T02:00:00Z
step = "1m"
lines = '''
x509: certificate has expired or is not yet valid
x509: certificate has expired or is not yet valid
'''
[[test.expect]]
rule = "cert-expired"
severity = "critical"
count = 1
namespace = "ingress-nginx"
summary = "expired certificate seen by controller"
first_seen = 2026-10-03T02:00:00Z
[[test.expect]]
rule = "cert-expired"
reminder = true
count = 2
last_seen = 2026-10-03T02:01:00Z

[[test]]
name = "healthy line stays quiet"
[[test.input]]
lines = "GET /healthz 200"
`

func TestRuleTestCommand(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	writeTestFile(t, filepath.Join(dir, "rules_test.toml"), ruleTestFile)
	code, out, errOut := runCmd(t, dir, "", "test", "--require-coverage", "rules_test.toml")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{"ok    expired certificate fires", "ok    healthy line stays quiet", "2 passed, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRuleTestCommandReportsFailures(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	broken := strings.Replace(ruleTestFile, "count = 1", "count = 2", 1)
	broken = strings.Replace(broken, `lines = "GET /healthz 200"`, `lines = "x509: certificate has expired"`, 1)
	writeTestFile(t, filepath.Join(dir, "rules_test.toml"), broken)
	code, out, _ := runCmd(t, dir, "", "test", "rules_test.toml")
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	for _, want := range []string{
		"FAIL  expired certificate fires",
		"alert 1 (cert-expired): count 1, expected 2",
		"FAIL  healthy line stays quiet",
		"got 1 alerts, expected 0",
		"0 passed, 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRuleTestCommandFileErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	cases := map[string]string{
		"[[test]]\nname = \"x\"\n": `test "x": input: missing`,
		"[[test]]\nname = \"x\"\nexpcet = 1\n[[test.input]]\nlines = \"a\"\n":                           `unknown key "test.expcet"`,
		"[[test]]\nname = \"x\"\n[[test.input]]\nlines = \"a\"\nstep = \"1 min\"\n":                     `input[0]: step: invalid duration "1 min"`,
		"[[test]]\nname = \"x\"\n[[test.input]]\nlines = \"a\"\n[[test.expect]]\nseverity = \"high\"\n": `expect[0]: rule: missing`,
	}
	for body, want := range cases {
		writeTestFile(t, filepath.Join(dir, "t.toml"), body)
		code, _, errOut := runCmd(t, dir, "", "test", "t.toml")
		if code != exitUsage || !strings.Contains(errOut, want) {
			t.Errorf("file %q: exit %d, stderr %q, want 2 and %q", body, code, errOut, want)
		}
	}
}

func TestRuleTestCommandNamesUnknownRule(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	writeTestFile(t, filepath.Join(dir, "t.toml"), `
[[test]]
name = "oom"
[[test.input]]
lines = "OOMKilled"
[[test.expect]]
rule = "oom-killed-container"
`)
	code, out, _ := runCmd(t, dir, "", "test", "t.toml")
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(out, `expects rule "oom-killed-container", which the rules under test do not have`) {
		t.Errorf("output does not name the unknown rule:\n%s", out)
	}
	if strings.Contains(out, "rules without a test") {
		t.Errorf("coverage listed without --require-coverage:\n%s", out)
	}
}

func TestRuleTestSummaryNamesRules(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	writeTestFile(t, filepath.Join(dir, "other.toml"), testRules)
	writeTestFile(t, filepath.Join(dir, "rules_test.toml"), ruleTestFile)
	noKey := strings.Replace(ruleTestFile, `rules = ["rules.toml"]`, "", 1)
	writeTestFile(t, filepath.Join(dir, "sub", "no_key_test.toml"), noKey)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"rules key", []string{"test", "rules_test.toml"}, "2 passed, 0 failed with rules.toml\n"},
		{"rules flag", []string{"test", "--rules", "other.toml", "rules_test.toml"}, "2 passed, 0 failed with other.toml\n"},
		{"two files", []string{"test", "rules_test.toml", filepath.Join("sub", "no_key_test.toml")}, "4 passed, 0 failed with rules.toml\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, dir, "", tc.args...)
			if code != exitOK {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if !strings.HasSuffix(out, tc.want) {
				t.Errorf("output does not end with %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestRuleTestRulesKeyRelativeToTestFile(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules", "rules.toml"), testRules)
	writeTestFile(t, filepath.Join(dir, "rules", "rules_test.toml"), ruleTestFile)
	code, out, errOut := runCmd(t, dir, "", "test", filepath.Join("rules", "rules_test.toml"))
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if want := "2 passed, 0 failed with " + filepath.Join("rules", "rules.toml") + "\n"; !strings.HasSuffix(out, want) {
		t.Errorf("output does not end with %q:\n%s", want, out)
	}
}

func TestRuleTestMissingRulesFileNamesPaths(t *testing.T) {
	dir := t.TempDir()
	testFile := filepath.Join("tests", "rules_test.toml")
	writeTestFile(t, filepath.Join(dir, "rules.toml"), testRules)
	writeTestFile(t, filepath.Join(dir, testFile), ruleTestFile)
	code, _, errOut := runCmd(t, dir, "", "test", testFile)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	tried := filepath.Join("tests", "rules.toml")
	for _, want := range []string{testFile + `: rules "rules.toml"`, "open " + tried + ":", "relative to the test file"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr = %q, want it to contain %q", errOut, want)
		}
	}
}
