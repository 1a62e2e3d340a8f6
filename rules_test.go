package klaxon

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/klaxon-agent/klaxon/scanner"
)

// corpusStart is the time of the first CRI record written for a corpus case.
var corpusStart = time.Date(2024, 6, 18, 11, 50, 27, 41578000, time.UTC)

// severityExceptions lists corpus cases whose report gave a severity that
// the text alone cannot carry, with the severity the shipped rules give.
var severityExceptions = map[string]struct {
	severity string
	reason   string
}{
	"cm-webhook-tls-bad-certificate": {
		severity: "warning",
		reason: "every Go HTTPS server prints the same handshake line when a client rejects its certificate; " +
			"it is critical only because the client here is the API server calling a webhook, which the line does not say",
	},
}

// corpusCase is one [[case]] of testdata/corpus/cases.toml.
type corpusCase struct {
	ID              string `toml:"id"`
	Source          string `toml:"source"`
	Component       string `toml:"component"`
	Container       string `toml:"container"`
	Namespace       string `toml:"namespace"`
	Format          string `toml:"format"`
	TimestampFormat string `toml:"timestamp_format"`
	Multiline       bool   `toml:"multiline"`
	Lines           string `toml:"lines"`
	ExpectAlert     bool   `toml:"expect_alert"`
	Category        string `toml:"category"`
	Severity        string `toml:"severity"`
	Note            string `toml:"note"`
}

// logLines returns the case's lines without the newline that ends the last.
func (c corpusCase) logLines() []string {
	return strings.Split(strings.TrimSuffix(c.Lines, "\n"), "\n")
}

