package scanner

import (
	"time"
)

// This file holds the rule kinds that fire on what stops happening: absent
// (matching lines stop for a group) and volume (a stream goes silent or its
// rate drops), and the escalation of groups that keep firing.

// touch records a line for an absent or volume rule. It returns the group.
func (e *Engine) touch(r *Rule, l *Line, submatches []int) *group {
	g := e.groupFor(r, l, submatches)
	t := l.Time
	if g.rate != nil {
		g.rate.add(t)
	}
	if t.After(g.lastSeen) {
		g.lastSeen = t
	}
	g.meta = lineMeta{Namespace: l.Source.Namespace, Pod: l.Source.Pod, Container: l.Source.Container}
	g.sourcePath = l.Source.Path
	g.total++
	if r.Kind == KindAbsent {
		g.addSample(t, l, r.Context)
	}
	if g.firing && (r.Kind == KindAbsent || !e.volumeLow(g, t)) {
		e.resolve(g, t)
	}
	return g
}

// checkQuiet fires absent and volume groups whose lines stopped or slowed,
// and sends reminders and escalations while they stay so.
func (e *Engine) checkQuiet(g *group, now time.Time) {
	r := g.rule
	if g.firing {
		if r.Kind == KindVolume && !e.volumeLow(g, now) {
			e.resolve(g, now)
			return
		}
		e.remindOrEscalate(g, now)
		return
	}
	if r.Kind == KindAbsent && now.Sub(g.lastSeen) < r.For {
		return
	}
	if r.Kind == KindVolume && !e.volumeLow(g, now) {
		return
	}
	g.firing = true
	g.episodeStart = now
	g.severity = r.Severity
	g.pending = 0
	e.notify(g, now, false)
}

// volumeLow reports whether a volume group is silent for For, or its rate
// over Window is below MinRatio of its rate over Baseline.
func (e *Engine) volumeLow(g *group, now time.Time) bool {
	r := g.rule
	if r.For > 0 && now.Sub(g.lastSeen) >= r.For {
		return true
	}
	if r.MinRatio == 0 || g.rate == nil || now.Sub(g.rate.first) < r.Baseline {
		return false
	}
	g.rate.advance(now)
	base := float64(g.rate.sum(r.Baseline)) / r.Baseline.Seconds()
	recent := float64(g.rate.sum(r.Window)) / r.Window.Seconds()
	return base > 0 && recent < r.MinRatio*base
}

// resolve ends a firing absent or volume group and raises its resolved alert.
func (e *Engine) resolve(g *group, t time.Time) {
	g.firing = false
	e.emitResolved(g, t)
	g.severity = g.rule.Severity
	g.samples = nil
}

// remindOrEscalate sends a reminder once Repeat has passed since the last
// alert, or at once when the group has fired for EscalateAfter and can
// still rise a severity.
func (e *Engine) remindOrEscalate(g *group, now time.Time) {
	if e.escalate(g, now) {
		return
	}
	if r := g.rule; r.Repeat > 0 && now.Sub(g.lastNotified) >= r.Repeat {
		e.notify(g, now, true)
	}
}

// escalate raises a group one severity for each EscalateAfter it has kept
// firing, with an alert at the new severity, and reports whether it did.
func (e *Engine) escalate(g *group, now time.Time) bool {
	r := g.rule
	if r.EscalateAfter <= 0 || g.severity >= SeverityCritical {
		return false
	}
	steps := time.Duration(g.severity - r.Severity + 1)
	if now.Sub(g.episodeStart) < r.EscalateAfter*steps {
		return false
	}
	g.severity++
	e.escalating = true
	e.notify(g, now, true)
	e.escalating = false
	return true
}

// forgetSource drops the absent and volume groups whose last line came from
// src, because a deleted pod's silence is not a failure.
func (e *Engine) forgetSource(src *Source) {
	for key, g := range e.groups {
		if g.sourcePath == src.Path && g.rule.Kind != KindMatch {
			delete(e.groups, key)
		}
	}
}

// Forget drops the absent and volume groups fed by a source that is gone for
// good, as when its pod was deleted, so they do not fire on its silence.
func (e *Engine) Forget(src *Source) { e.forgetSource(src) }

// rateTracker counts lines in fixed buckets over a rule's baseline, so a
// volume rule can compare its recent rate with its usual one in O(buckets).
type rateTracker struct {
	bucket time.Duration
	counts []uint32 // a ring; counts[head] is the bucket that starts at headStart
	head   int
	start  time.Time // start of the bucket at head
	first  time.Time // when counting began
}

// maxBuckets bounds a tracker's memory: 4096 buckets are 16 KiB per group.
const maxBuckets = 4096

func newRateTracker(r *Rule, t time.Time) *rateTracker {
	span := max(r.Baseline, r.Window)
	bucket := max(r.Window/5, time.Second)
	if n := span / bucket; n > maxBuckets {
		bucket = span / maxBuckets
	}
	n := int(span/bucket) + 1
	return &rateTracker{bucket: bucket, counts: make([]uint32, n), start: t.Truncate(bucket), first: t}
}

func (rt *rateTracker) advance(t time.Time) {
	steps := int(t.Sub(rt.start) / rt.bucket)
	if steps <= 0 {
		return
	}
	if steps >= len(rt.counts) {
		clear(rt.counts)
		rt.head = 0
		rt.start = t.Truncate(rt.bucket)
		return
	}
	for range steps {
		rt.head = (rt.head + 1) % len(rt.counts)
		rt.counts[rt.head] = 0
	}
	rt.start = rt.start.Add(time.Duration(steps) * rt.bucket)
}

func (rt *rateTracker) add(t time.Time) {
	rt.advance(t)
	if t.Before(rt.start) {
		// A line older than the current bucket counts in the bucket it belongs
		// to, when that bucket is still kept.
		back := int((rt.start.Sub(t) + rt.bucket - 1) / rt.bucket)
		if back < len(rt.counts) {
			rt.counts[(rt.head-back+len(rt.counts))%len(rt.counts)]++
		}
		return
	}
	rt.counts[rt.head]++
}

// sum counts the lines of the last d, in whole buckets.
func (rt *rateTracker) sum(d time.Duration) uint64 {
	n := min(int(d/rt.bucket), len(rt.counts))
	var total uint64
	for i := range n {
		total += uint64(rt.counts[(rt.head-i+len(rt.counts))%len(rt.counts)])
	}
	return total
}
