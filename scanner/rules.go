package scanner

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/BurntSushi/toml"
)

// Defaults for rule keys that a rule leaves out.
const (
	DefaultWindow   = 10 * time.Minute
	DefaultCooldown = time.Hour
	DefaultRepeat   = 24 * time.Hour
	DefaultContext  = 3

	maxThreshold = 10000
	maxContext   = 20
	maxRules     = 2000
	maxPattern   = 4096
)

// Rule kinds.
const (
	KindMatch  = "match"  // alert on matching lines
	KindAbsent = "absent" // alert when matching lines stop for a group
	KindVolume = "volume" // alert when a stream goes silent or its rate drops
)

// DefaultGroupBy is the grouping of a rule without group_by: one group per
// container of a namespace, so a new pod of the same workload continues it.
var DefaultGroupBy = []string{"namespace", "container"}

// metadataFields are the fields every line has, for group_by and summary.
var metadataFields = []string{"namespace", "pod", "container", "node", "stream", "level", "file", "message"}

// Rule is one compiled, validated rule.
type Rule struct {
	Name        string
	Description string
	Kind        string
	Severity    Severity
	Match       *regexp.Regexp // nil when the rule selects on levels alone
	Exclude     *regexp.Regexp
	Namespaces  []string
	Pods        []string
	Containers  []string
	Levels      []Level
	Threshold   int
	Window      time.Duration
	GroupBy     []string
	Cooldown    time.Duration
	Repeat      time.Duration // 0: no reminders
	Summary     string        // the template's text
	Labels      map[string]string
	Context     int

	// For is how long an absent rule's group may go without a match, and a
	// volume rule's stream without a line, before the rule fires.
	For time.Duration
	// Baseline and MinRatio make a volume rule fire when the line rate over
	// Window drops below MinRatio times the rate over Baseline.
	Baseline time.Duration
	MinRatio float64
	// EscalateAfter raises a group that has kept firing this long to the
	// next severity; 0 never escalates.
	EscalateAfter time.Duration
	// MaxAlerts caps the alerts of the rule per MaxAlertsWindow; the rest
	// are merged into one summary alert per window. 0 means no cap.
	MaxAlerts       int
	MaxAlertsWindow time.Duration

	// File and Line locate the rule's [[rule]] header.
	File string
	Line int

	index     int
	levelMask uint8
	// excludePrefilter skips the exclude pattern on lines without its
	// literals, because an alternation can cost microseconds per line.
	excludePrefilter *prefilter
	summary          *template.Template
	prefilter        *prefilter
	named            bool // Match has named groups
	// keyFromSource is true when every group_by field comes from the line's
	// source, and needFields when alerts need each line's fields. Together
	// they let volume rules count lines without building fields.
	keyFromSource bool
	needFields    bool
	// conditions test parsed fields; usesFields is true when the rule tests
	// or shows them, so lines it matches carry them as "fields.<key>".
	conditions     []fieldCondition
	usesFields     bool
	labelTemplates map[string]*template.Template
}

// RuleSet is a validated list of rules, in file order.
type RuleSet struct {
	rules     []*Rule
	multiline multilineSettings
	redactor  *Redactor
	// redactExtra are the [redact] patterns of the rules files.
	redactExtra []*regexp.Regexp
	literals    *literalMatcher
	grams       *gramFilter
}

// Rules returns the rules in the order they were loaded.
func (rs *RuleSet) Rules() []*Rule { return rs.rules }

// LoadRules reads and validates rule files. Rule names must be unique across
// all of them.
func LoadRules(paths ...string) (*RuleSet, error) {
	rs := &RuleSet{redactor: NewRedactor()}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read rules: %w", err)
		}
		part, err := ParseRules(p, data)
		if err != nil {
			return nil, err
		}
		if err := rs.add(part); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// ParseRules validates rules from TOML text. name is the file name used in
