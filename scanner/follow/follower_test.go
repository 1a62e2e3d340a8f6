package follow

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFollowRenameRotation(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "kube-system", "coredns-1", "coredns")
	w := newLogWriter(t, path)
	want := w.write(50)
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: root}, c)
	waitTexts(t, c, path, want)

	w.rename()
	// The runtime writes to the renamed file until it reopens the log.
	want = append(want, w.write(10)...)
	w.raw("2025-03-01T10:00:05Z stdout F split ")
	w.raw("across writes\n")
	want = append(want, "split across writes")
	w.reopen()
	want = append(want, w.write(20)...)
	waitTexts(t, c, path, want)
	stop()
}

func TestFollowRestartAfterRotations(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "kube-system", "etcd-1", "etcd")
	w := newLogWriter(t, path)
	want := w.write(30)
	positions := NewPositions(nil, false)
	c := newCollector(positions)
	stop := runTailer(t, Options{Root: root}, c)
	waitTexts(t, c, path, want)
	stop()

	// While the agent is down: two rotations, the first one compressed.
	want = append(want, w.write(10)...)
	first := w.rename()
	want = append(want, w.write(5)...)
	w.reopen()
	want = append(want, w.write(20)...)
	w.rename()
	w.reopen()
	want = append(want, w.write(15)...)
	w.compress(first)

	c2 := newCollector(positions)
	c2.paths[path] = &received{texts: c.texts(path)}
	stop = runTailer(t, Options{Root: root}, c2)
	waitTexts(t, c2, path, want)
	stop()
}

func TestFollowCompressedBeforeRead(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "kube-system", "kube-proxy-1", "kube-proxy")
	w := newLogWriter(t, path)
	want := w.write(10)
	positions := NewPositions(nil, false)
	c := newCollector(positions)
	stop := runTailer(t, Options{Root: root}, c)
	waitTexts(t, c, path, want)
	stop()

	// Three rotations while the agent is down, all compressed: the saved
	// file is read from its offset inside the gzip stream.
	for range 3 {
		want = append(want, w.write(7)...)
		name := w.rename()
		w.reopen()
		w.compress(name)
	}
	want = append(want, w.write(3)...)

	c2 := newCollector(positions)
	c2.paths[path] = &received{texts: c.texts(path)}
	stop = runTailer(t, Options{Root: root}, c2)
	waitTexts(t, c2, path, want)
	stop()
}

func TestFollowCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "apiserver.log")
	w := newLogWriter(t, path)
	want := w.write(20)
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: filepath.Join(dir, "pods"), ExtraFiles: []string{filepath.Join(dir, "*.log")}}, c)
	waitTexts(t, c, path, want)

	// logrotate's copytruncate: lines written just before the copy may not
	// have been read yet; they must come from the copy.
	want = append(want, w.write(5)...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	want = append(want, w.write(10)...)
	waitTexts(t, c, path, want)
	stop()
}

func TestFollowTruncation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scheduler.log")
	w := newLogWriter(t, path)
	want := w.write(20)
	reg := prometheus.NewRegistry()
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: dir, ExtraFiles: []string{path}, Registerer: reg}, c)
	waitTexts(t, c, path, want)

	if err := w.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	// The new content outgrows the old offset before it can be checked, so
	// only the changed first bytes show the truncation.
	want = append(want, w.write(40)...)
	waitTexts(t, c, path, want)
	stop()
	if got := testutil.ToFloat64(metricVec(t, reg, "klaxon_follow_rotations_total", "truncate")); got < 1 {
		t.Errorf("truncations counted = %v, want at least 1", got)
	}
}

func TestFollowDeletedPod(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "cert-manager", "cert-manager-7d9", "controller")
	w := newLogWriter(t, path)
	want := w.write(10)
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: root}, c)
	waitTexts(t, c, path, want)

	// The last lines land just before the pod's folder is removed.
	want = append(want, w.write(5)...)
	if err := os.RemoveAll(filepath.Dir(filepath.Dir(path))); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, c, path, want)
	waitFor(t, "the follower to finish the deleted file", func() bool { return c.isDone(path) })
	if _, ok := c.positions.Get(path); ok {
		t.Error("position of the deleted file was kept")
	}
	stop()
}

