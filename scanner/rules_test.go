package scanner

import (
	"github.com/BurntSushi/toml"

	"strings"
	"testing"
	"time"
)

func TestParseRulesErrors(t *testing.T) {
	cases := []struct {
		name string
		toml string
		want []string // every error line expected, in order
	}{
		{
			name: "invalid match pattern",
			toml: "[[rule]]\nname = \"cert-renewal-failed\"\nseverity = \"warning\"\nmatch = \"order (failed\"\n",
			want: []string{`rules.toml:4: rule "cert-renewal-failed": match: invalid match pattern: error parsing regexp: missing closing ): ` + "`order (failed`"},
		},
		{
			name: "unknown key with its line",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"x+y\"\n\n[[rule]]\nname = \"b\"\nseverity = \"info\"\nmatch = \"xyz\"\ncolldown = \"1h\"\n",
			want: []string{`rules.toml:10: rule "b": colldown: unknown key (allowed: name, description, severity, match, exclude, namespaces, pods, containers, levels, threshold, window, group_by, cooldown, repeat, summary, labels, context, kind, for, baseline, min_ratio, escalate_after, fields, max_alerts, max_alerts_window)`},
		},
		{
			name: "key in the wrong case",
			toml: "[[rule]]\nNAME = \"a\"\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\n",
			want: []string{`rules.toml:2: rule "a": NAME: unknown key`},
		},
		{
			name: "duplicate names",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\n[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"abc\"\n",
			want: []string{`rules.toml:5: rule "a": duplicate name, first defined at rules.toml:1`},
		},
		{
			name: "unknown severity",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"high\"\nmatch = \"xyz\"\n",
			want: []string{`rules.toml:3: rule "a": severity: unknown severity "high" (allowed: critical, warning, info)`},
		},
		{
			name: "missing severity and match",
			toml: "[[rule]]\nname = \"a\"\n",
			want: []string{
				`rules.toml:1: rule "a": severity: missing (allowed: critical, warning, info)`,
				`rules.toml:1: rule "a": match: missing; a rule needs a match pattern, a levels selector, or both`,
			},
		},
		{
			name: "bad duration",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\nwindow = \"5 minutes\"\n",
			want: []string{`rules.toml:5: rule "a": window: invalid duration "5 minutes" (use units ns, us, ms, s, m, h or d, e.g. "10m", "24h", "7d")`},
		},
		{
			name: "integer duration",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\ncooldown = 30\n",
			want: []string{`rules.toml:5: rule "a": cooldown: must be a duration string such as "10m" or "24h", not an integer 30`},
		},
		{
			name: "threshold out of range",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\nthreshold = 0\n",
			want: []string{`rules.toml:5: rule "a": threshold: 0 is out of range (allowed: 1 to 10000)`},
		},
		{
			name: "unknown group_by field",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"(?P<host>\\\\S+) xyz\"\ngroup_by = [\"hots\"]\n",
			want: []string{`rules.toml:5: rule "a": group_by: unknown field "hots" (allowed: namespace, pod, container, node, stream, level, file, message, host, or fields.<key> for a parsed field)`},
		},
		{
			name: "unknown summary field",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\nsummary = \"{{.dnsname}} failed\"\n",
			want: []string{`rules.toml:5: rule "a": summary: unknown field {{.dnsname}} (allowed: namespace, pod, container, node, stream, level, file, message, or {{.fields.<key>}} for a parsed field)`},
		},
		{
			name: "bad template",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\nsummary = \"{{.message\"\n",
			want: []string{`rules.toml:5: rule "a": summary: invalid template: template: a:1: unclosed action`},
		},
		{
			name: "unknown level",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nlevels = [\"err\"]\n",
			want: []string{`rules.toml:4: rule "a": levels: unknown level "err" (allowed: debug, info, warning, error, fatal)`},
		},
		{
			name: "bad glob",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\nnamespaces = [\"kube-[system\"]\n",
			want: []string{`rules.toml:5: rule "a": namespaces: invalid glob "kube-[system": syntax error in pattern`},
		},
		{
			name: "wrong type",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\nnamespaces = \"kube-system\"\n",
			want: []string{`rules.toml:5: rule "a": namespaces: must be a list of strings, not a string`},
		},
		{
			name: "bad label name",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\n[rule.labels]\n\"team-name\" = \"x\"\n",
			want: []string{`rules.toml:6: rule "a": labels.team-name: invalid label name "team-name" (allowed: letters, digits and underscores, not starting with a digit)`},
		},
		{
			name: "named group shadows metadata",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"(?P<pod>\\\\S+) xyz\"\n",
			want: []string{`rules.toml:4: rule "a": match: named group "pod" has the name of a metadata field; rename it`},
		},
		{
			name: "syntax error",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\nmatch = \"xyz\"\n",
			want: []string{`rules.toml:3: invalid TOML: `},
		},
		{
			name: "unknown top-level key",
			toml: "version = 2\n[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\n",
			want: []string{`rules.toml: unknown top-level key "version" (allowed: [[rule]], [multiline] and [redact] tables)`},
		},
		{
			name: "multi-line string does not shift lines",
			toml: "[[rule]]\nname = \"a\"\nseverity = \"info\"\ndescription = '''\nthreshold = 5\n'''\nmatch = \"xyz\"\nthreshold = -1\n",
			want: []string{`rules.toml:8: rule "a": threshold: -1 is out of range (allowed: 1 to 10000)`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules("rules.toml", []byte(tc.toml))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), err)
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], want)
				}
			}
		})
	}
}