// error messages, which read "name:line: rule "x": what is wrong". Every
// problem found is returned, joined.
func ParseRules(name string, data []byte) (*RuleSet, error) {
	var doc struct {
		Rule      []map[string]any `toml:"rule"`
		Multiline toml.Primitive   `toml:"multiline"`
		Redact    struct {
			Patterns []string `toml:"patterns"`
		} `toml:"redact"`
	}
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		return nil, TOMLError(name, err)
	}
	var errs []error
	for _, key := range md.Undecoded() {
		if len(key) > 0 && (key[0] == "rule" || key[0] == "multiline") {
			continue // checked below, with their own decoding
		}
		errs = append(errs, fmt.Errorf("%s: unknown top-level key %q (allowed: [[rule]], [multiline] and [redact] tables)", name, key.String()))
	}
	if len(doc.Rule) > maxRules {
		errs = append(errs, fmt.Errorf("%s: %d rules, more than the maximum of %d", name, len(doc.Rule), maxRules))
		return nil, errors.Join(errs...)
	}
	pos := indexTOML(data)
	rs := &RuleSet{}
	ml, err := parseMultiline(name, &md, doc.Multiline)
	if err != nil {
		errs = append(errs, err)
	}
	rs.multiline = ml
	for i, p := range doc.Redact.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: redact.patterns[%d]: invalid pattern: %v", name, i, err))
			continue
		}
		rs.redactExtra = append(rs.redactExtra, re)
	}
	rs.redactor = NewRedactor(rs.redactExtra...)
	for i, raw := range doc.Rule {
		b := ruleBuilder{file: name, index: i, pos: pos, raw: raw}
		r := b.build()
		errs = append(errs, b.errs...)
		if r != nil {
			rs.rules = append(rs.rules, r)
		}
	}
	if len(errs) == 0 {
		if err := rs.checkNames(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i, r := range rs.rules {
		r.index = i
	}
	rs.literals = buildLiteralMatcher(rs.rules)
	rs.grams = buildGramFilter(rs.rules)
	return rs, nil
}

func (rs *RuleSet) add(part *RuleSet) error {
	if part.multiline.set {
		if rs.multiline.set {
			return fmt.Errorf("%s: multiline: already set in %s; set it in one rules file", part.multiline.file, rs.multiline.file)
		}
		rs.multiline = part.multiline
	} else if !rs.multiline.set {
		rs.multiline = part.multiline
	}
	rs.rules = append(rs.rules, part.rules...)
	rs.redactExtra = append(rs.redactExtra, part.redactExtra...)
	rs.redactor = NewRedactor(rs.redactExtra...)
	if err := rs.checkNames(); err != nil {
		return err
	}
	for i, r := range rs.rules {
		r.index = i
	}
	rs.literals = buildLiteralMatcher(rs.rules)
	rs.grams = buildGramFilter(rs.rules)
	return nil
}

func (rs *RuleSet) checkNames() error {
	seen := map[string]*Rule{}
	var errs []error
	for _, r := range rs.rules {
		if first, dup := seen[r.Name]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: rule %q: duplicate name, first defined at %s:%d",
				r.File, r.Line, r.Name, first.File, first.Line))
			continue
		}
		seen[r.Name] = r
	}
	return errors.Join(errs...)
}

// ruleKeys lists every key a [[rule]] table accepts. Keys are matched exactly:
// BurntSushi/toml would otherwise fill a field from a key that differs in case.
var ruleKeys = []string{
	"name", "description", "severity", "match", "exclude", "namespaces", "pods", "containers",
	"levels", "threshold", "window", "group_by", "cooldown", "repeat", "summary", "labels", "context",
	"kind", "for", "baseline", "min_ratio", "escalate_after", "fields", "max_alerts", "max_alerts_window",
}

// ruleBuilder turns one decoded [[rule]] table into a Rule and collects
// every problem with its position.
type ruleBuilder struct {
	file  string
	index int
	pos   *tomlPositions
	raw   map[string]any
	name  string
	errs  []error
}

func (b *ruleBuilder) fail(key, format string, args ...any) {
	rule := fmt.Sprintf("rule #%d", b.index+1)
	if b.name != "" {
		rule = fmt.Sprintf("rule %q", b.name)
	}
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	b.errs = append(b.errs, fmt.Errorf("%s:%d: %s: %s", b.file, b.pos.line(b.index, key), rule, msg))
}

