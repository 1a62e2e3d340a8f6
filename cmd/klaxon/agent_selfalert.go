package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
)

// ruleSinkFailing is the rule name of the alert that a sink has failed for
// longer than self_alert_after.
const ruleSinkFailing = "klaxon-sink-failing"

// defaultSelfAlertAfter is the default of self_alert_after.
const defaultSelfAlertAfter = 10 * time.Minute

// selfCheckMax is the longest period between two checks of the sinks.
const selfCheckMax = 15 * time.Second

// sinkStats are the spool series of one sink.
type sinkStats struct {
	failures, delivered, spooled float64
}

// sinkHealth is the self-alerter's record of one sink.
type sinkHealth struct {
	last         sinkStats
	failingSince time.Time // zero while the sink delivers
	alert        *scanner.Alert
}

// selfAlerter watches the sinks' delivery metrics and sends an alert
// through the other sinks when one has failed for longer than after, and
// its resolution once the sink delivers again. A sink is failing from the
// first failed attempt seen while alerts wait in its spool, and recovers
// when it delivers an alert or its spool is empty.
type selfAlerter struct {
	gatherer prometheus.Gatherer
	sink     *serialSink
	after    time.Duration
	node     string
	log      *slog.Logger
	sinks    map[string]*sinkHealth
}

func newSelfAlerter(g prometheus.Gatherer, sink *serialSink, after time.Duration, node string, logger *slog.Logger) *selfAlerter {
	return &selfAlerter{gatherer: g, sink: sink, after: after, node: node, log: logger, sinks: map[string]*sinkHealth{}}
}

// interval returns the period of checks: a quarter of after, between
// 250 ms and selfCheckMax.
func (s *selfAlerter) interval() time.Duration {
	return min(max(s.after/4, 250*time.Millisecond), selfCheckMax)
}

// run checks the sinks until ctx ends.
func (s *selfAlerter) run(ctx context.Context, sendCtx context.Context) {
	tick := time.NewTicker(s.interval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.check(sendCtx, now)
		}
	}
}

// check compares the sinks' series with the previous check.
func (s *selfAlerter) check(ctx context.Context, now time.Time) {
	stats, err := gatherSinkStats(s.gatherer)
	if err != nil {
		s.log.Warn("cannot read the sinks' metrics for self-alerts", "err", err)
		return
	}
	// The series of a sink that a reload removed stay registered, so only
	// the open sinks count.
	open := s.sink.names()
	for name, h := range s.sinks {
		if !slices.Contains(open, name) {
			s.resolve(ctx, name, h, now, "sink removed from the config")
			delete(s.sinks, name)
		}
	}
	for _, name := range open {
		st, ok := stats[name]
		if !ok {
			continue
		}
		h, ok := s.sinks[name]
		if !ok {
			h = &sinkHealth{last: st}
			s.sinks[name] = h
		}
		switch {
		case st.delivered > h.last.delivered || st.spooled == 0:
			s.resolve(ctx, name, h, now, "sink delivers again")
			h.failingSince = time.Time{}
		case st.failures > h.last.failures && h.failingSince.IsZero():
			h.failingSince = now
		}
		h.last = st
		if !h.failingSince.IsZero() && h.alert == nil && now.Sub(h.failingSince) >= s.after {
			s.raise(ctx, name, h, now)
		}
	}
}

func (s *selfAlerter) raise(ctx context.Context, name string, h *sinkHealth, now time.Time) {
	a := &scanner.Alert{
		Rule:     ruleSinkFailing,
		Severity: scanner.SeverityCritical,
		Summary: fmt.Sprintf("sink %s has failed to deliver since %s; %.0f alerts wait in its spool",
			name, h.failingSince.UTC().Format(time.RFC3339), h.last.spooled),
		Node:      s.node,
		FirstSeen: h.failingSince,
		LastSeen:  now,
		Count:     1,
		Labels:    map[string]string{"sink": name},
		GroupKey:  ruleSinkFailing + "/" + name,
	}
	h.alert = a
	s.log.Error("sink failing; alerting through the other sinks", "sink", name, "since", h.failingSince)
	if err := s.sink.sendExcept(ctx, a, name); err != nil {
		s.log.Error("cannot deliver alert", "rule", a.Rule, "sink", name, "err", err)
	}
}

func (s *selfAlerter) resolve(ctx context.Context, name string, h *sinkHealth, now time.Time, reason string) {
	if h.alert == nil {
		return
	}
	r := *h.alert
	r.Resolved = true
	r.LastSeen = now
	r.Summary = fmt.Sprintf("sink %s: %s", name, reason)
	h.alert = nil
	s.log.Info("sink recovered", "sink", name, "reason", reason)
	if err := s.sink.sendExcept(ctx, &r, name); err != nil {
		s.log.Error("cannot deliver alert", "rule", r.Rule, "sink", name, "err", err)
	}
}

// gatherSinkStats reads the spool series of every sink from g.
func gatherSinkStats(g prometheus.Gatherer) (map[string]sinkStats, error) {
	families, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	stats := map[string]sinkStats{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := labelValue(m, "sink")
			if name == "" {
				continue
			}
			st := stats[name]
			switch f.GetName() {
			case "klaxon_sink_delivery_failures_total":
				st.failures = m.GetCounter().GetValue()
			case "klaxon_sink_alerts_delivered_total":
				st.delivered = m.GetCounter().GetValue()
			case "klaxon_sink_spool_alerts":
				st.spooled = m.GetGauge().GetValue()
			default:
				continue
			}
			stats[name] = st
		}
	}
	return stats, nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sendExcept sends a to every sink but the one called skip, ignoring the
// routes, because the alert is about the sinks themselves.
func (s *serialSink) sendExcept(ctx context.Context, a *scanner.Alert, skip string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	router, ok := s.sink.(*sinks.Router)
	if !ok {
		return s.sink.Send(ctx, a)
	}
	var errs []error
	for _, n := range router.Sinks() {
		if n.Name == skip {
			continue
		}
		if err := n.Sink.Send(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("send to sink %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// names returns the names of the open sinks.
func (s *serialSink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	router, ok := s.sink.(*sinks.Router)
	if !ok {
		return nil
	}
	var names []string
	for _, n := range router.Sinks() {
		names = append(names, n.Name)
	}
	return names
}
