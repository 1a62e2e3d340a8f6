package follow

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Values of the reason label of klaxon_follow_unread_bytes_total.
const (
	reasonRotatedAway = "rotated_away" // the file was deleted or truncated before it was read
	reasonTornLine    = "torn_line"    // an unterminated last line too long to pass on
	reasonGzipError   = "gzip_error"   // a compressed rotation that does not decompress
)

// unreadReasons lists every value of the reason label of
// klaxon_follow_unread_bytes_total.
var unreadReasons = [...]string{reasonRotatedAway, reasonTornLine, reasonGzipError}

// Values of the kind label of klaxon_follow_rotations_total.
const (
	rotationRename   = "rename"
	rotationTruncate = "truncate"
)

type metrics struct {
	files         prometheus.Gauge
	lines         *prometheus.CounterVec
	bytes         *prometheus.CounterVec
	rotations     *prometheus.CounterVec
	unreadBytes   *prometheus.CounterVec
	watchFailures prometheus.Counter
	polledDirs    prometheus.Gauge
	readErrors    prometheus.Counter
	deferred      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		files: f.NewGauge(prometheus.GaugeOpts{
			Name: "klaxon_follow_open_files",
			Help: "Files being followed, each with an open descriptor.",
		}),
		lines: f.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_follow_lines_total",
			Help: "Physical lines read from followed files, by namespace (empty for extra files).",
		}, []string{"namespace"}),
		bytes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_follow_read_bytes_total",
			Help: "Bytes read from followed files, uncompressed, by namespace (empty for extra files).",
		}, []string{"namespace"}),
		rotations: f.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_follow_rotations_total",
			Help: "Rotations seen: kind is rename (or deletion) or truncate.",
		}, []string{"kind"}),
		unreadBytes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_follow_unread_bytes_total",
			Help: "Bytes of followed files that could not be read, by namespace, container and reason. " +
				"For files rotated away before they were read, the bytes known when they were last read.",
		}, []string{"namespace", "container", "reason"}),
		watchFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_follow_watch_failures_total",
			Help: "Folders whose inotify watch could not be added and that are polled instead.",
		}),
		polledDirs: f.NewGauge(prometheus.GaugeOpts{
			Name: "klaxon_follow_polled_folders",
			Help: "Folders polled for changes because inotify could not watch them.",
		}),
		readErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_follow_read_errors_total",
			Help: "Reads of a followed file that failed; the file is opened again at the next scan.",
		}),
		deferred: f.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_follow_deferred_files_total",
			Help: "Times a file was not opened because the limit of open files was reached.",
		}),
	}
	m.rotations.WithLabelValues(rotationRename)
	m.rotations.WithLabelValues(rotationTruncate)
	return m
}

// initUnread creates the unread-bytes series of a namespace and container
// at 0 for every reason, so that increase() counts the first loss too.
func (m *metrics) initUnread(labels [2]string) {
	for _, reason := range unreadReasons {
		m.unreadBytes.WithLabelValues(labels[0], labels[1], reason)
	}
}

// unread counts n bytes that could not be read.
func (m *metrics) unread(labels [2]string, reason string, n int64) {
	m.unreadBytes.WithLabelValues(labels[0], labels[1], reason).Add(float64(n))
}

// metricLabels returns the namespace and container a path belongs to, empty
// for files outside the kubelet's layout.
func metricLabels(path string) [2]string {
	src := scanner.SourceFromPath(path)
	return [2]string{src.Namespace, src.Container}
}
