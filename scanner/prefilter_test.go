package scanner

import (
	"regexp"
	"slices"
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
		{`x509: (certificate|cert) expired`, "x509: certificate expired|x509: cert expired", false},
		{`^(?:panic|fatal error): (?P<reason>.+)`, "panic: |fatal error: ", false},
		{`[Ff]ailed to renew`, "Failed to renew|failed to renew", false},
		{`alarm"?:"?NOSPACE`, `alarm":"NOSPACE|alarm":NOSPACE|alarm:"NOSPACE|alarm:NOSPACE`, false},
		{`secrets? \\?"(?P<s>[^"]+)\\?" not found`, `" not found`, false},
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

// equivalenceRules are patterns of every shape the literal extraction
// handles: plain, alternations, case-insensitive, classes, repeats.
const equivalenceRules = `
[[rule]]
name = "plain"
severity = "info"
match = 'certificate has expired'
[[rule]]
name = "alternation"
severity = "info"
match = '(?:InvalidChangeBatch|already exists|conflicting RRSet)'
[[rule]]
name = "folded"
severity = "info"
match = '(?i)failed to renew lease'
[[rule]]
name = "class-first"
severity = "info"
match = '[Ll]eader ?election lost'
[[rule]]
name = "repeat"
severity = "info"
match = '(?:ab){2,}cde'
[[rule]]
name = "kelvin"
severity = "info"
match = '(?i)kubelet stopped'
[[rule]]
name = "no-literal"
severity = "info"
match = '\d+\s+\w+'
`

// checkLiteralMatcher fails when a rule's pattern matches text but the
// literal matcher did not select the rule, which would hide the match.
func checkLiteralMatcher(t *testing.T, rs *RuleSet, text string) {
	t.Helper()
	cand := make([]uint64, (len(rs.rules)+63)/64)
	rs.literals.scan([]byte(text), cand)
	for _, r := range rs.rules {
		if r.prefilter == nil || !r.Match.MatchString(text) {
			continue
		}
		if cand[r.index>>6]&(1<<(r.index&63)) == 0 {
			t.Fatalf("rule %s matches %q but the literal matcher skipped it", r.Name, text)
		}
	}
}

func TestLiteralMatcherAgreesWithPatterns(t *testing.T) {
	rs, err := ParseRules("eq.toml", []byte(equivalenceRules))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"x509: certificate has expired or is not yet valid", "CERTIFICATE HAS EXPIRED", "Tried to create ... but it already exists",
		"FAILED TO RENEW LEASE kube-system/x", "Failed To Renew Leaſe", "leader election lost", "LeaderElection lost", "Leaderelection lost",
		"ababcde", "abcde", "KUBELET STOPPED", "\u212Aubelet stopped", "12 items", "", "conflicting RRSet of type CNAME",
	} {
		checkLiteralMatcher(t, rs, text)
	}
	// The matcher must also select rules whose literals overlap or nest.
	cand := make([]uint64, 1)
	rs.literals.scan([]byte("InvalidChangeBatch: conflicting RRSet already exists; certificate has expired"), cand)
	for _, name := range []string{"plain", "alternation"} {
		idx := slices.IndexFunc(rs.rules, func(r *Rule) bool { return r.Name == name })
		if cand[0]&(1<<idx) == 0 {
			t.Errorf("rule %s not selected", name)
		}
	}
}

func FuzzLiteralMatcher(f *testing.F) {
	rs, err := ParseRules("eq.toml", []byte(equivalenceRules))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"certificate has expired", "failed to renew LEASE", "leader election lost", "ababcde", "\u212Aubelet stopped"} {
		f.Add(seed)
	}
	shipped, err := LoadRules("../rules.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range shipped.rules {
		// Seed with each shipped rule's literals so the fuzzer starts near matches.
		if r.prefilter != nil {
			f.Add(string(r.prefilter.literals[0]))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkLiteralMatcher(t, rs, text)
		checkLiteralMatcher(t, shipped, text)
	})
}
