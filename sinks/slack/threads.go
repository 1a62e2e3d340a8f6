package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Bounds of the thread store: a group silent for threadTTL starts a new
// thread, and at most maxThreads groups are remembered.
const (
	threadTTL  = 7 * 24 * time.Hour
	maxThreads = 10000
)

// thread is the first message of a group, which later alerts reply to.
type thread struct {
	Channel string    `json:"channel"`
	TS      string    `json:"ts"`
	Updated time.Time `json:"updated"`
}

// threadStore maps group keys to threads and keeps the map in a file in
// the state folder, so that replies find their thread after a restart. It
// is used only by the delivery goroutine, so it has no lock.
type threadStore struct {
	path    string
	threads map[string]thread
}

// loadThreads reads the store's file. A missing file gives an empty store.
// A damaged file also gives an empty store, with an error that explains
// why.
func loadThreads(path string) (*threadStore, error) {
	ts := &threadStore{path: path, threads: map[string]thread{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ts, nil
	}
	if err != nil {
		return ts, fmt.Errorf("read thread store: %w", err)
	}
	if err := json.Unmarshal(data, &ts.threads); err != nil {
		ts.threads = map[string]thread{}
		return ts, fmt.Errorf("decode thread store %s: %w", path, err)
	}
	return ts, nil
}

func (ts *threadStore) get(key string, now time.Time) (thread, bool) {
	t, ok := ts.threads[key]
	if !ok || now.Sub(t.Updated) > threadTTL {
		return thread{}, false
	}
	return t, true
}

func (ts *threadStore) set(key string, t thread) {
	ts.threads[key] = t
}

func (ts *threadStore) forget(key string) {
	delete(ts.threads, key)
}

// save drops expired threads, and the oldest beyond maxThreads, then
// replaces the file atomically.
func (ts *threadStore) save(now time.Time) error {
	for key, t := range ts.threads {
		if now.Sub(t.Updated) > threadTTL {
			delete(ts.threads, key)
		}
	}
	for len(ts.threads) > maxThreads {
		oldestKey, oldest := "", now
		for key, t := range ts.threads {
			if !t.Updated.After(oldest) {
				oldestKey, oldest = key, t.Updated
			}
		}
		delete(ts.threads, oldestKey)
	}

	data, err := json.Marshal(ts.threads)
	if err != nil {
		return fmt.Errorf("encode thread store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(ts.path), 0o700); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	tmp := ts.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write thread store: %w", err)
	}
	if err := os.Rename(tmp, ts.path); err != nil {
		return fmt.Errorf("replace thread store: %w", err)
	}
	return nil
}
