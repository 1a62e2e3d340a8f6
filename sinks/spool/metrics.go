package spool

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons for dropping an alert, the values of the reason label.
const (
	reasonSpoolFull  = "spool_full"
	reasonRejected   = "rejected"
	reasonUnreadable = "unreadable"
)

// metrics are the series of one sink. The vectors are shared by every sink
// registered with the same Registerer and distinguished by the sink label.
type metrics struct {
	queued      prometheus.Counter
	delivered   prometheus.Counter
	failures    prometheus.Counter
	dropped     map[string]prometheus.Counter
	spoolAlerts prometheus.Gauge
	spoolBytes  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, sink string) (*metrics, error) {
	queued, err1 := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_sink_alerts_queued_total",
		Help: "Alerts written to the sink's spool by Send.",
	}, []string{"sink"}))
	delivered, err2 := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_sink_alerts_delivered_total",
		Help: "Alerts the sink's backend accepted.",
	}, []string{"sink"}))
	failures, err3 := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_sink_delivery_failures_total",
		Help: "Delivery attempts that failed and will be retried.",
	}, []string{"sink"}))
	dropped, err4 := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_sink_alerts_dropped_total",
		Help: "Alerts given up on, by reason: spool_full, rejected (refused for good by the backend) or unreadable (a damaged spool file).",
	}, []string{"sink", "reason"}))
	spoolAlerts, err5 := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "klaxon_sink_spool_alerts",
		Help: "Alerts waiting in the sink's spool.",
	}, []string{"sink"}))
	spoolBytes, err6 := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "klaxon_sink_spool_bytes",
		Help: "Size of the alert files in the sink's spool.",
	}, []string{"sink"}))
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return nil, err
	}

	m := &metrics{
		queued:      queued.WithLabelValues(sink),
		delivered:   delivered.WithLabelValues(sink),
		failures:    failures.WithLabelValues(sink),
		dropped:     map[string]prometheus.Counter{},
		spoolAlerts: spoolAlerts.WithLabelValues(sink),
		spoolBytes:  spoolBytes.WithLabelValues(sink),
	}
	for _, reason := range []string{reasonSpoolFull, reasonRejected, reasonUnreadable} {
		m.dropped[reason] = dropped.WithLabelValues(sink, reason)
	}
	return m, nil
}

// register registers c, or returns the collector of the same description
// that another sink registered before.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("register metric: %w", err)
	}
	return c, nil
}
