package scanner

import (
	"path"
	"slices"
	"time"
)

// maxSamples is how many matching lines an alert carries as evidence.
const maxSamples = 5

// sweepEvery is the period, in event time, of the check for episodes that
// went quiet, so their last lines are reported while the input goes on.
const sweepEvery = time.Minute

// EngineOptions configures an Engine.
type EngineOptions struct {
	// Node is the node name put on every alert.
	Node string
	// Emit receives every alert, synchronously, from Process, Advance or Flush.
	Emit func(*Alert)
	// Matched, when set, receives once every line that at least one rule
	// matched, before thresholds and grouping; the line is valid only during
	// the call.
	Matched func(l *Line)
}

// Engine applies a RuleSet to lines on event time: windows, thresholds,
// cooldowns and reminders all run on the lines' own timestamps, so replaying
// a month of logs gives the alerts the live agent would have raised.
// An Engine is not safe for concurrent use.
type Engine struct {
	rules     *RuleSet
	opts      EngineOptions
	groups    map[string]*group
	now       time.Time // the latest event time seen
	nextSweep time.Time
	key       []byte   // reused to build group keys
	cand      []uint64 // the rules whose literals the current line contains
	lower     []byte   // reused ASCII lower-case copy of a line, for folded prefilters
	started   bool
	sweepStep time.Duration
	// escalating, ending and flushing mark the alerts notify raises meanwhile.
	escalating, ending, flushing bool
	storms                       []*stormState // per rule index
	Stats                        EngineStats
}

// EngineStats counts what an Engine processed.
type EngineStats struct {
	Lines   int64
	Matches int64
	Alerts  int64
	Merged  int64 // alerts held back by a rule's max_alerts and reported in a summary
}

// NewEngine returns an engine for rs.
func NewEngine(rs *RuleSet, opts EngineOptions) *Engine {
	if opts.Emit == nil {
		opts.Emit = func(*Alert) {}
	}
	e := &Engine{rules: rs, opts: opts, groups: map[string]*group{}, sweepStep: sweepEvery,
		storms: make([]*stormState, len(rs.rules)), cand: make([]uint64, (len(rs.rules)+63)/64)}
	for _, r := range rs.rules {
		// Quiet checks must run often enough for the shortest period they watch.
		for _, d := range []time.Duration{r.For, r.Window} {
			if r.Kind != KindMatch && d > 0 {
				e.sweepStep = max(min(e.sweepStep, d/4), time.Second)
			}
		}
	}
	return e
}

// start creates the groups of absent and volume rules without group_by at
// the time of the first line, so that a line that never appears at all is
// noticed too.
func (e *Engine) start(t time.Time) {
	e.started = true
	for _, r := range e.rules.rules {
		if r.Kind == KindMatch || len(r.GroupBy) != 0 {
			continue
		}
		if _, ok := e.groups[r.Name]; ok {
			continue // restored from a snapshot
		}
		g := &group{rule: r, key: r.Name, values: map[string]string{}, severity: r.Severity, lastSeen: t}
		if r.Kind == KindVolume {
			g.rate = newRateTracker(r, t)
		}
		e.groups[g.key] = g
	}
}

// Process applies every rule to one line. Lines should come in event-time
// order; a line older than its group's newest one counts at its own time.
func (e *Engine) Process(l *Line) {
	e.Stats.Lines++
	if l.Time.After(e.now) {
		e.now = l.Time
	}
	if !e.started {
		e.start(l.Time)
	}
	src := l.Source
	if src.rulesFor != e.rules {
		e.selectRules(src)
	}
	if lm := e.rules.literals; lm != nil {
		lm.scan(l.Text, e.cand)
	}
	matched := false
	for _, r := range src.rules {
		if r.prefilter != nil && e.cand[r.index>>6]&(1<<(r.index&63)) == 0 {
			continue
		}
		if r.levelMask != 0 && r.levelMask&(1<<l.Level()) == 0 {
			continue
		}
		// Rules with named groups need the submatch positions, so they run
		// the one search that returns them instead of Match and then it.
		var submatches []int
		if r.named {
			if submatches = r.Match.FindSubmatchIndex(l.Text); submatches == nil {
				continue
			}
		} else if r.Match != nil && !r.Match.Match(l.Text) {
			continue
		}
		if r.Exclude != nil && e.mayExclude(r, l) && r.Exclude.Match(l.Text) {
			continue
		}
		if !conditionsHold(r, l) {
			continue
		}
		e.Stats.Matches++
		matched = true
		switch r.Kind {
		case KindMatch:
			e.record(r, l, submatches)
		default:
			e.touch(r, l, submatches)
		}
	}
	if matched && e.opts.Matched != nil {
		e.opts.Matched(l)
	}
	if src.history != nil {
		src.history.push(l.Text)
	}
	if !e.now.Before(e.nextSweep) {
		e.sweep(e.now)
		e.nextSweep = e.now.Add(e.sweepStep)
	}
}

