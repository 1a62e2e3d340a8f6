package scanner

import (
	"encoding/json"
	"fmt"
	"time"
)

// snapshotVersion changes when the snapshot format does; Restore rejects
// other versions instead of misreading them.
const snapshotVersion = 1

type snapshot struct {
	Version int             `json:"version"`
	Now     time.Time       `json:"now"`
	Groups  []groupSnapshot `json:"groups"`
	Storms  []stormSnapshot `json:"storms,omitempty"`
}

// stormSnapshot is the alert-limit window of one rule.
type stormSnapshot struct {
	Rule        string          `json:"rule"`
	WindowStart time.Time       `json:"window_start"`
	Sent        int             `json:"sent"`
	Merged      int             `json:"merged"`
	Lines       int             `json:"lines"`
	First       time.Time       `json:"first"`
	Last        time.Time       `json:"last"`
	Namespaces  map[string]bool `json:"namespaces,omitempty"`
}

type groupSnapshot struct {
	Rule         string            `json:"rule"`
	Key          string            `json:"key"`
	Times        []time.Time       `json:"times,omitempty"`
	Firing       bool              `json:"firing,omitempty"`
	EpisodeStart time.Time         `json:"episode_start"`
	LastSeen     time.Time         `json:"last_seen"`
	LastNotified time.Time         `json:"last_notified"`
	Total        int               `json:"total,omitempty"`
	Pending      int               `json:"pending,omitempty"`
	Samples      []Sample          `json:"samples,omitempty"`
	Meta         lineMeta          `json:"meta"`
	Fields       map[string]string `json:"fields,omitempty"`
	Values       map[string]string `json:"values,omitempty"`
	Severity     Severity          `json:"severity"`
	Rate         *rateSnapshot     `json:"rate,omitempty"`
	SourcePath   string            `json:"source_path,omitempty"`
}

type rateSnapshot struct {
	Bucket time.Duration `json:"bucket"`
	Counts []uint32      `json:"counts"`
	Head   int           `json:"head"`
	Start  time.Time     `json:"start"`
	First  time.Time     `json:"first"`
}

// Snapshot returns the alert state of every group as JSON, so a restarted
// agent neither repeats an alert nor loses a window or cooldown.
func (e *Engine) Snapshot() ([]byte, error) {
	s := snapshot{Version: snapshotVersion, Now: e.now}
	for _, key := range e.sortedKeys() {
		g := e.groups[key]
		s.Groups = append(s.Groups, groupSnapshot{
			Rule: g.rule.Name, Key: g.key, Times: g.times, Firing: g.firing,
			EpisodeStart: g.episodeStart, LastSeen: g.lastSeen, LastNotified: g.lastNotified,
			Total: g.total, Pending: g.pending, Samples: g.samples, Meta: g.meta,
			Fields: g.fields, Values: g.values, Severity: g.severity, SourcePath: g.sourcePath,
		})
		if rt := g.rate; rt != nil {
			s.Groups[len(s.Groups)-1].Rate = &rateSnapshot{Bucket: rt.bucket, Counts: rt.counts, Head: rt.head, Start: rt.start, First: rt.first}
		}
	}
	for i, st := range e.storms {
		if st != nil {
			s.Storms = append(s.Storms, stormSnapshot{Rule: e.rules.rules[i].Name, WindowStart: st.windowStart, Sent: st.sent,
				Merged: st.merged, Lines: st.lines, First: st.first, Last: st.last, Namespaces: st.namespaces})
		}
	}
	return json.Marshal(s)
}

// Restore replaces the engine's state with a Snapshot. Groups of rules that
// no longer exist are dropped, since their alerts can no longer be raised.
func (e *Engine) Restore(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decode alert state: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("decode alert state: version %d, expected %d", s.Version, snapshotVersion)
	}
	byName := make(map[string]*Rule, len(e.rules.rules))
	for _, r := range e.rules.rules {
		byName[r.Name] = r
	}
	e.groups = map[string]*group{}
	for _, gs := range s.Groups {
		r, ok := byName[gs.Rule]
		if !ok {
			continue
		}
		g := &group{
			rule: r, key: gs.Key, times: gs.Times, firing: gs.Firing,
			episodeStart: gs.EpisodeStart, lastSeen: gs.LastSeen, lastNotified: gs.LastNotified,
			total: gs.Total, pending: gs.Pending, samples: gs.Samples, meta: gs.Meta,
			fields: gs.Fields, values: gs.Values, severity: gs.Severity, sourcePath: gs.SourcePath,
		}
		if g.severity == 0 {
			g.severity = r.Severity
		}
		if r.Kind == KindVolume {
			g.rate = newRateTracker(r, g.lastSeen)
			if rs := gs.Rate; rs != nil && rs.Bucket == g.rate.bucket && len(rs.Counts) == len(g.rate.counts) && rs.Head < len(rs.Counts) {
				g.rate = &rateTracker{bucket: rs.Bucket, counts: rs.Counts, head: rs.Head, start: rs.Start, first: rs.First}
			}
		}
		e.groups[gs.Key] = g
	}
	e.storms = make([]*stormState, len(e.rules.rules))
	for _, ss := range s.Storms {
		if r, ok := byName[ss.Rule]; ok {
			e.storms[r.index] = &stormState{windowStart: ss.WindowStart, sent: ss.Sent, merged: ss.Merged,
				lines: ss.Lines, first: ss.First, last: ss.Last, namespaces: ss.Namespaces}
		}
	}
	e.now = s.Now
	e.started = e.started || !s.Now.IsZero()
	return nil
}
