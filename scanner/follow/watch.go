package follow

import (
	"errors"
	"io/fs"
	"log/slog"
	"maps"

	"github.com/fsnotify/fsnotify"
)

// dirWatcher watches folders with inotify, and lists the folders it could
// not watch so that they are polled instead. Busy nodes run out of inotify
// watches or instances, because both are limited per user and shared with
// every other root daemon. The first failure is logged, and every one counted.
type dirWatcher struct {
	w       notifier // nil when no inotify instance could be created
	log     *slog.Logger
	metrics *metrics
	watched map[string]bool
	polled  map[string]int // folder to level
	extra   map[string]bool
	logged  bool
	noExtra bool // an extra folder could not be watched
}

// notifier reports entries created, deleted and renamed in the folders it
// watches.
type notifier interface {
	Add(dir string) error
	Events() <-chan fsnotify.Event
	Errors() <-chan error
	Close() error
}

// newWatcher creates the folder watcher; tests replace it.
var newWatcher = defaultNewWatcher

func defaultNewWatcher() (notifier, error) { return newFolderWatcher() }

func newDirWatcher(log *slog.Logger, m *metrics) *dirWatcher {
	d := &dirWatcher{
		log:     log,
		metrics: m,
		watched: map[string]bool{},
		polled:  map[string]int{},
		extra:   map[string]bool{},
	}
	w, err := newWatcher()
	if err != nil {
		d.failed("", err)
		return d
	}
	d.w = w
	return d
}

// add watches dir, or marks it polled when inotify cannot watch it. A
// folder that does not exist is neither, so that the next scan that finds
// it adds it again.
func (d *dirWatcher) add(dir string, level int) {
	if d.watched[dir] {
		return
	}
	if _, ok := d.polled[dir]; ok {
		return
	}
	if d.w != nil {
		err := d.w.Add(dir)
		if err == nil {
			d.watched[dir] = true
			return
		}
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		d.failed(dir, err)
	}
	d.polled[dir] = level
	d.metrics.polledDirs.Set(float64(len(d.polled)))
}

// addExtra watches the folder of an extra glob. A folder that does not
// exist is tried again at the next scan.
func (d *dirWatcher) addExtra(dir string) {
	if d.extra[dir] {
		return
	}
	d.extra[dir] = true
	if d.w != nil {
		err := d.w.Add(dir)
		if err == nil {
			return
		}
		if errors.Is(err, fs.ErrNotExist) {
			delete(d.extra, dir)
			return
		}
		d.failed(dir, err)
	}
	d.noExtra = true
}

func (d *dirWatcher) failed(dir string, err error) {
	d.metrics.watchFailures.Inc()
	if !d.logged {
		d.logged = true
		d.log.Warn("cannot watch folder with inotify; polling it and any further such folders",
			"folder", dir, "err", err)
		return
	}
	d.log.Debug("cannot watch folder with inotify; polling it", "folder", dir, "err", err)
}

// forget drops a removed folder. The kernel removes its watch by itself.
func (d *dirWatcher) forget(dir string) {
	delete(d.watched, dir)
	if _, ok := d.polled[dir]; ok {
		delete(d.polled, dir)
		d.metrics.polledDirs.Set(float64(len(d.polled)))
	}
}

// polledDirs returns a copy of the polled folders and their levels.
func (d *dirWatcher) polledDirs() map[string]int {
	return maps.Clone(d.polled)
}

// extraPolled reports whether the extra globs need polling.
func (d *dirWatcher) extraPolled() bool { return d.noExtra }

func (d *dirWatcher) events() <-chan fsnotify.Event {
	if d.w == nil {
		return nil
	}
	return d.w.Events()
}

func (d *dirWatcher) errors() <-chan error {
	if d.w == nil {
		return nil
	}
	return d.w.Errors()
}

func (d *dirWatcher) close() {
	if d.w != nil {
		d.w.Close()
	}
}
