package scanner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Severity ranks how urgently an alert needs a person.
type Severity uint8

// Severities, in increasing order of urgency.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityCritical
)

var severityNames = map[Severity]string{
	SeverityInfo:     "info",
	SeverityWarning:  "warning",
	SeverityCritical: "critical",
}

// ParseSeverity returns the severity named s: "info", "warning" or "critical".
func ParseSeverity(s string) (Severity, error) {
	for sev, name := range severityNames {
		if name == s {
			return sev, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (allowed: critical, warning, info)", s)
}

func (s Severity) String() string {
	if name, ok := severityNames[s]; ok {
		return name
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// MarshalText writes the severity's name, so JSON and TOML carry "critical" and not a number.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(text []byte) error {
	v, err := ParseSeverity(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Alert is one notification about a group of matching lines. Its exported JSON
// fields are the stable output format of `klaxon replay --output json` and of
// the sinks. The fields tagged "-" serve sinks that thread, digest or
// deduplicate.
type Alert struct {
	Rule      string            `json:"rule"`
	Severity  Severity          `json:"severity"`
	Summary   string            `json:"summary"`
	Namespace string            `json:"namespace"`
	Pod       string            `json:"pod"`
	Container string            `json:"container"`
	Node      string            `json:"node"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Count     int               `json:"count"`
	Lines     []Sample          `json:"lines"`
	Labels    map[string]string `json:"labels"`

	// GroupKey identifies the rule's group (rule name plus the group_by values);
	// every alert of one episode and its reminders share it.
	GroupKey string `json:"-"`
	// Reminder is true for a repeat of a group that is still firing.
	Reminder bool `json:"-"`
	// New counts the matching lines since the previous alert of the same episode.
	// It equals Count on the first alert of an episode.
	New int `json:"-"`
	// PreviousAt is when the previous alert of the same episode was raised,
	// zero on the first alert.
	PreviousAt time.Time `json:"-"`
	// Resolved is true when the condition behind GroupKey has ended.
	Resolved bool `json:"-"`
	// Escalated is true on the alert that raised the group's severity.
	Escalated bool `json:"-"`
	// Ended is true on the report that closes a match rule's episode: no
	// matching line came for the cooldown, and lines came after the last
	// alert.
	Ended bool `json:"-"`
	// Final is true on a replay's end-of-input report of a group that was
	// still open when the input ended.
	Final bool `json:"-"`
}

// Event names what the alert reports. The values, in order of precedence:
//   - "resolved": the condition ended;
//   - "escalated": the group's severity was raised;
//   - "ended": a match rule's episode closed after its cooldown;
//   - "final": replay's report of a group still open when the input ended;
//   - "reminder": the group is still firing;
//   - "firing": the first alert of an episode.
func (a *Alert) Event() string {
	switch {
	case a.Resolved:
		return "resolved"
	case a.Escalated:
		return "escalated"
	case a.Ended:
		return "ended"
	case a.Final:
		return "final"
	case a.Reminder:
		return "reminder"
	}
	return "firing"
}

// MarshalJSON writes the exported fields and the event, so that readers of
// the JSON output can tell a first alert from a reminder or a closing report.
// HTML characters stay as they are; an encoder that escapes them escapes
// this output too.
func (a Alert) MarshalJSON() ([]byte, error) {
	type fields Alert // without this method
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		fields
		Event string `json:"event"`
	}{fields(a), a.Event()})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}

// Sample is one matching line carried as evidence, with the lines of the same
// stream that came just before it.
type Sample struct {
	Time    time.Time `json:"time"`
	Text    string    `json:"text"`
	Context []string  `json:"context,omitempty"`
}