func (b *ruleBuilder) build() *Rule {
	b.name, _ = b.raw["name"].(string)
	keys := make([]string, 0, len(b.raw))
	for k := range b.raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(ruleKeys, k) {
			b.fail(k, "unknown key (allowed: %s)", strings.Join(ruleKeys, ", "))
		}
	}
	r := &Rule{
		File:        b.file,
		Line:        b.pos.line(b.index, ""),
		Name:        b.str("name"),
		Description: b.str("description"),
		Exclude:     b.regexp("exclude"),
		Namespaces:  b.globs("namespaces"),
		Pods:        b.globs("pods"),
		Containers:  b.globs("containers"),
		Threshold:   b.integer("threshold", 1, 1, maxThreshold),
		Window:      b.duration("window", DefaultWindow),
		Cooldown:    b.duration("cooldown", DefaultCooldown),
		Repeat:      b.duration("repeat", DefaultRepeat),
		Context:     b.integer("context", DefaultContext, 0, maxContext),
		Labels:      b.labels(),
	}
	if r.Name == "" {
		b.fail("name", "missing; every rule needs a unique name")
	} else if strings.ContainsAny(r.Name, " \t\n\"") {
		b.fail("name", "invalid name %q: use letters, digits, dashes, dots or underscores", r.Name)
	}
	r.Severity = b.severity()
	r.Match = b.regexp("match")
	r.Levels, r.levelMask = b.levels()
	r.Kind = b.kind()
	r.EscalateAfter = b.duration("escalate_after", 0)
	r.For = b.duration("for", 0)
	r.Baseline = b.duration("baseline", 0)
	r.MinRatio = b.float("min_ratio", 0, 0, 1)
	r.MaxAlerts = b.integer("max_alerts", DefaultMaxAlerts, 0, maxThreshold)
	r.MaxAlertsWindow = b.duration("max_alerts_window", DefaultMaxAlertsWindow)
	if r.MaxAlertsWindow <= 0 {
		b.fail("max_alerts_window", "must be positive")
	}
	if r.Kind != KindVolume && r.Match == nil && b.raw["levels"] == nil && b.raw["match"] == nil {
		b.fail("match", "missing; a rule needs a match pattern, a levels selector, or both")
	}
	b.checkKind(r)
	if r.Window <= 0 {
		b.fail("window", "must be positive")
	}
	if r.Cooldown < 0 || r.Repeat < 0 {
		b.fail("cooldown", "durations must not be negative")
	}
	if r.Exclude != nil {
		r.excludePrefilter = buildPrefilter(r.Exclude.String())
	}
	if r.Match != nil {
		r.named = slices.ContainsFunc(r.Match.SubexpNames(), func(s string) bool { return s != "" })
		r.prefilter = buildPrefilter(r.Match.String())
	}
	r.conditions = b.fieldConditions()
	r.GroupBy = b.groupBy(r.Match)
	r.needFields = r.Kind != KindVolume
	r.keyFromSource = !slices.ContainsFunc(r.GroupBy, func(f string) bool {
		return !slices.Contains([]string{"namespace", "pod", "container", "node", "stream", "file"}, f)
	})
	r.Summary, r.summary = b.summary(r.Match, r.Description)
	r.labelTemplates = b.labelTemplates(r.Match, r.Labels)
	r.usesFields = len(r.conditions) > 0 || slices.ContainsFunc(r.GroupBy, isParsedField) ||
		(r.summary != nil && slices.Contains(templateFields(r.summary), "fields"))
	for _, tmpl := range r.labelTemplates {
		r.usesFields = r.usesFields || slices.Contains(templateFields(tmpl), "fields")
	}
	if len(b.errs) > 0 {
		return nil
	}
	return r
}

func (b *ruleBuilder) kind() string {
	k := b.str("kind")
	switch k {
	case "":
		return KindMatch
	case KindMatch, KindAbsent, KindVolume:
		return k
	}
	b.fail("kind", "unknown kind %q (allowed: match, absent, volume)", k)
	return KindMatch
}