// PassBy accounts for a line that no rule can match without running the
// rules: it counts the line, moves the clock and keeps the line as context.
// It returns false and changes nothing when the line needs Process, because
// it contains a rule literal, has a level that a rule without literals
// selects, or its time is due for the check of quiet groups.
func (e *Engine) PassBy(src *Source, t time.Time, text []byte) bool {
	if !e.started || !t.Before(e.nextSweep) {
		return false
	}
	if src.rulesFor != e.rules {
		e.selectRules(src)
	}
	if !src.passable {
		return false
	}
	if g := e.rules.grams; g != nil {
		if g.any(text) {
			return false
		}
	} else if lm := e.rules.literals; lm != nil {
		lm.scan(text, e.cand)
		for _, w := range e.cand {
			if w != 0 {
				return false
			}
		}
	}
	if src.passLevels != 0 && src.passLevels&(1<<detectLevel(text)) != 0 {
		return false
	}
	e.Stats.Lines++
	// The time is before the next check, so moving the clock now changes
	// no check, even ahead of other streams' lines with earlier times.
	if t.After(e.now) {
		e.now = t
	}
	if src.history != nil {
		src.history.push(text)
	}
	return true
}

// Advance moves the engine's clock to now when no line came, so groups
// that went quiet end their episode.
func (e *Engine) Advance(now time.Time) {
	if now.After(e.now) {
		e.now = now
	}
	e.sweep(now)
}

// Flush reports, at the end of input, the matching lines of firing groups
// that no alert has covered yet, and the absent and volume groups that are
// still firing.
func (e *Engine) Flush() {
	e.sweep(e.now)
	defer func() {
		for i, s := range e.storms {
			if s != nil {
				e.flushStorm(e.rules.rules[i], s, e.now)
			}
		}
	}()
	keys := e.keysByLastSeen()
	e.flushing = true
	defer func() { e.flushing = false }()
	for _, key := range keys {
		g := e.groups[key]
		switch {
		case !g.firing:
		case g.rule.Kind != KindMatch:
			e.notify(g, e.now, true)
		case g.pending > 0:
			e.notify(g, g.lastSeen, true)
		}
	}
}

// selectRules caches on src the rules whose metadata selectors accept it.
// A selector accepts a source whose field is unknown, so rules still apply
// to plain files replayed on a laptop.
func (e *Engine) selectRules(src *Source) {
	src.rules = src.rules[:0]
	src.maxContext = 0
	for _, r := range e.rules.rules {
		if globsAccept(r.Namespaces, src.Namespace) && globsAccept(r.Pods, src.Pod) &&
			globsAccept(r.Containers, src.Container) {
			src.rules = append(src.rules, r)
			src.maxContext = max(src.maxContext, r.Context)
		}
	}
	src.rulesFor = e.rules
	src.passable, src.passLevels = true, 0
	for _, r := range src.rules {
		switch {
		case r.prefilter != nil:
		case r.levelMask != 0:
			src.passLevels |= r.levelMask
		default:
			src.passable = false
		}
	}
	src.history = nil
	if src.maxContext > 0 {
		src.history = newHistory(src.maxContext)
	}
}

// mayExclude reports whether a line passes the prefilter of the rule's
// exclude pattern, so the pattern has to run.
func (e *Engine) mayExclude(r *Rule, l *Line) bool {
	p := r.excludePrefilter
	if p == nil {
		return true
	}
	if p.fold {
		e.lower = appendLower(e.lower[:0], l.Text)
	}
	return p.pass(l.Text, e.lower)
}

func conditionsHold(r *Rule, l *Line) bool {
	if len(r.conditions) == 0 {
		return true
	}
	f := l.Fields()
	for i := range r.conditions {
		if !r.conditions[i].test(f) {
			return false
		}
	}
	return true
}

func globsAccept(globs []string, value string) bool {
	if len(globs) == 0 || value == "" {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, value); ok {
			return true
		}
	}
	return false
}

// sweep ends the episodes of groups quiet for longer than their cooldown,
// and deletes idle groups whose window has passed.
func (e *Engine) sweep(now time.Time) {
	e.sweepStorms(now)
	for _, key := range e.keysByLastSeen() {
		g := e.groups[key]
		if g.rule.Kind != KindMatch {
			e.checkQuiet(g, now)
			continue
		}
		if g.firing && now.Sub(g.lastSeen) > g.rule.Cooldown {
			e.endEpisode(g)
		}
		if g.firing {
			e.escalate(g, now)
		}
		if !g.firing && now.Sub(g.lastSeen) > max(g.rule.Window, g.rule.Cooldown) {
			delete(e.groups, key)
		}
	}
}

// keysByLastSeen returns the group keys in the order the groups last saw a
// line, so alerts raised while going through them come out in time order.
func (e *Engine) keysByLastSeen() []string {
	keys := e.sortedKeys()
	slices.SortStableFunc(keys, func(a, b string) int { return e.groups[a].lastSeen.Compare(e.groups[b].lastSeen) })
	return keys
}

func appendLower(dst, src []byte) []byte {
	for _, c := range src {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// history keeps copies of the last lines of one source, for context.
type history struct {
	lines [][]byte
	next  int
	count int
}

func newHistory(n int) *history { return &history{lines: make([][]byte, n)} }

func (h *history) push(text []byte) {
	h.lines[h.next] = append(h.lines[h.next][:0], text...)
	h.next = (h.next + 1) % len(h.lines)
	h.count = min(h.count+1, len(h.lines))
}

// last returns up to n of the most recent lines, oldest first.
func (h *history) last(n int) []string {
	n = min(n, h.count)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := n; i > 0; i-- {
		idx := (h.next - i + len(h.lines)) % len(h.lines)
		out = append(out, string(h.lines[idx]))
	}
	return out
}
