package follow

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTailerWaitsForMissingRoot scans a log root that does not exist three
// times, then once after it was created. The scans run on the test's
// goroutine, so that their number is exact.
func TestTailerWaitsForMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pods")
	var logs lockedBuffer
	tl, err := NewTailer(Options{Root: root, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Registerer: prometheus.NewRegistry()}, NewPositions(nil, false))
	if err != nil {
		t.Fatal(err)
	}
	tl.watcher = newDirWatcher(tl.log, tl.metrics)
	defer tl.watcher.close()
	for range 3 {
		tl.scanAll(context.Background())
	}
	text := logs.String()
	if n := strings.Count(text, "level=WARN msg=\"log root does not exist yet"); n != 1 {
		t.Errorf("the missing log root was logged %d times at WARN, want once:\n%s", n, text)
	}
	if strings.Contains(text, "inotify") {
		t.Errorf("a missing log root was logged as an inotify failure:\n%s", text)
	}
	if got := testutil.ToFloat64(tl.metrics.watchFailures); got != 0 {
		t.Errorf("watch failures = %v, want 0 for a folder that does not exist", got)
	}
	if got := len(tl.watcher.polledDirs()); got != 0 {
		t.Errorf("%d folders polled, want none", got)
	}

	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	tl.scanAll(context.Background())
	if !strings.Contains(logs.String(), "level=INFO msg=\"log root appeared\"") {
		t.Errorf("the log root's creation was not logged at INFO:\n%s", logs.String())
	}
	if tl.watcher.w != nil && !tl.watcher.watched[root] {
		t.Error("the log root is not watched once it exists")
	}
}

// TestFollowerCreatesUnreadSeries checks that every reason's series of
// klaxon_follow_unread_bytes_total exists at 0 once a file is followed, so
// that increase() counts the first loss.
func TestFollowerCreatesUnreadSeries(t *testing.T) {
	root := t.TempDir()
	reg := prometheus.NewRegistry()
	c := newCollector(NewPositions(nil, false))
	runTailer(t, Options{Root: root, Registerer: reg}, c)
	path := podLog(root, "kube-system", "etcd-0", "etcd")
	waitTexts(t, c, path, newLogWriter(t, path).write(2))

	expected := `
# HELP klaxon_follow_unread_bytes_total Bytes of followed files that could not be read, by namespace, container and reason. For files rotated away before they were read, the bytes known when they were last read.
# TYPE klaxon_follow_unread_bytes_total counter
klaxon_follow_unread_bytes_total{container="etcd",namespace="kube-system",reason="gzip_error"} 0
klaxon_follow_unread_bytes_total{container="etcd",namespace="kube-system",reason="rotated_away"} 0
klaxon_follow_unread_bytes_total{container="etcd",namespace="kube-system",reason="torn_line"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected), "klaxon_follow_unread_bytes_total"); err != nil {
		t.Error(err)
	}
}
