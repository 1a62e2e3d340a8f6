package scanner

import (
	"regexp"
	"strings"
	"testing"
)

func TestBuildPrefilter(t *testing.T) {
	cases := []struct {
		pattern string
		want    string // literals joined by |, "" for no prefilter
		fold    bool
	}{
		{`certificate has expired`, "certificate has expired", false},
		{`^panic: .*goroutine`, "goroutine", false},
		{`Loop \(.*\) detected`, ") detected", false},
		{`(?:InvalidChangeBatch|already exists)`, "InvalidChangeBatch|already exists", false},
		{`(?i)failed to renew lease`, "failed to renew lea", true},
		{`x509: (certificate|cert) expired`, " expired", false},
		{`\d+ errors?`, " error", false},
		{`a|bc`, "", false},                // a one-byte literal filters nothing
		{`(?i)ſtatus code`, " code", true}, // "s" also folds to the non-ASCII "ſ"
		{`(?i)kubelet`, "ubelet", true},    // "k" also folds to the Kelvin sign
		{`.*`, "", false},
		{`foo|.*`, "", false},
	}
	for _, tc := range cases {
		p := buildPrefilter(tc.pattern)
		got := ""
		fold := false
		if p != nil {
			var lits []string
			for _, l := range p.literals {
				lits = append(lits, string(l))
			}
			got, fold = strings.Join(lits, "|"), p.fold
		}
		if got != tc.want || fold != tc.fold {
			t.Errorf("buildPrefilter(%q) = %q fold=%v, want %q fold=%v", tc.pattern, got, fold, tc.want, tc.fold)
		}
	}
}

// TestPrefilterNeverHidesAMatch checks the prefilter's promise on lines that
// match: a line the regexp accepts must pass the prefilter.
func TestPrefilterNeverHidesAMatch(t *testing.T) {
	patterns := []string{
		`(?i)Failed to renew LEASE`, `x509: certificate (has expired|is not yet valid)`,
		`(?P<name>\w+) not (found|ready)`, `Loop \(.*\) detected`, `(?i)(timeout|deadline exceeded)+`,
		`error(s)? {2,}found`, `[Ee]rror: .+`, `(?i)renew lease`,
	}
	lines := []string{
		"E0101 failed to renew lease kube-system/x: timed out", "FAILED TO RENEW LEASE", "x509: certificate has expired or is not yet valid",
		"issuer not ready", "secret not found", "[FATAL] plugin/loop: Loop (127.0.0.1:1 -> :53) detected", "context DEADLINE EXCEEDED",
		"errors  found", "Error: boom", "error: boom", "nothing to see", "FAILED TO RENEW LEAſE",
	}
	for _, pat := range patterns {
		re := regexp.MustCompile(pat)
		p := buildPrefilter(pat)
		for _, line := range lines {
			if re.MatchString(line) && p != nil && !p.pass([]byte(line), appendLower(nil, []byte(line))) {
				t.Errorf("prefilter of %q rejects matching line %q", pat, line)
			}
		}
	}
}