// podLog returns where the case's lines go in the kubelet layout. The
// corpus describes namespace and container in prose ("cert-manager (kube-system
// in many 2018 installs)", "n/a (node level)"), so the first word is used when
// it is a valid name.
func (c corpusCase) podLog() podLog {
	container := kubeName(c.Container, kubeName(c.Component, "unknown"))
	return podLog{
		namespace: kubeName(c.Namespace, "kube-system"),
		pod:       container + "-0",
		container: container,
	}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// kubeName returns the first word of s when it is a valid Kubernetes name,
// else fallback.
func kubeName(s, fallback string) string {
	word, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	word = strings.ToLower(word)
	if !dnsLabel.MatchString(word) {
		return fallback
	}
	return word
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	var doc struct {
		Case []corpusCase `toml:"case"`
	}
	md, err := toml.DecodeFile(filepath.Join("testdata", "corpus", "cases.toml"), &doc)
	if err != nil {
		t.Fatalf("decode corpus: %v", err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		t.Fatalf("corpus has unknown keys: %v", keys)
	}
	if len(doc.Case) == 0 {
		t.Fatal("corpus has no cases")
	}
	return doc.Case
}

func loadDefaultRules(t testing.TB) *scanner.RuleSet {
	t.Helper()
	rs, err := scanner.ParseRules("rules.toml", DefaultRules)
	if err != nil {
		t.Fatalf("parse shipped rules: %v", err)
	}
	return rs
}

// podLog names the kubelet folder that CRI-wrapped lines are written to.
type podLog struct {
	namespace, pod, container string
}

// writePlain writes lines as they were printed to a plain file in a new
// temporary folder and returns the file's path.
func writePlain(t testing.TB, lines []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "case.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeCRI wraps lines in containerd CRI records on stderr, step apart from
// start, in <root>/<namespace>_<pod>_<uid>/<container>/0.log of a new
// temporary root, and returns the root.
func writeCRI(t testing.TB, p podLog, lines []string, start time.Time, step time.Duration) string {
	t.Helper()
	root := t.TempDir()
	h := fnv.New64a()
	h.Write([]byte(p.namespace + "/" + p.pod))
	uid := fmt.Sprintf("00000000-0000-4000-8000-%012x", h.Sum64()&0xffffffffffff)
	dir := filepath.Join(root, p.namespace+"_"+p.pod+"_"+uid, p.container)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, line := range lines {
		ts := start.Add(time.Duration(i) * step)
		fmt.Fprintf(&b, "%s stderr F %s\n", ts.Format(time.RFC3339Nano), line)
	}
	if err := os.WriteFile(filepath.Join(dir, "0.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// replayAlerts replays paths with rs and returns the alerts in the order
// they were raised.
func replayAlerts(t testing.TB, rs *scanner.RuleSet, paths ...string) []*scanner.Alert {
	t.Helper()
	var alerts []*scanner.Alert
	stats, err := scanner.Replay(context.Background(), rs, paths, scanner.ReplayOptions{
		Node: "worker-1",
		Emit: func(a *scanner.Alert) { alerts = append(alerts, a) },
	})
	if err != nil {
		t.Fatalf("replay %v: %v", paths, err)
	}
	if stats.Lines == 0 {
		t.Fatalf("replay %v read no lines", paths)
	}
	return alerts
}

// firedRules returns the sorted names of the rules that raised alerts.
func firedRules(alerts []*scanner.Alert) []string {
	var names []string
	for _, a := range alerts {
		if !slices.Contains(names, a.Rule) {
			names = append(names, a.Rule)
		}
	}
	slices.Sort(names)
	return names
}

func maxSeverity(alerts []*scanner.Alert) scanner.Severity {
	var sev scanner.Severity
	for _, a := range alerts {
		sev = max(sev, a.Severity)
	}
	return sev
}

func describeAlerts(alerts []*scanner.Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "\n  %s (%s, %d lines): %s", a.Rule, a.Severity, a.Count, a.Summary)
	}
	return b.String()
}

// logForm is one way a test writes log lines to disk: it returns the path
// to replay.
type logForm struct {
	name  string
	write func(t testing.TB, lines []string) string
}

func logForms(p podLog, step time.Duration) []logForm {
	return []logForm{
		{"plain", writePlain},
		{"cri", func(t testing.TB, lines []string) string { return writeCRI(t, p, lines, corpusStart, step) }},
	}
}

func TestCorpusCases(t *testing.T) {
	rs := loadDefaultRules(t)
	for _, c := range loadCorpus(t) {
		for _, form := range logForms(c.podLog(), time.Second) {
			t.Run(c.ID+"/"+form.name, func(t *testing.T) {
				alerts := replayAlerts(t, rs, form.write(t, c.logLines()))
				if !c.ExpectAlert {
					if len(alerts) > 0 {
						t.Errorf("want no alert, got %d:%s", len(alerts), describeAlerts(alerts))
					}
					return
				}
				want := c.Severity
				if ex, ok := severityExceptions[c.ID]; ok {
					want = ex.severity
				}
				if len(alerts) == 0 {
					t.Fatalf("want an alert of severity %s, got none", want)
				}
				if got := maxSeverity(alerts).String(); got != want {
					t.Errorf("highest severity = %s, want %s; alerts:%s", got, want, describeAlerts(alerts))
				}
			})
		}
	}
}

func TestSeverityExceptionsAreCurrent(t *testing.T) {
	cases := map[string]corpusCase{}
	for _, c := range loadCorpus(t) {
		cases[c.ID] = c
	}
	for id, ex := range severityExceptions {
		c, ok := cases[id]
		if !ok {
			t.Errorf("exception for %s: no such corpus case", id)
			continue
		}
		if !c.ExpectAlert {
			t.Errorf("exception for %s: the case expects no alert", id)
		}
		if c.Severity == ex.severity {
			t.Errorf("exception for %s: severity %s equals the case's own", id, ex.severity)
		}
		if ex.reason == "" {
			t.Errorf("exception for %s: no reason given", id)
		}
	}
}

// ruleExample is one block of a testdata/rules/*.txt file.
type ruleExample struct {
	file  string
	name  string
	want  []string // sorted rule names, empty when no rule may fire
	every time.Duration
	lines []string
}

var exampleHeader = regexp.MustCompile(`^## ([a-z0-9-]+)(?: every (\S+))?: (.+)$`)

// loadRuleExamples reads every block of testdata/rules/*.txt. The folder's
// README.md describes the format.
func loadRuleExamples(t testing.TB) []ruleExample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "rules", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("find rule examples: %v (%d files)", err, len(files))
	}
	var out []ruleExample
	for _, file := range files {
		out = append(out, parseRuleExamples(t, file)...)
	}
	return out
}

func parseRuleExamples(t testing.TB, file string) []ruleExample {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ruleExample
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			m := exampleHeader.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s:%d: invalid block header %q", file, n, line)
			}
			ex := ruleExample{file: filepath.Base(file), name: m[1], every: time.Second}
			if m[2] != "" {
				if ex.every, err = time.ParseDuration(m[2]); err != nil {
					t.Fatalf("%s:%d: %v", file, n, err)
				}
			}
			if m[3] != "none" {
				ex.want = strings.Fields(m[3])
				slices.Sort(ex.want)
			}
			out = append(out, ex)
		case line == "" || strings.HasPrefix(line, "# "):
		case len(out) == 0:
			t.Fatalf("%s:%d: log line before the first block header", file, n)
		default:
			out[len(out)-1].lines = append(out[len(out)-1].lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	for _, ex := range out {
		if len(ex.lines) == 0 {
			t.Fatalf("%s: block %s has no lines", file, ex.name)
		}
	}
	return out
}

func TestRuleExamples(t *testing.T) {
	rs := loadDefaultRules(t)
	p := podLog{namespace: "kube-system", pod: "example-0", container: "example"}
	for _, ex := range loadRuleExamples(t) {
		for _, form := range logForms(p, ex.every) {
			t.Run(strings.TrimSuffix(ex.file, ".txt")+"/"+ex.name+"/"+form.name, func(t *testing.T) {
				alerts := replayAlerts(t, rs, form.write(t, ex.lines))
				if got := firedRules(alerts); !slices.Equal(got, ex.want) {
					t.Errorf("fired rules = %v, want %v; alerts:%s", got, ex.want, describeAlerts(alerts))
				}
			})
		}
	}
}

// TestEveryRuleHasExample keeps every shipped rule covered by at least one
// line of test data that makes it fire.
func TestEveryRuleHasExample(t *testing.T) {
	rs := loadDefaultRules(t)
	fired := map[string]bool{}
	for _, c := range loadCorpus(t) {
		for _, a := range replayAlerts(t, rs, writeCRI(t, c.podLog(), c.logLines(), corpusStart, time.Second)) {
			fired[a.Rule] = true
		}
	}
	p := podLog{namespace: "kube-system", pod: "example-0", container: "example"}
	for _, ex := range loadRuleExamples(t) {
		for _, a := range replayAlerts(t, rs, writeCRI(t, p, ex.lines, corpusStart, ex.every)) {
			fired[a.Rule] = true
		}
	}
	for _, r := range rs.Rules() {
		if !fired[r.Name] {
			t.Errorf("rule %s (%s:%d) fires on no line of the corpus or the rule examples", r.Name, r.File, r.Line)
		}
	}
}

// TestShippedRuleTests runs rules_test.toml, the tests that
// `klaxon test --require-coverage rules_test.toml` runs, and checks that
// every shipped rule has a test that expects its alert and a near miss: a
// test named after the rule that expects none of its alerts.
func TestShippedRuleTests(t *testing.T) {
	tf, err := scanner.LoadTestFile("rules_test.toml")
	if err != nil {
		t.Fatalf("load rule tests: %v", err)
	}
	// The tests name the file whose embedded copy loadDefaultRules parses.
	if !slices.Equal(tf.Rules, []string{"rules.toml"}) {
		t.Fatalf("rules_test.toml tests the rules of %v, want [rules.toml]", tf.Rules)
	}
	rs := loadDefaultRules(t)
	positive := map[string]bool{}
	negative := map[string]bool{}
	seen := map[string]bool{}
	for i := range tf.Tests {
		rt := &tf.Tests[i]
		if seen[rt.Name] {
			t.Errorf("test %q: duplicate name", rt.Name)
		}
		seen[rt.Name] = true
		t.Run(rt.Name, func(t *testing.T) {
			res, err := rt.Run(context.Background(), rs, ".")
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			for _, f := range res.Failures {
				t.Error(f)
			}
			if t.Failed() {
				t.Logf("actual alerts:%s", describeAlerts(res.Alerts))
			}
		})
		for _, e := range rt.Expect {
			positive[e.Rule] = true
		}
		rule, _, ok := strings.Cut(rt.Name, ": ")
		if !ok || !slices.ContainsFunc(rs.Rules(), func(r *scanner.Rule) bool { return r.Name == rule }) {
			t.Errorf("test %q: name does not start with a rule name followed by \": \"", rt.Name)
			continue
		}
		if !slices.ContainsFunc(rt.Expect, func(e scanner.ExpectedAlert) bool { return e.Rule == rule }) {
			negative[rule] = true
		}
	}
	for _, r := range rs.Rules() {
		if !positive[r.Name] {
			t.Errorf("rule %s has no test that expects its alert", r.Name)
		}
		if !negative[r.Name] {
			t.Errorf("rule %s has no test named after it that expects none of its alerts", r.Name)
		}
	}
}

var ruleName = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

func TestDefaultRulesAreWellFormed(t *testing.T) {
	for _, r := range loadDefaultRules(t).Rules() {
		t.Run(r.Name, func(t *testing.T) {
			if !ruleName.MatchString(r.Name) {
				t.Errorf("name %q is not lowercase words joined by dashes", r.Name)
			}
			if !strings.HasSuffix(r.Description, ".") || strings.Count(r.Description, ". ") > 0 {
				t.Errorf("description is not one sentence ending in a period: %q", r.Description)
			}
			if r.Match == nil {
				// A rule without a pattern runs on every line that has
				// one of its levels, so it must select levels that
				// healthy components seldom write.
				for _, l := range r.Levels {
					if l < scanner.LevelError {
						t.Errorf("rule without a match pattern selects level %s, want only error and fatal", l)
					}
				}
				if len(r.Levels) == 0 {
					t.Error("rule has neither a match pattern nor levels")
				}
				return
			}
			re, err := syntax.Parse(r.Match.String(), syntax.Perl)
			if err != nil {
				t.Fatalf("parse match: %v", err)
			}
			if !hasRequiredLiteral(re.Simplify()) {
				t.Errorf("match %q has no case-sensitive literal of 3 or more bytes that every match contains", r.Match)
			}
		})
	}
}

// hasRequiredLiteral reports whether every string re matches contains one of
// a set of case-sensitive literals of at least 3 bytes, which lets the engine
// skip the regexp on lines without them.
func hasRequiredLiteral(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(string(re.Rune)) >= 3 && re.Flags&syntax.FoldCase == 0
	case syntax.OpCapture, syntax.OpPlus:
		return hasRequiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min >= 1 && hasRequiredLiteral(re.Sub[0])
	case syntax.OpConcat:
		return slices.ContainsFunc(re.Sub, hasRequiredLiteral)
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !hasRequiredLiteral(sub) {
				return false
			}
		}
		return true
	}
	return false
}

