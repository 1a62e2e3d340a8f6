package scanner

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// group is the alert state of one rule for one combination of group_by
// values. It is idle until threshold matches fall within the window; then an
// episode starts and lasts until the group has been quiet for the cooldown.
type group struct {
	rule *Rule
	key  string

	// times holds the latest match times in order, at most threshold of
	// them, so the threshold test is: the oldest kept is within the window of
	// the newest.
	times []time.Time

	firing       bool
	episodeStart time.Time
	lastSeen     time.Time
	lastNotified time.Time
	total        int // matches in this episode
	pending      int // matches since the last alert

	samples  []Sample
	meta     lineMeta
	fields   map[string]string // fields of the latest match, for the summary
	values   map[string]string // the group_by values
	severity Severity          // the rule's, raised by escalation
	rate     *rateTracker      // volume rules only
	// sourcePath names the file of the latest line; a path, unlike the
	// Source, survives a snapshot, so Forget works after a restart.
	sourcePath string
}

// lineMeta is the metadata of the latest matching line of a group.
type lineMeta struct {
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
}

// groupFor returns the group a line belongs to, creating it on first use.
func (e *Engine) groupFor(r *Rule, l *Line, submatches []int) *group {
	e.key = append(e.key[:0], r.Name...)
	var fields map[string]string
	if r.needFields || !r.keyFromSource {
		fields = lineFields(r, l, submatches, e.opts.Node)
		for _, f := range r.GroupBy {
			e.key = append(e.key, 0)
			e.key = append(e.key, fields[f]...)
		}
	} else {
		// Volume rules see every line: build the key from the source alone
		// so that counting a line allocates nothing.
		for _, f := range r.GroupBy {
			e.key = append(e.key, 0)
			e.key = append(e.key, sourceField(l, f, e.opts.Node)...)
		}
	}
	g, ok := e.groups[string(e.key)]
	if !ok {
		if fields == nil {
			fields = lineFields(r, l, submatches, e.opts.Node)
		}
		g = &group{rule: r, key: string(e.key), values: groupValues(r, fields), severity: r.Severity}
		if r.Kind == KindVolume {
			g.rate = newRateTracker(r, l.Time)
		}
		e.groups[g.key] = g
	}
	if fields != nil {
		g.fields = fields
	}
	return g
}

// record adds one matching line of a match rule to its group and raises
// the alerts it causes.
func (e *Engine) record(r *Rule, l *Line, submatches []int) {
	g := e.groupFor(r, l, submatches)
	t := l.Time
	if g.firing && t.Sub(g.lastSeen) > r.Cooldown {
		e.endEpisode(g)
	}
	if t.After(g.lastSeen) {
		g.lastSeen = t
	}
	g.meta = lineMeta{Namespace: l.Source.Namespace, Pod: l.Source.Pod, Container: l.Source.Container}
	g.sourcePath = l.Source.Path
	g.addSample(t, l, r.Context)

	if g.firing {
		g.total++
		g.pending++
		e.remindOrEscalate(g, t)
		return
	}
	// Keep the latest threshold times sorted, because lines can arrive out
	// of order when files interleave or a clock is corrected.
	i, _ := slices.BinarySearchFunc(g.times, t, time.Time.Compare)
	g.times = slices.Insert(g.times, i, t)
	if len(g.times) > r.Threshold {
		g.times = g.times[1:]
	}
	if len(g.times) < r.Threshold || g.times[len(g.times)-1].Sub(g.times[0]) > r.Window {
		return
	}
	g.firing = true
	g.severity = r.Severity
	g.episodeStart = g.times[0]
	g.total, g.pending = len(g.times), len(g.times)
	g.times = g.times[:0]
	g.dropSamplesBefore(g.episodeStart)
	e.notify(g, t, false)
}

// endEpisode closes a group's episode. Matches that came after its last
// alert are reported first, so a burst that ends inside the cooldown is
// still counted in full.
func (e *Engine) endEpisode(g *group) {
	if g.pending > 0 {
		e.ending = true
		e.notify(g, g.lastSeen, true)
		e.ending = false
	}
	g.firing = false
	g.total, g.pending = 0, 0
	g.samples = nil
	g.lastNotified = time.Time{}
	g.severity = g.rule.Severity
}

// notify raises an alert for a firing group at time t.
func (e *Engine) notify(g *group, t time.Time, reminder bool) {
	a := e.newAlert(g)
	a.Reminder = reminder
	a.Escalated = e.escalating
	a.Final = e.flushing
	a.Ended = e.ending
	a.New = g.pending
	a.PreviousAt = g.lastNotified
	g.lastNotified = t
	g.pending = 0
	g.samples = nil
	if !e.admit(g.rule, a, t) {
		return
	}
	e.Stats.Alerts++
	e.opts.Emit(a)
}