// checkKind validates the keys that belong to one kind only.
func (b *ruleBuilder) checkKind(r *Rule) {
	only := func(key string, kinds ...string) {
		if _, set := b.raw[key]; set && !slices.Contains(kinds, r.Kind) {
			b.fail(key, "only applies to rules of kind %s", strings.Join(kinds, " or "))
		}
	}
	only("for", KindAbsent, KindVolume)
	only("baseline", KindVolume)
	only("min_ratio", KindVolume)
	only("threshold", KindMatch)
	switch r.Kind {
	case KindAbsent:
		if r.For <= 0 {
			b.fail("for", "missing; an absent rule needs the time without a match after which it fires, e.g. \"24h\"")
		}
	case KindVolume:
		if r.For <= 0 && r.MinRatio == 0 {
			b.fail("for", "missing; a volume rule needs for (silence) or min_ratio with baseline (rate drop)")
		}
		if r.MinRatio > 0 && r.Baseline <= r.Window {
			b.fail("baseline", "must be longer than window (%s) when min_ratio is set", FormatDuration(r.Window))
		}
	}
	if r.EscalateAfter < 0 || r.For < 0 || r.Baseline < 0 {
		b.fail("", "durations must not be negative")
	}
}

func (b *ruleBuilder) float(key string, def, lo, hi float64) float64 {
	v, ok := b.raw[key]
	if !ok {
		return def
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int64:
		f = float64(n)
	default:
		b.fail(key, "must be a number, not %s", tomlType(v))
		return def
	}
	if f < lo || f > hi {
		b.fail(key, "%g is out of range (allowed: %g to %g)", f, lo, hi)
		return def
	}
	return f
}

func (b *ruleBuilder) str(key string) string {
	v, ok := b.raw[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		b.fail(key, "must be a string, not %s", tomlType(v))
	}
	return s
}

func (b *ruleBuilder) strings(key string) []string {
	v, ok := b.raw[key]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		b.fail(key, "must be a list of strings, not %s", tomlType(v))
		return nil
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			b.fail(key, "must be a list of strings, but has %s %v", tomlType(item), item)
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (b *ruleBuilder) integer(key string, def, lo, hi int) int {
	v, ok := b.raw[key]
	if !ok {
		return def
	}
	n, ok := v.(int64)
	if !ok {
		b.fail(key, "must be an integer, not %s", tomlType(v))
		return def
	}
	if n < int64(lo) || n > int64(hi) {
		b.fail(key, "%d is out of range (allowed: %d to %d)", n, lo, hi)
		return def
	}
	return int(n)
}

func (b *ruleBuilder) duration(key string, def time.Duration) time.Duration {
	v, ok := b.raw[key]
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		b.fail(key, `must be a duration string such as "10m" or "24h", not %s %v`, tomlType(v), v)
		return def
	}
	d, err := ParseDuration(s)
	if err != nil {
		b.fail(key, "%v", err)
		return def
	}
	return d
}

func (b *ruleBuilder) regexp(key string) *regexp.Regexp {
	s := b.str(key)
	if s == "" {
		if _, present := b.raw[key]; present {
			b.fail(key, "must not be empty")
		}
		return nil
	}
	if len(s) > maxPattern {
		b.fail(key, "pattern is %d bytes, more than the maximum of %d", len(s), maxPattern)
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		b.fail(key, "invalid %s pattern: %v", key, err)
		return nil
	}
	return re
}

func (b *ruleBuilder) globs(key string) []string {
	list := b.strings(key)
	for _, g := range list {
		if _, err := path.Match(g, ""); err != nil {
			b.fail(key, "invalid glob %q: %v", g, err)
		}
	}
	return list
}

func (b *ruleBuilder) severity() Severity {
	s := b.str("severity")
	if s == "" {
		b.fail("severity", "missing (allowed: critical, warning, info)")
		return 0
	}
	sev, err := ParseSeverity(s)
	if err != nil {
		b.fail("severity", "%v", err)
	}
	return sev
}