// Facts of the incident that examples/incident reconstructs, as its README
// describes: cert-manager starts renewing the certificate of api.example.com
// 30 days before it expires, and ingress-nginx warns about it from 240
// hours before.
var (
	incidentRenewal = time.Date(2026, 10, 2, 2, 0, 13, 0, time.UTC)
	incidentExpiry  = time.Date(2026, 11, 1, 2, 0, 13, 0, time.UTC)
)

// episodeWant describes the alerts one rule must raise for one group.
type episodeWant struct {
	severity     string
	startFrom    time.Time // the first alert's FirstSeen is in [startFrom, startTo]
	startTo      time.Time
	minReminders int
	// maxGap bounds the time from when an alert was raised to the last line
	// of the next one.
	maxGap  time.Duration
	summary string // a part every summary contains
	// escalateAfter is how long after the first line the episode must be
	// raised to critical. When it is zero, every alert must keep severity.
	escalateAfter time.Duration
}

// escalationSlack is how late an escalation may come: the engine checks
// firing groups about once a minute of log time, when a line arrives, and
// the incident's containers log every few seconds.
const escalationSlack = 5 * time.Minute

func TestIncidentExample(t *testing.T) {
	rs := loadDefaultRules(t)
	var alerts []*scanner.Alert
	stats, err := scanner.Replay(context.Background(), rs, []string{filepath.Join("examples", "incident")}, scanner.ReplayOptions{
		Node: "worker-1",
		Emit: func(a *scanner.Alert) { alerts = append(alerts, a) },
	})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if stats.Malformed != 0 || stats.Truncated != 0 {
		t.Errorf("replay found %d malformed and %d truncated lines, want none", stats.Malformed, stats.Truncated)
	}
	want := []string{
		"acme-dns01-record-failed", "dns-record-conflict", "ingress-nginx-certificate-expired",
		"ingress-nginx-certificate-expiring", "x509-certificate-expired",
	}
	if got := firedRules(alerts); !slices.Equal(got, want) {
		t.Errorf("fired rules = %v, want %v; the noise around the incident must not alert", got, want)
	}
	byRule := map[string][]*scanner.Alert{}
	for _, a := range alerts {
		byRule[a.Rule] = append(byRule[a.Rule], a)
	}

	day := 24 * time.Hour
	// cert-manager retries every 5 minutes, so a reminder is due at most
	// 5 minutes after each full day.
	renewal := episodeWant{
		startFrom: incidentRenewal, startTo: incidentRenewal.Add(time.Hour),
		minReminders: 28, maxGap: day + 10*time.Minute, summary: "_acme-challenge.api.example.com",
	}
	t.Run("renewal failure", func(t *testing.T) {
		w := renewal
		w.severity = "critical"
		checkEpisode(t, byRule["acme-dns01-record-failed"], w)
		checkRaisedBefore(t, byRule["acme-dns01-record-failed"], incidentExpiry.Add(-28*day))
	})
	t.Run("dns conflict", func(t *testing.T) {
		w := renewal
		w.severity = "warning"
		w.escalateAfter = 7 * day
		checkEpisode(t, byRule["dns-record-conflict"], w)
		checkRaisedBefore(t, byRule["dns-record-conflict"], incidentExpiry.Add(-28*day))
	})
	t.Run("expiry warning", func(t *testing.T) {
		// ingress-nginx warns on configuration syncs, which come about
		// every 36 minutes but at random.
		warnFrom := incidentExpiry.Add(-240 * time.Hour)
		checkEpisode(t, byRule["ingress-nginx-certificate-expiring"], episodeWant{
			severity: "warning", startFrom: warnFrom, startTo: warnFrom.Add(3 * time.Hour),
			minReminders: 9, maxGap: day + 4*time.Hour, summary: "api.example.com",
			escalateAfter: 7 * day,
		})
	})
	t.Run("expired certificate served", func(t *testing.T) {
		checkEpisode(t, byRule["ingress-nginx-certificate-expired"], episodeWant{
			severity: "critical", startFrom: incidentExpiry, startTo: incidentExpiry.Add(3 * time.Hour),
			maxGap: day, summary: "api.example.com",
		})
	})
	t.Run("expired certificate rejected", func(t *testing.T) {
		checkEpisode(t, byRule["x509-certificate-expired"], episodeWant{
			severity: "critical", startFrom: incidentExpiry, startTo: incidentExpiry.Add(time.Hour),
			maxGap: day, summary: "2026-11-01T02:00:13Z",
		})
	})
}

