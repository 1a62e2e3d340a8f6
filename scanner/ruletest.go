package scanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// TestFile is a parsed rule test file: the rules it tests and its tests.
type TestFile struct {
	Path  string
	Rules []string // rules files, relative to the test file; empty means the caller's default
	Tests []RuleTest
}

// RuleTest is one [[test]]: inputs replayed through the rules, and the
// alerts expected from them, in order. No expectations means no alerts.
type RuleTest struct {
	Name   string          `toml:"name"`
	Node   string          `toml:"node"`
	Only   []string        `toml:"only"` // compare only the alerts of these rules
	Inputs []TestInput     `toml:"input"`
	Expect []ExpectedAlert `toml:"expect"`
}

// TestInput is one stream of lines, or a log file or folder to replay.
type TestInput struct {
	File      string    `toml:"file"`
	Namespace string    `toml:"namespace"`
	Pod       string    `toml:"pod"`
	Container string    `toml:"container"`
	Stream    string    `toml:"stream"`
	Start     time.Time `toml:"start"`
	Step      string    `toml:"step"`
	Lines     string    `toml:"lines"`
}

// ExpectedAlert describes one expected alert; unset fields are not compared.
type ExpectedAlert struct {
	Rule            string            `toml:"rule"`
	Severity        string            `toml:"severity"`
	Count           *int              `toml:"count"`
	Namespace       *string           `toml:"namespace"`
	Pod             *string           `toml:"pod"`
	Container       *string           `toml:"container"`
	Summary         *string           `toml:"summary"`
	SummaryContains string            `toml:"summary_contains"`
	Labels          map[string]string `toml:"labels"`
	Reminder        *bool             `toml:"reminder"`
	Resolved        *bool             `toml:"resolved"`
	FirstSeen       *time.Time        `toml:"first_seen"`
	LastSeen        *time.Time        `toml:"last_seen"`
}

// TestResult is the outcome of one RuleTest.
type TestResult struct {
	Name     string
	Failures []string
	Alerts   []*Alert // the compared alerts
}