func TestFollowInodeReuse(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "kube-system", "coredns-2", "coredns")
	w := newLogWriter(t, path)
	want := w.write(12)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	id, size, err := identify(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The saved position names this inode, but a file with other content:
	// the inode was freed and given to the new file.
	id.Fingerprint = "00000000000000000000000000000000"
	positions := NewPositions([]Position{{Path: path, FileID: id, Offset: size / 2, Size: size}}, false)
	reg := prometheus.NewRegistry()
	c := newCollector(positions)
	stop := runTailer(t, Options{Root: root, Registerer: reg}, c)
	waitTexts(t, c, path, want)
	stop()
	lost := testutil.ToFloat64(metricVec(t, reg, "klaxon_follow_unread_bytes_total", "coredns", "kube-system", reasonRotatedAway))
	if want := float64(size - size/2); lost != want {
		t.Errorf("unread bytes of the lost file = %v, want %v", lost, want)
	}
}

func TestFollowPartialWrites(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "kube-system", "kubelet-x", "proxy")
	w := newLogWriter(t, path)
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: root}, c)
	w.raw("2025-03-01T10:00:00Z stdout F first ha")
	waitFor(t, "the follower to open the file", func() bool {
		_, ok := c.positions.Get(path)
		return ok
	})
	w.raw("lf\n2025-03-01T10:00:01Z stdout F second\n")
	waitTexts(t, c, path, []string{"first half", "second"})
	stop()
}

func TestFollowFreshStartReadsFromEnd(t *testing.T) {
	root := t.TempDir()
	old := podLog(root, "kube-system", "old-pod", "app")
	w := newLogWriter(t, old)
	w.write(100)
	w.raw("2025-03-01T10:00:00Z stdout F unterminated")
	c := newCollector(NewPositions(nil, true))
	stop := runTailer(t, Options{Root: root}, c)
	waitFor(t, "the position of the old file", func() bool {
		_, ok := c.positions.Get(old)
		return ok
	})
	w.raw(" now\n")
	want := append([]string{"unterminated now"}, w.write(3)...)

	// A pod that appears after the start is read from its first line.
	newer := podLog(root, "kube-system", "new-pod", "app")
	w2 := newLogWriter(t, newer)
	want2 := w2.write(4)
	waitTexts(t, c, old, want)
	waitTexts(t, c, newer, want2)
	stop()
}

func TestTailerNamespaces(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		ns     string
		filter NamespaceFilter
		want   bool
	}{
		{"kube-system", NamespaceFilter{}, true},
		{"gke-managed-cim", NamespaceFilter{}, true},
		{"default", NamespaceFilter{}, false},
		{"default", NamespaceFilter{Include: []string{"*"}}, true},
		{"kube-system", NamespaceFilter{Exclude: []string{"kube-*"}}, false},
		{"team-a", NamespaceFilter{Include: []string{"team-*"}}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v %v", tt.ns, tt.filter.Include, tt.filter.Exclude), func(t *testing.T) {
			tl, err := NewTailer(Options{Root: root, Namespaces: tt.filter}, NewPositions(nil, false))
			if err != nil {
				t.Fatal(err)
			}
			if got := tl.Follows(podLog(root, tt.ns, "p", "c")); got != tt.want {
				t.Errorf("Follows = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTailerFollowsOnlySelectedPods(t *testing.T) {
	root := t.TempDir()
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: root, Namespaces: NamespaceFilter{Exclude: []string{"kube-public"}}}, c)
	// Created after the start, so found through inotify or the rescan.
	sys := podLog(root, "kube-system", "a", "c")
	want := newLogWriter(t, sys).write(2)
	skipped := []string{podLog(root, "default", "b", "c"), podLog(root, "kube-public", "c", "c")}
	for _, p := range skipped {
		newLogWriter(t, p).write(2)
	}
	rotatedName := filepath.Join(filepath.Dir(sys), "0.log.20250301-100000")
	if err := os.WriteFile(rotatedName, []byte("2025-03-01T10:00:00Z stdout F old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, c, sys, want)
	// inotify reports events in order, so once a pod created after the
	// skipped ones is read, their events were handled too.
	later := podLog(root, "kube-system", "later", "c")
	waitTexts(t, c, later, newLogWriter(t, later).write(1))
	stop()
	for _, p := range append(skipped, rotatedName) {
		if got := c.texts(p); got != nil {
			t.Errorf("%s was followed: %v", p, got)
		}
	}
}

func TestTailerPollsWithoutInotify(t *testing.T) {
	newWatcher = failingWatcher
	defer func() { newWatcher = defaultNewWatcher }()
	root := t.TempDir()
	reg := prometheus.NewRegistry()
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: root, Registerer: reg}, c)
	path := podLog(root, "kube-system", "late", "c")
	want := newLogWriter(t, path).write(3)
	waitTexts(t, c, path, want)
	stop()
	if got := testutil.ToFloat64(metricVec(t, reg, "klaxon_follow_watch_failures_total")); got != 1 {
		t.Errorf("watch failures = %v, want 1", got)
	}
}

// metricGauge returns the unlabelled gauge name from reg.
func metricGauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "value"})
			g.Set(mf.GetMetric()[0].GetGauge().GetValue())
			return g
		}
	}
	t.Fatalf("no gauge %s", name)
	return nil
}