// checkEpisode checks that alerts are one episode of one group, raised and
// repeated as w requires.
func checkEpisode(t *testing.T, alerts []*scanner.Alert, w episodeWant) {
	t.Helper()
	if len(alerts) == 0 {
		t.Fatal("no alert")
	}
	first := alerts[0]
	if first.Reminder {
		t.Errorf("first alert is a reminder")
	}
	if first.Severity.String() != w.severity {
		t.Errorf("severity = %s, want %s", first.Severity, w.severity)
	}
	checkEscalation(t, alerts, w)
	if first.FirstSeen.Before(w.startFrom) || first.FirstSeen.After(w.startTo) {
		t.Errorf("first seen %s, want between %s and %s", first.FirstSeen, w.startFrom, w.startTo)
	}
	reminders := 0
	for i, a := range alerts {
		if a.GroupKey != first.GroupKey {
			t.Errorf("alert %d has group %q, want %q", i, a.GroupKey, first.GroupKey)
		}
		if !strings.Contains(a.Summary, w.summary) {
			t.Errorf("alert %d summary %q does not contain %q", i, a.Summary, w.summary)
		}
		if i == 0 {
			continue
		}
		if !a.Reminder {
			t.Errorf("alert %d at %s starts a new episode, want a reminder of the first", i, a.LastSeen)
		}
		reminders++
		prev := alerts[i-1]
		// The engine raises an escalation when it next checks the group,
		// after the group's last line. So a gap runs from PreviousAt, when
		// the previous alert was raised, not from that alert's LastSeen.
		if a.PreviousAt.IsZero() {
			t.Errorf("alert %d has no PreviousAt, want the time the previous alert was raised", i)
		} else if gap := a.LastSeen.Sub(a.PreviousAt); gap > w.maxGap {
			t.Errorf("alert %d comes %s after the previous one, want at most %s", i, gap, w.maxGap)
		}
		if a.Count <= prev.Count {
			t.Errorf("alert %d count %d, want more than the previous %d", i, a.Count, prev.Count)
		}
	}
	if reminders < w.minReminders {
		t.Errorf("%d reminders, want at least %d", reminders, w.minReminders)
	}
}

