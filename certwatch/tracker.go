package certwatch

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

type sourceKind int

const (
	kindFile sourceKind = iota
	kindEndpoint
)

// sourceState is the result of the last check of one file, glob or endpoint.
type sourceState struct {
	kind  sourceKind
	certs []*Certificate // from the last check that read any
	err   error          // from the last check, nil when it succeeded
}

// activeAlert is an alert that was raised and not yet resolved.
type activeAlert struct {
	Alert *scanner.Alert `json:"alert"`
	// Cert and Sources are set for certificate conditions, Source for errors.
	Cert    *Certificate `json:"cert,omitempty"`
	Sources []string     `json:"sources,omitempty"`
	Source  string       `json:"source,omitempty"`
	Kind    sourceKind   `json:"kind"`
	Rank    int          `json:"rank"`
	// Silent marks a condition that started together with a more urgent one
	// of the same certificate. It is tracked but neither sent nor resolved.
	Silent bool `json:"silent"`
}

// tracker turns the results of checks into alerts: one per certificate and
// condition, and one per failing source, each resolved when its condition
// ends. It is not safe for concurrent use.
type tracker struct {
	thresholds Thresholds
	node       string
	sources    map[string]*sourceState
	active     map[string]*activeAlert // by GroupKey
}

func newTracker(t Thresholds, node string) *tracker {
	return &tracker{thresholds: t, node: node, sources: make(map[string]*sourceState), active: make(map[string]*activeAlert)}
}

// observe records a check of source. When the check failed without returning
// any certificate, the source keeps those of the previous check, so that a
// file or endpoint that merely cannot be read resolves no alerts.
func (t *tracker) observe(source string, kind sourceKind, certs []*Certificate, err error) {
	s := t.sources[source]
	if s == nil {
		s = &sourceState{kind: kind}
		t.sources[source] = s
	}
	if err == nil || len(certs) > 0 {
		s.certs = certs
	}
	s.err = err
}

// forget drops a source that no longer exists, such as a deleted file.
func (t *tracker) forget(source string) {
	delete(t.sources, source)
}

// certEntry is one certificate and every source where it was found.
type certEntry struct {
	cert    *Certificate
	sources []string
	current bool // not superseded in at least one source
}

// evaluate returns the alerts that start and end at now, resolutions first,
// and the certificates that are not superseded.
func (t *tracker) evaluate(now time.Time) ([]*scanner.Alert, []*Certificate) {
	entries, current := t.collect(now)
	desired := t.desired(entries, now)

	var out []*scanner.Alert
	for _, key := range slices.Sorted(maps.Keys(t.active)) {
		a := t.active[key]
		if d, ok := desired[key]; ok {
			a.Alert.LastSeen = now
			if a.Cert != nil {
				a.Sources = d.Sources
			}
			continue
		}
		delete(t.active, key)
		if !a.Silent {
			out = append(out, t.resolved(a, entries, now))
		}
	}
	return append(out, t.start(desired)...), current
}

// collect merges the certificates of all sources by fingerprint.
func (t *tracker) collect(now time.Time) (map[string]*certEntry, []*Certificate) {
	var all []*Certificate
	for _, source := range slices.Sorted(maps.Keys(t.sources)) {
		all = append(all, t.sources[source].certs...)
	}
	old := superseded(all, now)

	entries := make(map[string]*certEntry)
	var current []*Certificate
	for _, c := range all {
		e := entries[c.SHA256]
		if e == nil {
			e = &certEntry{cert: c}
			entries[c.SHA256] = e
		}
		e.sources = append(e.sources, c.Source)
		if !old[c] {
			e.current = true
			current = append(current, c)
		}
	}
	return entries, current
}

// desired returns the alerts that the state at now calls for, by GroupKey.
func (t *tracker) desired(entries map[string]*certEntry, now time.Time) map[string]*activeAlert {
	want := make(map[string]*activeAlert)
	for fp, e := range entries {
		if !e.current {
			continue
		}
		for _, cond := range t.thresholds.conditions(e.cert, now) {
			a := certAlert(cond, e.cert, e.sources, t.node, now)
			a.GroupKey = certGroupKey(cond, fp)
			want[a.GroupKey] = &activeAlert{Alert: a, Cert: e.cert, Sources: e.sources, Rank: cond.rank}
		}
	}
	for source, s := range t.sources {
		if s.err == nil {
			continue
		}
		a := errorAlert(source, s.kind, s.err, t.node, now)
		want[a.GroupKey] = &activeAlert{Alert: a, Source: source, Kind: s.kind}
	}
	return want
}

func certGroupKey(cond condition, fingerprint string) string {
	if cond.rule == RuleExpiring {
		return fmt.Sprintf("%s/%s/%s", cond.rule, Duration(cond.threshold), fingerprint)
	}
	return cond.rule + "/" + fingerprint
}

// start records the desired alerts that are not active yet and returns those
// to send. Of the conditions of one certificate that start together, only the
// most urgent is sent, and only when it is more urgent than the ones already
// sent, so a certificate found already expired raises one alert, not four.
func (t *tracker) start(desired map[string]*activeAlert) []*scanner.Alert {
	sentRank := make(map[string]int) // by fingerprint
	for _, a := range t.active {
		if a.Cert != nil && !a.Silent {
			sentRank[a.Cert.SHA256] = max(sentRank[a.Cert.SHA256], a.Rank)
		}
	}
	newRank := make(map[string]int)
	for key, a := range desired {
		if _, ok := t.active[key]; !ok && a.Cert != nil {
			newRank[a.Cert.SHA256] = max(newRank[a.Cert.SHA256], a.Rank)
		}
	}

	var out []*scanner.Alert
	for _, key := range slices.Sorted(maps.Keys(desired)) {
		if _, ok := t.active[key]; ok {
			continue
		}
		a := desired[key]
		if a.Cert != nil {
			fp := a.Cert.SHA256
			a.Silent = a.Rank < newRank[fp] || a.Rank <= sentRank[fp]
		}
		t.active[key] = a
		if !a.Silent {
			out = append(out, cloneAlert(a.Alert))
		}
	}
	return out
}

// cloneAlert returns a copy of a that shares no memory with it, because the
// tracker keeps updating its own copy while a sink may still read the one it
// was sent.
func cloneAlert(a *scanner.Alert) *scanner.Alert {
	c := *a
	c.Labels = maps.Clone(a.Labels)
	c.Lines = slices.Clone(a.Lines)
	return &c
}

// snapshot returns the active alerts as JSON.
func (t *tracker) snapshot() ([]byte, error) {
	return json.Marshal(t.active)
}

// restore replaces the active alerts with a snapshot, so that a restarted
// agent neither repeats the alerts it sent nor leaves them unresolved.
func (t *tracker) restore(data []byte) error {
	active := make(map[string]*activeAlert)
	if err := json.Unmarshal(data, &active); err != nil {
		return fmt.Errorf("decode certificate alert state: %w", err)
	}
	for key, a := range active {
		if a == nil || a.Alert == nil {
			return fmt.Errorf("decode certificate alert state: %q has no alert", key)
		}
		a.Alert.GroupKey = key // not part of the alert's JSON
	}
	t.active = active
	return nil
}