// emitResolved raises the alert that a firing group's condition ended at t.
func (e *Engine) emitResolved(g *group, t time.Time) {
	a := e.newAlert(g)
	a.Resolved = true
	a.LastSeen = t
	a.PreviousAt = g.lastNotified
	a.Summary = "resolved: " + a.Summary
	g.lastNotified = time.Time{}
	g.total, g.pending = 0, 0
	e.Stats.Alerts++
	e.opts.Emit(a)
}

// newAlert builds an alert from a group's state. Every text that came from
// a log line passes through the redactor.
func (e *Engine) newAlert(g *group) *Alert {
	r := g.rule
	red := e.rules.redactor
	labels := make(map[string]string, len(r.Labels)+len(g.values))
	maps.Copy(labels, r.Labels)
	maps.DeleteFunc(labels, func(_, v string) bool { return v == "" })
	// A label whose value is empty, from a named group that took no part in
	// the match, is left out rather than sent as "".
	for k, tmpl := range r.labelTemplates {
		if v := renderSummary(tmpl, r.Labels[k], g.fields); v != "" {
			labels[k] = red.Redact(v)
		} else {
			delete(labels, k)
		}
	}
	for k, v := range g.values {
		if v != "" {
			labels[k] = red.Redact(v)
		}
	}
	samples := make([]Sample, len(g.samples))
	for i, s := range g.samples {
		samples[i] = Sample{Time: s.Time, Text: red.Redact(s.Text)}
		for _, c := range s.Context {
			samples[i].Context = append(samples[i].Context, red.Redact(c))
		}
	}
	return &Alert{
		Rule:      r.Name,
		Severity:  g.severity,
		Summary:   red.Redact(renderSummary(r.summary, r.Summary, g.fields)),
		Namespace: g.meta.Namespace,
		Pod:       g.meta.Pod,
		Container: g.meta.Container,
		Node:      e.opts.Node,
		FirstSeen: g.episodeStart,
		LastSeen:  g.lastSeen,
		Count:     g.total,
		Lines:     samples,
		Labels:    labels,
		GroupKey:  g.key,
	}
}

// addSample keeps evidence for the next alert: the first matches since the
// last alert, and always the latest one in the last slot.
func (g *group) addSample(t time.Time, l *Line, context int) {
	s := Sample{Time: t, Text: string(l.Text)}
	if context > 0 && l.Source.history != nil {
		s.Context = l.Source.history.last(context)
	}
	if !g.firing {
		// Before an episode, keep the latest matches: the window decides
		// which of them the first alert covers.
		g.samples = append(g.samples, s)
		if len(g.samples) > maxSamples {
			g.samples = g.samples[1:]
		}
		return
	}
	if len(g.samples) < maxSamples {
		g.samples = append(g.samples, s)
		return
	}
	g.samples[maxSamples-1] = s
}

func (g *group) dropSamplesBefore(t time.Time) {
	g.samples = slices.DeleteFunc(g.samples, func(s Sample) bool { return s.Time.Before(t) })
}

// lineFields returns the fields a summary and group_by can use: the metadata
// fields and the named groups of the match.
func lineFields(r *Rule, l *Line, submatches []int, node string) map[string]string {
	f := map[string]string{
		"namespace": l.Source.Namespace,
		"pod":       l.Source.Pod,
		"container": l.Source.Container,
		"node":      node,
		"stream":    l.Stream,
		"level":     l.Level().String(),
		"file":      l.Source.Path,
		"message":   strings.TrimSpace(string(l.Text)),
	}
	if r.usesFields {
		for k, v := range l.Fields() {
			f["fields."+k] = v
		}
	}
	if r.named {
		// Every named group gets a value, empty when it took no part in the
		// match, so a template prints nothing for it rather than "<no value>".
		for i, name := range r.Match.SubexpNames() {
			if name == "" {
				continue
			}
			f[name] = ""
			if 2*i+1 < len(submatches) && submatches[2*i] >= 0 {
				f[name] = string(l.Text[submatches[2*i]:submatches[2*i+1]])
			}
		}
	}
	return f
}

// groupValues returns the group_by values that are named groups; metadata
// values are on the alert already.
func groupValues(r *Rule, fields map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range r.GroupBy {
		if !slices.Contains(metadataFields, name) {
			out[strings.ReplaceAll(name, ".", "_")] = fields[name]
		}
	}
	return out
}

// sourceField returns a metadata field that the source and line carry.
func sourceField(l *Line, name, node string) string {
	switch name {
	case "namespace":
		return l.Source.Namespace
	case "pod":
		return l.Source.Pod
	case "container":
		return l.Source.Container
	case "node":
		return node
	case "stream":
		return l.Stream
	case "file":
		return l.Source.Path
	}
	return ""
}

func (e *Engine) sortedKeys() []string {
	keys := make([]string, 0, len(e.groups))
	for k := range e.groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
