//go:build linux

package follow

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// TestFolderWatcherReportsEntriesNotWrites checks the events the discovery
// relies on, and that appends to a file send none: the next event after a
// write is the one of the following create.
func TestFolderWatcherReportsEntriesNotWrites(t *testing.T) {
	dir := t.TempDir()
	w, err := newFolderWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		t.Fatal(err)
	}
	next := func() fsnotify.Event {
		t.Helper()
		select {
		case ev := <-w.Events():
			return ev
		case err := <-w.Errors():
			t.Fatalf("watcher error: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
		return fsnotify.Event{}
	}
	expect := func(op fsnotify.Op, name string) {
		t.Helper()
		if ev := next(); ev.Op != op || ev.Name != filepath.Join(dir, name) {
			t.Fatalf("event %v, want %v of %s", ev, op, name)
		}
	}

	log := filepath.Join(dir, "0.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	expect(fsnotify.Create, "0.log")
	for range 100 {
		if _, err := f.WriteString("line\n"); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "1.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expect(fsnotify.Create, "1.log")
	if err := os.Rename(log, log+".20261204-120000"); err != nil {
		t.Fatal(err)
	}
	expect(fsnotify.Rename, "0.log")
	expect(fsnotify.Create, "0.log.20261204-120000")
	if err := os.Remove(filepath.Join(dir, "1.log")); err != nil {
		t.Fatal(err)
	}
	expect(fsnotify.Remove, "1.log")
	if err := os.Remove(log + ".20261204-120000"); err != nil {
		t.Fatal(err)
	}
	expect(fsnotify.Remove, "0.log.20261204-120000")
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Op != fsnotify.Remove || ev.Name != dir {
		t.Fatalf("event %v, want the removal of the folder itself", ev)
	}
	if err := w.Add(filepath.Join(dir, "gone")); err == nil {
		t.Error("watching a missing folder succeeded")
	}
}
