package loki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
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

// streamEntry is one log entry with the labels of its stream.
type streamEntry struct {
	labels model.LabelSet
	entry  push.Entry
}

// requestBuilder groups the entries of one push request into streams.
type requestBuilder struct {
	streams map[string]*push.Stream
	order   []string
}

func (r *requestBuilder) add(items []streamEntry) {
	if r.streams == nil {
		r.streams = map[string]*push.Stream{}
	}
	for _, it := range items {
		key := it.labels.String()
		st, ok := r.streams[key]
		if !ok {
			st = &push.Stream{Labels: key}
			r.streams[key] = st
			r.order = append(r.order, key)
		}
		st.Entries = append(st.Entries, it.entry)
	}
}

func (r *requestBuilder) request() *push.PushRequest {
	req := &push.PushRequest{Streams: make([]push.Stream, 0, len(r.order))}
	for _, key := range r.order {
		req.Streams = append(req.Streams, *r.streams[key])
	}
	return req
}

// lineBytes returns the size of the entries' lines, which counts against
// BatchMaxBytes.
func lineBytes(items []streamEntry) int {
	n := 0
	for _, it := range items {
		n += len(it.entry.Line)
	}
	return n
}

// entries returns the log entries of one alert: the alert itself as a JSON
// line, and its sample lines when ForwardLines is set.
func (s *Sink) entries(e *spool.Entry) ([]streamEntry, error) {
	a := e.Alert
	line, err := alertLine(a)
	if err != nil {
		return nil, err
	}
	items := []streamEntry{{labels: s.alertLabels(a), entry: push.Entry{Timestamp: alertTime(e), Line: line}}}
	if !s.cfg.ForwardLines {
		return items, nil
	}
	labels := s.lineLabels(a)
	for _, sample := range a.Lines {
		ts := sample.Time
		if ts.IsZero() {
			ts = alertTime(e)
		}
		items = append(items, streamEntry{labels: labels, entry: push.Entry{Timestamp: ts, Line: truncate(sample.Text, maxLineBytes)}})
	}
	return items, nil
}

// alertLabels are the fixed, low-cardinality labels of an alert stream:
// nothing taken from free log text becomes a label. Empty values are left
// out because Loki treats them as absent.
func (s *Sink) alertLabels(a *scanner.Alert) model.LabelSet {
	ls := s.static.Clone()
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
func (s *Sink) lineLabels(a *scanner.Alert) model.LabelSet {
	ls := s.static.Clone()
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
