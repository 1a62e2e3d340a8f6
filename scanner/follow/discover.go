package follow

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// The kubelet's layout under the root, one level per folder:
//
//	<root>/<namespace>_<pod>_<uid>/<container>/<restart count>.log
const (
	levelRoot = iota
	levelPod
	levelContainer
)

// Follows reports whether path is one the Tailer follows: a container log
// under the root in a selected namespace, or a file matching an extra glob.
func (t *Tailer) Follows(path string) bool {
	if ns, ok := t.podNamespace(path); ok {
		return t.opts.Namespaces.Match(ns) && isLogName(filepath.Base(path))
	}
	return t.matchesExtra(path)
}

// podNamespace returns the namespace of a path under the root, at any depth.
func (t *Tailer) podNamespace(path string) (string, bool) {
	rel, err := filepath.Rel(t.opts.Root, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", false
	}
	podDir, _, _ := strings.Cut(rel, string(filepath.Separator))
	parts := strings.Split(podDir, "_")
	if len(parts) != 3 || parts[0] == "" {
		return "", false
	}
	return parts[0], true
}

func (t *Tailer) matchesExtra(path string) bool {
	for _, g := range t.opts.ExtraFiles {
		if ok, _ := filepath.Match(g, path); ok {
			return true
		}
	}
	return false
}

// isLogName reports whether name is a container log the kubelet writes to:
// digits followed by ".log". Rotated files are never followed on their own.
func isLogName(name string) bool {
	n, ok := strings.CutSuffix(name, ".log")
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// scanAll scans the whole root and every extra glob, and finishes saved
// paths that are gone.
func (t *Tailer) scanAll(ctx context.Context) {
	t.watcher.add(t.opts.Root, levelRoot)
	t.scanRoot(ctx)
	t.scanExtra(ctx)
	t.resumeSaved(ctx)
}

// scanPolled scans the folders that inotify does not watch.
func (t *Tailer) scanPolled(ctx context.Context) {
	for dir, level := range t.watcher.polledDirs() {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			t.watcher.forget(dir)
			t.wake(dir)
			continue
		}
		t.scanDir(ctx, dir, level)
	}
	if t.watcher.extraPolled() {
		t.scanExtra(ctx)
	}
}

func (t *Tailer) scanDir(ctx context.Context, dir string, level int) {
	switch level {
	case levelRoot:
		t.scanRoot(ctx)
	case levelPod:
		t.scanPod(ctx, dir)
	case levelContainer:
		t.scanContainer(ctx, dir)
	}
}

func (t *Tailer) scanRoot(ctx context.Context) {
	entries, err := os.ReadDir(t.opts.Root)
	if err != nil {
		t.noteRootError(err)
		return
	}
	if t.rootMissing {
		t.rootMissing = false
		t.log.Info("log root appeared", "root", t.opts.Root)
	}
	for _, e := range entries {
		dir := filepath.Join(t.opts.Root, e.Name())
		if ns, ok := t.podNamespace(dir); ok && e.IsDir() && t.opts.Namespaces.Match(ns) {
			t.watcher.add(dir, levelPod)
			t.scanPod(ctx, dir)
		}
	}
}

// noteRootError logs why the log root cannot be listed. A node may start
// the agent before the kubelet creates its log folder, so a missing root is
// logged once and found by a later rescan.
func (t *Tailer) noteRootError(err error) {
	if !os.IsNotExist(err) {
		t.log.Warn("cannot list log root", "root", t.opts.Root, "err", err)
		return
	}
	if !t.rootMissing {
		t.rootMissing = true
		t.log.Warn("log root does not exist yet; waiting for it", "root", t.opts.Root)
	}
}

func (t *Tailer) scanPod(ctx context.Context, podDir string) {
	entries, err := os.ReadDir(podDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			dir := filepath.Join(podDir, e.Name())
			t.watcher.add(dir, levelContainer)
			t.scanContainer(ctx, dir)
		}
	}
}

func (t *Tailer) scanContainer(ctx context.Context, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if isLogName(e.Name()) && !e.IsDir() {
			t.consider(ctx, filepath.Join(dir, e.Name()))
		}
	}
}

func (t *Tailer) scanExtra(ctx context.Context) {
	for _, g := range t.opts.ExtraFiles {
		if dir := filepath.Dir(g); !hasMeta(dir) {
			t.watcher.addExtra(dir)
		}
		matches, _ := filepath.Glob(g)
		for _, path := range matches {
			if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
				t.consider(ctx, path)
			}
		}
	}
}

func hasMeta(path string) bool { return strings.ContainsAny(path, `*?[\`) }

// handleEvent reacts to one inotify event. Folder events start scans, and
// file events start followers or make them check for rotation now. Writes to
// files already followed are left to the followers' own reading.
func (t *Tailer) handleEvent(ctx context.Context, ev fsnotify.Event) {
	if ev.Op == fsnotify.Write {
		// Only the fsnotify watcher of other systems reports writes, one
		// per append to a followed file, so this stays cheap.
		if _, ok := t.followers[ev.Name]; ok {
			return
		}
	}
	removed := ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	if removed {
		t.watcher.forget(ev.Name)
	}
	dir := filepath.Dir(ev.Name)
	if dir != t.opts.Root && filepath.Dir(dir) != t.opts.Root {
		t.fileEvent(ctx, ev, removed)
		return
	}
	if removed {
		t.wake(ev.Name)
		return
	}
	ns, ok := t.podNamespace(ev.Name)
	if !ev.Has(fsnotify.Create) || !ok || !t.opts.Namespaces.Match(ns) {
		return
	}
	level := levelPod
	if dir != t.opts.Root {
		level = levelContainer
	}
	// Watch first, so that nothing created during the scan is missed.
	t.watcher.add(ev.Name, level)
	t.scanDir(ctx, ev.Name, level)
}

func (t *Tailer) fileEvent(ctx context.Context, ev fsnotify.Event, removed bool) {
	path := ev.Name
	if !t.Follows(path) {
		// A rotation of a followed file: its follower checks at once.
		if base := rotatedBase(path); base != "" {
			t.wake(base)
		}
		return
	}
	if _, ok := t.followers[path]; ok {
		if !ev.Has(fsnotify.Write) {
			t.wake(path)
		}
		return
	}
	if !removed {
		t.consider(ctx, path)
	}
}

// rotatedBase returns the path a rotated file came from, for the kubelet's
// <n>.log.<timestamp> names and names with a numeric suffix.
func rotatedBase(path string) string {
	dir, name := filepath.Split(path)
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".tmp")
	i := strings.LastIndexAny(name, ".-")
	if i <= 0 {
		return ""
	}
	return filepath.Join(dir, name[:i])
}