// checkEscalation checks the severities of an episode: w.severity
// throughout, or, when w.escalateAfter is set, critical from an escalation
// that comes on time.
func checkEscalation(t *testing.T, alerts []*scanner.Alert, w episodeWant) {
	t.Helper()
	escalated := slices.IndexFunc(alerts, func(a *scanner.Alert) bool { return a.Severity.String() != w.severity })
	if w.escalateAfter == 0 {
		if escalated >= 0 {
			t.Errorf("alert %d has severity %s, want %s for the whole episode", escalated, alerts[escalated].Severity, w.severity)
		}
		return
	}
	if escalated < 0 {
		t.Fatalf("no alert raised to critical, want one %s after the first line", w.escalateAfter)
	}
	for i, a := range alerts[escalated:] {
		if a.Severity != scanner.SeverityCritical {
			t.Errorf("alert %d after the escalation has severity %s, want critical", escalated+i, a.Severity)
		}
	}
	if escalated+1 == len(alerts) {
		t.Fatalf("the escalation is the last alert, want a reminder after it to tell when it was raised")
	}
	due := alerts[0].FirstSeen.Add(w.escalateAfter)
	if at := alerts[escalated+1].PreviousAt; at.Before(due) || at.After(due.Add(escalationSlack)) {
		t.Errorf("raised to critical at %s, want between %s and %s", at, due, due.Add(escalationSlack))
	}
}

// checkRaisedBefore checks that the first alert was raised by deadline:
// its last line, the one that raised it, came before.
func checkRaisedBefore(t *testing.T, alerts []*scanner.Alert, deadline time.Time) {
	t.Helper()
	if len(alerts) > 0 && alerts[0].LastSeen.After(deadline) {
		t.Errorf("first alert raised at %s, want before %s", alerts[0].LastSeen, deadline)
	}
}

// BenchmarkIncidentReplay measures the shipped rules on the bundled
// example: all its files, .gz ones included, per iteration. disk-MB/s counts
// the bytes of the files as stored, so compressed rotations count at their
// compressed size.
func BenchmarkIncidentReplay(b *testing.B) {
	rs := loadDefaultRules(b)
	var stats scanner.ReplayStats
	var err error
	for b.Loop() {
		stats, err = scanner.Replay(context.Background(), rs, []string{filepath.Join("examples", "incident")}, scanner.ReplayOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(stats.Lines)/perOp, "lines/s")
	b.ReportMetric(float64(stats.Bytes)/perOp/1e6, "disk-MB/s")
}
