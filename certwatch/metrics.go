package certwatch

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons of klaxon_certificate_check_failures_total.
const (
	reasonRead      = "read"
	reasonParse     = "parse"
	reasonConnect   = "connect"
	reasonHandshake = "handshake"
)

type metrics struct {
	expiry   *prometheus.GaugeVec
	failures *prometheus.CounterVec
	// exported holds the label values set in the previous update, so that
	// the series of a certificate that is gone or superseded can be deleted.
	exported map[[2]string]bool
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "klaxon_certificate_expiry_timestamp_seconds",
			Help: "Time when the certificate expires (its NotAfter), in seconds since the Unix epoch. Superseded certificates are not exported.",
		}, []string{"source", "subject"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_certificate_check_failures_total",
			Help: "Checks of certificate files and TLS endpoints that failed, by reason: read, parse, connect or handshake.",
		}, []string{"reason"}),
		exported: make(map[[2]string]bool),
	}
	for _, reason := range []string{reasonRead, reasonParse, reasonConnect, reasonHandshake} {
		m.failures.WithLabelValues(reason)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.expiry, m.failures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register certificate metrics: %w", err)
		}
	}
	return m, nil
}

// update exports the expiry of the current certificates and deletes the
// series of the others.
func (m *metrics) update(current []*Certificate) {
	seen := make(map[[2]string]bool, len(current))
	for _, c := range current {
		labels := [2]string{c.Source, c.Subject}
		seen[labels] = true
		m.expiry.WithLabelValues(labels[:]...).Set(float64(c.NotAfter.Unix()))
	}
	for labels := range m.exported {
		if !seen[labels] {
			m.expiry.DeleteLabelValues(labels[:]...)
		}
	}
	m.exported = seen
}

func (m *metrics) countFailure(kind sourceKind, err error) {
	m.failures.WithLabelValues(failureReason(kind, err)).Inc()
}

func failureReason(kind sourceKind, err error) string {
	if kind == kindFile {
		if errors.As(err, new(*fs.PathError)) {
			return reasonRead
		}
		return reasonParse
	}
	var ee *EndpointError
	if errors.As(err, &ee) && ee.Op == OpHandshake {
		return reasonHandshake
	}
	return reasonConnect
}