func TestParseRulesDefaults(t *testing.T) {
	rs, err := ParseRules("rules.toml", []byte("[[rule]]\nname = \"a\"\nseverity = \"critical\"\nmatch = \"xyz\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := rs.Rules()[0]
	if r.Threshold != 1 || r.Window != DefaultWindow || r.Cooldown != DefaultCooldown || r.Repeat != DefaultRepeat || r.Context != DefaultContext {
		t.Errorf("defaults: threshold=%d window=%s cooldown=%s repeat=%s context=%d", r.Threshold, r.Window, r.Cooldown, r.Repeat, r.Context)
	}
	if strings.Join(r.GroupBy, ",") != "namespace,container" || r.Line != 1 || r.Severity != SeverityCritical {
		t.Errorf("group_by=%v line=%d severity=%s", r.GroupBy, r.Line, r.Severity)
	}
}

func TestLoadRulesDuplicateAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := dir+"/a.toml", dir+"/b.toml"
	writeFile(t, a, "[[rule]]\nname = \"x\"\nseverity = \"info\"\nmatch = \"abc\"\n")
	writeFile(t, b, "\n[[rule]]\nname = \"x\"\nseverity = \"info\"\nmatch = \"def\"\n")
	_, err := LoadRules(a, b)
	if err == nil || !strings.Contains(err.Error(), b+`:2: rule "x": duplicate name, first defined at `+a+":1") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]time.Duration{"90s": 90 * time.Second, "10m": 10 * time.Minute, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "0s": 0}
	for in, want := range cases {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "30", "1 d", "d", "5 minutes", "1w"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{0: "0s", 90 * time.Second: "1m30s", 10 * time.Minute: "10m", 6 * time.Hour: "6h",
		24 * time.Hour: "24h", 48 * time.Hour: "2d", 90 * time.Minute: "1h30m", 36 * time.Hour: "36h"}
	for d, want := range cases {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDurationTOML(t *testing.T) {
	var cfg struct {
		D Duration `toml:"d"`
	}
	if _, err := toml.Decode(`d = "7d"`, &cfg); err != nil || time.Duration(cfg.D) != 7*24*time.Hour || cfg.D.String() != "7d" {
		t.Errorf("7d decoded as %v (%s), err %v", time.Duration(cfg.D), cfg.D, err)
	}
	if _, err := toml.Decode(`d = 30`, &cfg); err == nil {
		t.Error("an integer duration was accepted")
	}
	if got := Duration(90 * time.Second).String(); got != "1m30s" {
		t.Errorf("String = %q", got)
	}
}