// metricVec returns the counter name with the label values given, from reg.
// Labels are in the order of their names.
func metricVec(t *testing.T, reg *prometheus.Registry, name string, values ...string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetValue())
			}
			if slices.Equal(got, values) {
				v := m.GetCounter().GetValue()
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "value"})
				g.Set(v)
				return g
			}
		}
	}
	t.Fatalf("no series %s%v", name, values)
	return nil
}

func TestFollowPodDeletedWhileStopped(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "kube-system", "job-1", "worker")
	w := newLogWriter(t, path)
	want := w.write(5)
	positions := NewPositions(nil, false)
	c := newCollector(positions)
	stop := runTailer(t, Options{Root: root}, c)
	waitTexts(t, c, path, want)
	stop()

	if err := os.RemoveAll(filepath.Dir(filepath.Dir(path))); err != nil {
		t.Fatal(err)
	}
	c2 := newCollector(positions)
	stop = runTailer(t, Options{Root: root}, c2)
	waitFor(t, "the saved path to be finished", func() bool { return c2.isDone(path) })
	stop()
	if _, ok := positions.Get(path); ok {
		t.Error("position of the deleted pod was kept")
	}
	if got := c2.texts(path); len(got) != 0 {
		t.Errorf("lines read again after the restart: %v", got)
	}
}

func TestFollowIdleFileIsClosed(t *testing.T) {
	root := t.TempDir()
	path := podLog(root, "kube-system", "quiet-1", "c")
	w := newLogWriter(t, path)
	want := w.write(3)
	reg := prometheus.NewRegistry()
	c := newCollector(NewPositions(nil, false))
	stop := runTailer(t, Options{Root: root, IdleTimeout: 200 * time.Millisecond, Registerer: reg}, c)
	waitTexts(t, c, path, want)
	waitFor(t, "the idle file to be closed", func() bool {
		return testutil.ToFloat64(metricGauge(t, reg, "klaxon_follow_open_files")) == 0
	})

	// Growth opens the file again, from where it was left.
	want = append(want, w.write(2)...)
	waitTexts(t, c, path, want)
	stop()
}

func TestFollowDockerSymlinkRotation(t *testing.T) {
	root := t.TempDir()
	docker := filepath.Join(t.TempDir(), "containers", "abc123")
	target := filepath.Join(docker, "abc123-json.log")
	w := newLogWriter(t, target)
	path := podLog(root, "kube-system", "dns-1", "dns")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	want := w.write(5)
	positions := NewPositions(nil, false)
	c := newCollector(positions)
	stop := runTailer(t, Options{Root: root}, c)
	waitTexts(t, c, path, want)
	stop()

	// dockerd rotates the file behind the symlink to .1 while the agent is
	// down.
	want = append(want, w.write(4)...)
	if err := os.Rename(target, target+".1"); err != nil {
		t.Fatal(err)
	}
	w.reopen()
	want = append(want, w.write(3)...)
	c2 := newCollector(positions)
	c2.paths[path] = &received{texts: c.texts(path)}
	stop = runTailer(t, Options{Root: root}, c2)
	waitTexts(t, c2, path, want)
	stop()
}

// TestTailerSurvivesHostileTree starts before the log root exists, then
// fills it with a log path that is a folder, a symbolic link loop and a
// dangling link beside a normal log: the normal log must be followed and
// the tailer must keep running.
func TestTailerSurvivesHostileTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pods")
	c := newCollector(NewPositions(nil, false))
	runTailer(t, Options{Root: root}, c)

	folder := podLog(root, "kube-system", "as-folder", "c")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	loop := podLog(root, "kube-system", "loop", "c")
	if err := os.MkdirAll(filepath.Dir(loop), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	dangling := podLog(root, "kube-system", "dangling", "c")
	if err := os.MkdirAll(filepath.Dir(dangling), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "missing"), dangling); err != nil {
		t.Fatal(err)
	}
	good := podLog(root, "kube-system", "good", "c")
	want := newLogWriter(t, good).write(3)
	waitTexts(t, c, good, want)
	// A log file that turns into a folder after it was followed.
	turned := podLog(root, "kube-system", "turned", "c")
	w := newLogWriter(t, turned)
	first := w.write(1)
	waitTexts(t, c, turned, first)
	if err := os.Remove(turned); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(turned, 0o755); err != nil {
		t.Fatal(err)
	}
	more := newLogWriter(t, good)
	waitTexts(t, c, good, append(want, more.write(2)...))
}
