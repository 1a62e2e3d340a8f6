//go:build !linux

package follow

import "github.com/fsnotify/fsnotify"

// fsnotifyWatcher is the folder watcher where inotify does not exist.
type fsnotifyWatcher struct{ w *fsnotify.Watcher }

func newFolderWatcher() (notifier, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return fsnotifyWatcher{w}, nil
}

func (f fsnotifyWatcher) Add(dir string) error          { return f.w.Add(dir) }
func (f fsnotifyWatcher) Events() <-chan fsnotify.Event { return f.w.Events }
func (f fsnotifyWatcher) Errors() <-chan error          { return f.w.Errors }
func (f fsnotifyWatcher) Close() error                  { return f.w.Close() }
