package scanner

import (
	"fmt"
	"time"
)

// Defaults of the per-rule alert limit.
const (
	DefaultMaxAlerts       = 20
	DefaultMaxAlertsWindow = 5 * time.Minute
)

// stormState limits how many alerts one rule raises per window. A rule that
// suddenly matches every line of many groups (a crash loop, a pattern that
// is too wide) would otherwise send one alert per group.
type stormState struct {
	windowStart time.Time
	sent        int
	merged      int // alerts held back in this window
	lines       int // matching lines those alerts covered
	first, last time.Time
	namespaces  map[string]bool
}

// admit reports whether an alert of rule r at time t may go out. When it may
// not, the alert is counted into the window's summary.
func (e *Engine) admit(r *Rule, a *Alert, t time.Time) bool {
	if r.MaxAlerts <= 0 || a.Resolved {
		return true
	}
	s := e.storms[r.index]
	if s == nil {
		s = &stormState{windowStart: t}
		e.storms[r.index] = s
	}
	if t.Sub(s.windowStart) >= r.MaxAlertsWindow {
		e.flushStorm(r, s, t)
		s.windowStart = t
	}
	if s.sent < r.MaxAlerts {
		s.sent++
		return true
	}
	if s.merged == 0 {
		s.first, s.namespaces = a.FirstSeen, map[string]bool{}
	}
	s.merged++
	s.lines += a.Count
	s.last = a.LastSeen
	s.namespaces[a.Namespace] = true
	e.Stats.Merged++
	return false
}

// flushStorm raises the summary of the alerts a rule held back in its
// window, and starts a new window.
func (e *Engine) flushStorm(r *Rule, s *stormState, now time.Time) {
	if s.merged > 0 {
		a := &Alert{
			Rule:     r.Name,
			Severity: r.Severity,
			Summary: fmt.Sprintf("%d more alerts of rule %s in the last %s were held back (limit %d per %s): %s",
				s.merged, r.Name, FormatDuration(now.Sub(s.windowStart).Round(time.Second)), r.MaxAlerts,
				FormatDuration(r.MaxAlertsWindow), r.Description),
			Node:      e.opts.Node,
			FirstSeen: s.first,
			LastSeen:  s.last,
			Count:     s.lines,
			Labels:    map[string]string{"merged_alerts": fmt.Sprint(s.merged)},
			GroupKey:  r.Name + "\x00storm",
			New:       s.lines,
		}
		if len(s.namespaces) == 1 {
			for ns := range s.namespaces {
				a.Namespace = ns
			}
		}
		e.Stats.Alerts++
		e.opts.Emit(a)
	}
	*s = stormState{windowStart: now}
}

// sweepStorms closes the windows that have ended.
func (e *Engine) sweepStorms(now time.Time) {
	for i, s := range e.storms {
		if s != nil {
			if r := e.rules.rules[i]; now.Sub(s.windowStart) >= r.MaxAlertsWindow {
				e.flushStorm(r, s, now)
			}
		}
	}
}
