package follow

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleState(n int) *State {
	st := &State{SavedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), Engine: json.RawMessage(`{"version":1}`)}
	for i := range n {
		st.Positions = append(st.Positions, Position{
			Path:   fmt.Sprintf("/var/log/pods/kube-system_p%d_uid/c/0.log", i),
			FileID: FileID{Dev: 2049, Inode: uint64(1000 + i), FingerprintLen: 200, Fingerprint: "0123456789abcdef0123456789abcdef"},
			Offset: int64(i * 100), Size: int64(i*100 + 5),
		})
	}
	return st
}

func TestWriteStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	want := sampleState(3)
	if err := WriteState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadState = %+v, want %+v", got, want)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d files after the write, want only the state file", len(entries))
	}
}

func TestWriteStateIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := WriteState(path, sampleState(1)); err != nil {
		t.Fatal(err)
	}

	// A reader running during many writes of different sizes must always
	// see one whole state, never a mix or a cut.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ReadState(path); err != nil {
				errs <- err
				return
			}
		}
	}()

	for i := range 200 {
		if err := WriteState(path, sampleState(1+i%50)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()

	select {
	case err := <-errs:
		t.Fatalf("reader saw a broken state: %v", err)
	default:
	}
}

func TestWriteStateFailureKeepsOldState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := WriteState(path, sampleState(2)); err != nil {
		t.Fatal(err)
	}
	// A folder in the way of the temporary file's rename makes the write
	// fail after the temporary file was written.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteState(blocked, sampleState(5)); err == nil {
		t.Fatal("WriteState over a folder succeeded")
	}
	got, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Positions) != 2 {
		t.Errorf("state has %d positions, want the 2 written before", len(got.Positions))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestReadStateErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    error
	}{
		{"missing", "", os.ErrNotExist},
		{"not json", "{\"version\":1,\"positions\":[", ErrCorruptState},
		{"empty file", " ", ErrCorruptState},
		{"other version", `{"version":7,"positions":[]}`, ErrCorruptState},
		{"negative offset", `{"version":1,"positions":[{"path":"/a","offset":-1}]}`, ErrCorruptState},
		{"no path", `{"version":1,"positions":[{"offset":3}]}`, ErrCorruptState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadState(path)
			if !errors.Is(err, tt.want) {
				t.Errorf("ReadState error = %v, want %v", err, tt.want)
			}
		})
	}
}