func (b *ruleBuilder) levels() ([]Level, uint8) {
	var out []Level
	var mask uint8
	for _, name := range b.strings("levels") {
		l := parseLevelName([]byte(name))
		if l == LevelUnknown || levelNames[l] != name {
			b.fail("levels", "unknown level %q (allowed: debug, info, warning, error, fatal)", name)
			continue
		}
		out = append(out, l)
		mask |= 1 << l
	}
	return out, mask
}

func (b *ruleBuilder) labels() map[string]string {
	v, ok := b.raw["labels"]
	if !ok {
		return nil
	}
	table, ok := v.(map[string]any)
	if !ok {
		b.fail("labels", "must be a table of strings, not %s", tomlType(v))
		return nil
	}
	out := make(map[string]string, len(table))
	for k, item := range table {
		s, ok := item.(string)
		if !ok {
			b.fail("labels."+k, "must be a string, not %s", tomlType(item))
			continue
		}
		if !labelName.MatchString(k) {
			b.fail("labels."+k, "invalid label name %q (allowed: letters, digits and underscores, not starting with a digit)", k)
			continue
		}
		out[k] = s
	}
	return out
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// fieldNames returns the fields a rule's lines carry: the metadata fields and
// the named groups of its pattern.
func (b *ruleBuilder) fieldNames(match *regexp.Regexp) []string {
	names := slices.Clone(metadataFields)
	if match == nil {
		return names
	}
	for _, n := range match.SubexpNames() {
		if n == "" {
			continue
		}
		if slices.Contains(metadataFields, n) {
			b.fail("match", "named group %q has the name of a metadata field; rename it", n)
			continue
		}
		names = append(names, n)
	}
	return names
}

func (b *ruleBuilder) groupBy(match *regexp.Regexp) []string {
	if _, ok := b.raw["group_by"]; !ok {
		return DefaultGroupBy
	}
	fields := b.fieldNames(match)
	list := b.strings("group_by")
	for _, f := range list {
		if !slices.Contains(fields, f) && !isParsedField(f) {
			b.fail("group_by", "unknown field %q (allowed: %s, or fields.<key> for a parsed field)", f, strings.Join(fields, ", "))
		}
	}
	return list
}

// isParsedField reports whether a group_by name refers to a parsed field.
func isParsedField(name string) bool {
	return strings.HasPrefix(name, "fields.") && len(name) > len("fields.")
}

func (b *ruleBuilder) summary(match *regexp.Regexp, description string) (string, *template.Template) {
	text := b.str("summary")
	if text == "" {
		text = description
	}
	if text == "" {
		text = "{{.message}}"
	}
	tmpl, err := template.New(b.name).Option("missingkey=zero").Parse(text)
	if err != nil {
		b.fail("summary", "invalid template: %v", err)
		return text, nil
	}
	b.checkTemplateFields("summary", tmpl, match)
	return text, tmpl
}

// checkTemplateFields fails on {{.name}} references to fields no line has.
func (b *ruleBuilder) checkTemplateFields(key string, tmpl *template.Template, match *regexp.Regexp) {
	fields := b.fieldNames(match)
	for _, f := range templateFields(tmpl) {
		if !slices.Contains(fields, f) && f != "fields" {
			b.fail(key, "unknown field {{.%s}} (allowed: %s, or {{.fields.<key>}} for a parsed field)", f, strings.Join(fields, ", "))
		}
	}
}

// labelTemplates compiles the label values that are templates.
func (b *ruleBuilder) labelTemplates(match *regexp.Regexp, labels map[string]string) map[string]*template.Template {
	var out map[string]*template.Template
	for k, v := range labels {
		if !strings.Contains(v, "{{") {
			continue
		}
		tmpl, err := template.New(k).Option("missingkey=zero").Parse(v)
		if err != nil {
			b.fail("labels."+k, "invalid template: %v", err)
			continue
		}
		b.checkTemplateFields("labels."+k, tmpl, match)
		if out == nil {
			out = map[string]*template.Template{}
		}
		out[k] = tmpl
	}
	return out
}

var fieldOps = []string{"equals", "match", "exists", "gt", "gte", "lt", "lte"}

// fieldConditions reads the fields table: key = "text" tests equality, and
// key = { op = value } applies one of fieldOps.
func (b *ruleBuilder) fieldConditions() []fieldCondition {
	v, ok := b.raw["fields"]
	if !ok {
		return nil
	}
	table, ok := v.(map[string]any)
	if !ok {
		b.fail("fields", "must be a table of field tests, not %s", tomlType(v))
		return nil
	}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []fieldCondition
	for _, k := range keys {
		where := "fields." + k
		switch test := table[k].(type) {
		case string:
			out = append(out, fieldCondition{key: k, op: "equals", text: test})
		case map[string]any:
			if len(test) != 1 {
				b.fail(where, "needs exactly one test (allowed: %s)", strings.Join(fieldOps, ", "))
				continue
			}
			for op, arg := range test {
				if c, err := newFieldCondition(k, op, arg); err != nil {
					b.fail(where, "%v", err)
				} else {
					out = append(out, c)
				}
			}
		default:
			b.fail(where, "must be a string or a table such as { match = \"...\" }, not %s", tomlType(test))
		}
	}
	return out
}

func newFieldCondition(key, op string, arg any) (fieldCondition, error) {
	c := fieldCondition{key: key, op: op}
	switch op {
	case "equals", "match":
		s, ok := arg.(string)
		if !ok {
			return c, fmt.Errorf("%s needs a string, not %s", op, tomlType(arg))
		}
		c.text = s
		if op == "match" {
			re, err := regexp.Compile(s)
			if err != nil {
				return c, fmt.Errorf("invalid match pattern: %v", err)
			}
			c.re = re
		}
	case "exists":
		v, ok := arg.(bool)
		if !ok {
			return c, fmt.Errorf("exists needs true or false, not %s", tomlType(arg))
		}
		c.exists = v
	case "gt", "gte", "lt", "lte":
		switch n := arg.(type) {
		case int64:
			c.number = float64(n)
		case float64:
			c.number = n
		case string:
			d, err := ParseDuration(n)
			if err != nil {
				return c, fmt.Errorf("%s needs a number or a duration: %v", op, err)
			}
			c.number = d.Seconds()
		default:
			return c, fmt.Errorf("%s needs a number or a duration string, not %s", op, tomlType(arg))
		}
	default:
		return c, fmt.Errorf("unknown test %q (allowed: %s)", op, strings.Join(fieldOps, ", "))
	}
	return c, nil
}

// ParseDuration reads a Go duration such as "90s", "10m" or "24h", and also
// whole days written with a "d" unit before the rest, such as "7d" or "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	days := time.Duration(0)
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n := 0
		for _, c := range s[:i] {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("invalid duration %q (use units ns, us, ms, s, m, h or d, e.g. \"10m\", \"24h\", \"7d\")", s)
			}
			n = n*10 + int(c-'0')
		}
		days, rest = time.Duration(n)*24*time.Hour, s[i+1:]
		if rest == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use units ns, us, ms, s, m, h or d, e.g. \"10m\", \"24h\", \"7d\")", s)
	}
	return days + d, nil
}

// Duration is a time.Duration read from a TOML string such as "90s", "10m"
// or "30d". Integers are rejected, because TOML has no unit for them and a
// bare number would otherwise be taken as nanoseconds.
type Duration time.Duration

// UnmarshalText reads a duration with the units ns, us, ms, s, m, h and d.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String writes whole days as "30d" and other values in Go's notation.
func (d Duration) String() string {
	const day = 24 * time.Hour
	if v := time.Duration(d); v > 0 && v%day == 0 {
		return fmt.Sprintf("%dd", v/day)
	}
	return time.Duration(d).String()
}

// TOMLError words a decoding error of a TOML file as "name:line: invalid
// TOML: what is wrong" when it carries a position, as syntax errors and
// duplicate keys do.
func TOMLError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: invalid TOML: %s", name, pe.Position.Line, pe.Message)
	}
	return fmt.Errorf("%s: invalid TOML: %w", name, err)
}

// FormatDuration writes d the way rules files do: "90s", "10m", "24h", "2d",
// or "1h30m" when it is not a whole number of a larger unit.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return strings.TrimSuffix(d.String(), "0s")
	}
	return d.String()
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
