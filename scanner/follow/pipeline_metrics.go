package follow

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

func newPipelineMetrics(reg prometheus.Registerer) *pipelineMetrics {
	f := promauto.With(reg)
	return &pipelineMetrics{
		lines: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_lines_total",
			Help: "Log lines, after joining partial lines, run through the rules.",
		}),
		alerts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_agent_alerts_total",
			Help: "Alerts raised by the rules, by rule and severity.",
		}, []string{"rule", "severity"}),
		merged: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_alerts_merged_total",
			Help: "Alerts held back by a rule's max_alerts and counted into its summary alert instead.",
		}),
		truncated: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_lines_truncated_total",
			Help: "Lines cut to the maximum line size before the rules saw them.",
		}),
		malformed: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_lines_malformed_total",
			Help: "Lines of a CRI or Docker log that did not parse and were read as plain text.",
		}),
		queued: f.NewGauge(prometheus.GaugeOpts{
			Name: "klaxon_agent_queued_lines",
			Help: "Decoded lines waiting in the merge for the rules.",
		}),
		deliveryFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_alert_delivery_failures_total",
			Help: "Alerts that no sink accepted.",
		}),
		saves: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_state_saves_total",
			Help: "Saves of the positions and alert state.",
		}),
		saveFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_state_save_failures_total",
			Help: "Failed saves of the positions and alert state.",
		}),
		lag: f.NewGauge(prometheus.GaugeOpts{
			Name: "klaxon_agent_lag_seconds",
			Help: "Age of the last line run through the rules, by its own timestamp.",
		}),
	}
}