// LoadTestFile reads a rule test file strictly: unknown keys are errors.
func LoadTestFile(path string) (*TestFile, error) {
	var doc struct {
		Rules []string   `toml:"rules"`
		Test  []RuleTest `toml:"test"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read test file: %w", err)
	}
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		return nil, TOMLError(path, err)
	}
	var errs []error
	for _, key := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("%s: unknown key %q", path, key.String()))
	}
	for i, t := range doc.Test {
		label := fmt.Sprintf("%s: test #%d", path, i+1)
		if t.Name != "" {
			label = fmt.Sprintf("%s: test %q", path, t.Name)
		}
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name: missing", label))
		}
		if len(t.Inputs) == 0 {
			errs = append(errs, fmt.Errorf("%s: input: missing; give [[test.input]] with lines or file", label))
		}
		for j, in := range t.Inputs {
			if (in.File == "") == (in.Lines == "") {
				errs = append(errs, fmt.Errorf("%s: input[%d]: give either lines or file", label, j))
			}
			if in.Step != "" {
				if _, err := ParseDuration(in.Step); err != nil {
					errs = append(errs, fmt.Errorf("%s: input[%d]: step: %v", label, j, err))
				}
			}
		}
		for j, e := range t.Expect {
			if e.Rule == "" {
				errs = append(errs, fmt.Errorf("%s: expect[%d]: rule: missing", label, j))
			}
			if e.Severity != "" {
				if _, err := ParseSeverity(e.Severity); err != nil {
					errs = append(errs, fmt.Errorf("%s: expect[%d]: severity: %v", label, j, err))
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &TestFile{Path: path, Rules: doc.Rules, Tests: doc.Test}, nil
}

// Run replays a test's inputs through rs and compares the alerts.
func (t *RuleTest) Run(ctx context.Context, rs *RuleSet, baseDir string) (TestResult, error) {
	res := TestResult{Name: t.Name}
	tmp, err := os.MkdirTemp("", "klaxon-test-")
	if err != nil {
		return res, fmt.Errorf("create test folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	var paths []string
	for i, in := range t.Inputs {
		p, err := in.materialize(tmp, baseDir, i)
		if err != nil {
			return res, fmt.Errorf("test %q: input[%d]: %w", t.Name, i, err)
		}
		paths = append(paths, p)
	}
	var alerts []*Alert
	_, err = Replay(ctx, rs, paths, ReplayOptions{Node: t.Node, Emit: func(a *Alert) {
		if len(t.Only) == 0 || slices.Contains(t.Only, a.Rule) {
			alerts = append(alerts, a)
		}
	}})
	if err != nil {
		return res, fmt.Errorf("test %q: %w", t.Name, err)
	}
	res.Alerts = alerts
	for _, e := range t.Expect {
		if !slices.ContainsFunc(rs.rules, func(r *Rule) bool { return r.Name == e.Rule }) {
			res.Failures = append(res.Failures, fmt.Sprintf("expects rule %q, which the rules under test do not have", e.Rule))
		}
	}
	if len(alerts) != len(t.Expect) {
		res.Failures = append(res.Failures, fmt.Sprintf("got %d alerts, expected %d", len(alerts), len(t.Expect)))
	}
	for i := range min(len(alerts), len(t.Expect)) {
		for _, f := range t.Expect[i].compare(alerts[i]) {
			res.Failures = append(res.Failures, fmt.Sprintf("alert %d (%s): %s", i+1, alerts[i].Rule, f))
		}
	}
	return res, nil
}

// materialize writes an input of lines as a file in the kubelet layout when
// it has metadata, so replay reads it exactly as it reads a node's logs.
func (in TestInput) materialize(tmp, baseDir string, i int) (string, error) {
	if in.File != "" {
		if filepath.IsAbs(in.File) {
			return in.File, nil
		}
		return filepath.Join(baseDir, in.File), nil
	}
	path := filepath.Join(tmp, fmt.Sprintf("input-%d.log", i))
	if in.Namespace != "" || in.Pod != "" || in.Container != "" {
		pod, container := orDefault(in.Pod, "pod"), orDefault(in.Container, "container")
		path = filepath.Join(tmp, fmt.Sprintf("%s_%s_uid%d", orDefault(in.Namespace, "default"), pod, i), container, "0.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	text := strings.TrimPrefix(in.Lines, "\n")
	if !in.Start.IsZero() || in.Step != "" {
		text = wrapCRI(text, in)
	}
	return path, os.WriteFile(path, []byte(text), 0o644)
}

// wrapCRI gives each line a CRI record with the input's start time plus one
// step per line, so tests can place lines in time.
func wrapCRI(text string, in TestInput) string {
	step, _ := ParseDuration(in.Step)
	start := in.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	stream := orDefault(in.Stream, "stderr")
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%s %s F %s\n", start.Add(time.Duration(i)*step).UTC().Format(time.RFC3339Nano), stream, line)
	}
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (e ExpectedAlert) compare(a *Alert) []string {
	var out []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	check(a.Rule == e.Rule, "rule %q, expected %q", a.Rule, e.Rule)
	check(e.Severity == "" || a.Severity.String() == e.Severity, "severity %s, expected %s", a.Severity, e.Severity)
	check(e.Count == nil || a.Count == *e.Count, "count %d, expected %d", a.Count, deref(e.Count))
	check(e.Namespace == nil || a.Namespace == *e.Namespace, "namespace %q, expected %q", a.Namespace, deref(e.Namespace))
	check(e.Pod == nil || a.Pod == *e.Pod, "pod %q, expected %q", a.Pod, deref(e.Pod))
	check(e.Container == nil || a.Container == *e.Container, "container %q, expected %q", a.Container, deref(e.Container))
	check(e.Summary == nil || a.Summary == *e.Summary, "summary %q, expected %q", a.Summary, deref(e.Summary))
	check(strings.Contains(a.Summary, e.SummaryContains), "summary %q does not contain %q", a.Summary, e.SummaryContains)
	check(e.Reminder == nil || a.Reminder == *e.Reminder, "reminder %v, expected %v", a.Reminder, deref(e.Reminder))
	check(e.Resolved == nil || a.Resolved == *e.Resolved, "resolved %v, expected %v", a.Resolved, deref(e.Resolved))
	check(e.FirstSeen == nil || a.FirstSeen.Equal(*e.FirstSeen), "first_seen %s, expected %s", a.FirstSeen.Format(time.RFC3339Nano), fmtTime(e.FirstSeen))
	check(e.LastSeen == nil || a.LastSeen.Equal(*e.LastSeen), "last_seen %s, expected %s", a.LastSeen.Format(time.RFC3339Nano), fmtTime(e.LastSeen))
	for k, v := range e.Labels {
		check(a.Labels[k] == v, "label %s=%q, expected %q", k, a.Labels[k], v)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}
