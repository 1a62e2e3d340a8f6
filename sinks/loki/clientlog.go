package loki

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/klaxon-agent/klaxon/sinks/internal/sinkhttp"
)

// Messages that loki-client-go logs from its sending goroutine, in the
// pinned version, just before it counts a batch as dropped or loses it.
const (
	msgGaveUp       = "final error sending batch"
	msgEncodeFailed = "error encoding batch"
)

// clientLogger is the go-kit logger given to the client. It passes the
// client's records to the tracker, and logs them at debug level with
// secrets removed. Retries and give-ups reach the sink's log as errors
// that the spool logs, so nothing here is logged twice at a higher level.
type clientLogger struct {
	log     *slog.Logger
	tracker *tracker
	// redact removes the sink's secrets from an error.
	redact func(error) error
}

// clientRecord is the part of a client log record that the sink reads.
type clientRecord struct {
	msg    string
	status int
	err    error
}

// Log receives one record as alternating keys and values.
func (l *clientLogger) Log(keyvals ...any) error {
	rec := parseClientRecord(keyvals)
	if rec.err != nil {
		rec.err = fmt.Errorf("push to Loki: %w", l.redact(sinkhttp.StripURL(rec.err)))
	}
	switch rec.msg {
	case msgGaveUp:
		l.tracker.gaveUp(rec.status, rec.err)
	case msgEncodeFailed:
		l.tracker.lost(rec.err)
	}
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("loki client record", "event", rec.msg, "status", rec.status, "err", rec.err)
	}
	return nil
}

func parseClientRecord(keyvals []any) clientRecord {
	var rec clientRecord
	for i := 0; i+1 < len(keyvals); i += 2 {
		value := keyvals[i+1]
		switch fmt.Sprint(keyvals[i]) {
		case "msg", "message":
			rec.msg = fmt.Sprint(value)
		case "status":
			rec.status, _ = value.(int)
		case "error":
			if err, ok := value.(error); ok {
				rec.err = err
			} else {
				rec.err = fmt.Errorf("%v", value)
			}
		}
	}
	return rec
}

// Names of the client's counters, registered in
// prometheus.DefaultRegisterer when its package is loaded.
const (
	sentEntriesMetric    = "promtail_sent_entries_total"
	droppedEntriesMetric = "promtail_dropped_entries_total"
)

// hostCounts returns a countReader for the client's counters of host.
func hostCounts(g prometheus.Gatherer, host string) countReader {
	return func() (counts, error) {
		families, gatherErr := g.Gather()
		var c counts
		found := 0
		for _, mf := range families {
			var dst *float64
			switch mf.GetName() {
			case sentEntriesMetric:
				dst = &c.sent
			case droppedEntriesMetric:
				dst = &c.dropped
			default:
				continue
			}
			for _, m := range mf.GetMetric() {
				if hasLabel(m.GetLabel(), "host", host) {
					*dst = m.GetCounter().GetValue()
					found++
				}
			}
		}
		if found != 2 {
			return counts{}, fmt.Errorf("read loki client counters for host %s: found %d of %s and %s (gather: %v)",
				host, found, sentEntriesMetric, droppedEntriesMetric, gatherErr)
		}
		return c, nil
	}
}

func hasLabel(labels []*dto.LabelPair, name, value string) bool {
	for _, lp := range labels {
		if lp.GetName() == name && lp.GetValue() == value {
			return true
		}
	}
	return false
}
