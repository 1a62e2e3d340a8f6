package loki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// Values of the job label.
const (
	jobAlerts = "klaxon"
	jobLines  = "klaxon-lines"
)

// maxLineBytes keeps each pushed line under Loki's default max_line_size
// of 256KB, above which Loki drops the line.
const maxLineBytes = 200 << 10

const truncatedMarker = "…[truncated]"

// streamEntry is one log entry with the labels of its stream, as it is
// handed to the client.
type streamEntry struct {
	labels model.LabelSet
	time   time.Time
	line   string
}

// entryBuilder turns spooled alerts into log entries.
type entryBuilder struct {
	// static are the configured labels of every stream.
	static       model.LabelSet
	forwardLines bool
}

func newEntryBuilder(cfg Config) *entryBuilder {
	b := &entryBuilder{static: model.LabelSet{}, forwardLines: cfg.ForwardLines}
	for name, value := range cfg.Labels {
		b.static[model.LabelName(name)] = model.LabelValue(value)
	}
	return b
}

// entries returns the log entries of one alert: the alert itself as a JSON
// line, and its sample lines when ForwardLines is set.
func (b *entryBuilder) entries(e *spool.Entry) ([]streamEntry, error) {
	a := e.Alert
	line, err := alertLine(a)
	if err != nil {
		return nil, err
	}
	items := []streamEntry{{labels: b.alertLabels(a), time: alertTime(e), line: line}}
	if !b.forwardLines {
		return items, nil
	}
	labels := b.lineLabels(a)
	for _, sample := range a.Lines {
		ts := sample.Time
		if ts.IsZero() {
			ts = alertTime(e)
		}
		items = append(items, streamEntry{labels: labels, time: ts, line: truncate(sample.Text, maxLineBytes)})
	}
	return items, nil
}

// alertLabels are the fixed, low-cardinality labels of an alert stream:
// nothing taken from free log text becomes a label. Empty values are left
// out because Loki treats them as absent.
func (b *entryBuilder) alertLabels(a *scanner.Alert) model.LabelSet {
	ls := b.static.Clone()
	ls["job"] = jobAlerts
	setLabel(ls, "rule", a.Rule)
	setLabel(ls, "severity", a.Severity.String())
	setLabel(ls, "namespace", a.Namespace)
	setLabel(ls, "node", a.Node)
	return ls
}

// lineLabels are the labels of the stream that holds an alert's sample
// lines. The pod name is left out, because each new pod would make a new
// stream; it is in the alert's JSON line.
func (b *entryBuilder) lineLabels(a *scanner.Alert) model.LabelSet {
	ls := b.static.Clone()
	ls["job"] = jobLines
	setLabel(ls, "rule", a.Rule)
	setLabel(ls, "namespace", a.Namespace)
	setLabel(ls, "node", a.Node)
	setLabel(ls, "container", a.Container)
	return ls
}

func setLabel(ls model.LabelSet, name, value string) {
	if value == "" {
		return
	}
	value = strings.ToValidUTF8(value, "\uFFFD")
	ls[model.LabelName(name)] = model.LabelValue(truncate(value, maxLabelValue))
}

// alertTime is the timestamp of an alert's entry: the time of the last
// matching line, taken from the log itself. A resent alert then carries the
// same timestamp and line, which Loki stores only once.
func alertTime(e *spool.Entry) time.Time {
	switch {
	case !e.Alert.LastSeen.IsZero():
		return e.Alert.LastSeen
	case !e.Alert.FirstSeen.IsZero():
		return e.Alert.FirstSeen
	}
	return e.Queued
}

// alertLine encodes an alert as the stdout sink does: JSON without HTML
// escaping, with empty lists and maps written as [] and {}. When the line
// would exceed maxLineBytes, the summary and the sample texts are cut until
// it fits.
func alertLine(a *scanner.Alert) (string, error) {
	out := *a
	if out.Lines == nil {
		out.Lines = []scanner.Sample{}
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	line, err := encodeJSON(&out)
	for limit := 64 << 10; err == nil && len(line) > maxLineBytes && limit >= 64; limit /= 2 {
		out.Summary = truncate(a.Summary, limit)
		out.Lines = truncateSamples(a.Lines, limit)
		line, err = encodeJSON(&out)
	}
	return line, err
}

func encodeJSON(a *scanner.Alert) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return "", fmt.Errorf("encode alert: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func truncateSamples(samples []scanner.Sample, limit int) []scanner.Sample {
	out := make([]scanner.Sample, len(samples))
	for i, s := range samples {
		out[i] = scanner.Sample{Time: s.Time, Text: truncate(s.Text, limit)}
		for _, c := range s.Context {
			out[i].Context = append(out[i].Context, truncate(c, limit))
		}
	}
	return out
}

// truncate cuts s to at most limit bytes on a rune boundary, ending it
// with a marker when it cut anything.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := max(0, limit-len(truncatedMarker))
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMarker
}
