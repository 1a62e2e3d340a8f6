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
		alerts: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_agent_alerts_total",
			Help: "Alerts raised.",
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
