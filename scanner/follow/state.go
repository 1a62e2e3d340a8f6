package follow

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// stateVersion is the version of the state file's format.
const stateVersion = 1

// ErrCorruptState is returned by ReadState when the state file exists but
// cannot be decoded.
var ErrCorruptState = errors.New("corrupt state file")

// Position records how far one followed path has been handled.
type Position struct {
	// Path is the followed path, such as the kubelet's .../<n>.log. After a
	// rotation it still names the path, while FileID names the file that
	// was renamed away from it and may still be read.
	Path string `json:"path"`
	FileID
	// Offset is the byte offset just after the last line whose alerts were
	// delivered. For a compressed rotation it counts uncompressed bytes.
	Offset int64 `json:"offset"`
	// Size is the file's size when it was last read, which bounds what a
	// file that disappears before it is read to its end still held.
	Size int64 `json:"size"`
}

// State is the content of the state file: the positions of all followed
// paths, and the alert engine's state taken at the same moment.
type State struct {
	Version   int             `json:"version"`
	SavedAt   time.Time       `json:"saved_at"`
	Positions []Position      `json:"positions"`
	Engine    json.RawMessage `json:"engine,omitempty"`
}

// ReadState reads a state file. A missing file returns an error that
// errors.Is matches with os.ErrNotExist, and a file that does not decode
// returns one that matches ErrCorruptState.
func ReadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrCorruptState, path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%w %s: version %d, expected %d", ErrCorruptState, path, st.Version, stateVersion)
	}
	for i, p := range st.Positions {
		if p.Path == "" || p.Offset < 0 || p.FingerprintLen < 0 || p.FingerprintLen > fingerprintMax {
			return nil, fmt.Errorf("%w %s: invalid position #%d for %q", ErrCorruptState, path, i+1, p.Path)
		}
	}
	return &st, nil
}

// WriteState replaces the state file atomically with WriteFileAtomic, so a
// crash leaves either the old or the new state, never a mix.
func WriteState(path string, st *State) error {
	st.Version = stateVersion
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic replaces the file at path with data: it writes a
// temporary file in the same folder, syncs it, renames it over path and
// syncs the folder, so a crash leaves either the old or the new content.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open state folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state folder: %w", err)
	}
	return nil
}

// Positions is the in-memory table of positions, shared between the
// Pipeline, which moves them as lines are handled, and the Tailer, which
// reads them when it opens a path.
type Positions struct {
	mu sync.Mutex
	m  map[string]Position
	// fresh is true when no state existed: files found by the first scan
	// are then read from their end instead of their start.
	fresh bool
}

// NewPositions returns a table holding the given positions. fresh marks a
// first start, without a saved state.
func NewPositions(list []Position, fresh bool) *Positions {
	p := &Positions{m: make(map[string]Position, len(list)), fresh: fresh}
	for _, pos := range list {
		p.m[pos.Path] = pos
	}
	return p
}

// Get returns the position of path.
func (p *Positions) Get(path string) (Position, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos, ok := p.m[path]
	return pos, ok
}

// Set records pos for pos.Path.
func (p *Positions) Set(pos Position) {
	p.mu.Lock()
	p.m[pos.Path] = pos
	p.mu.Unlock()
}

// Delete forgets path.
func (p *Positions) Delete(path string) {
	p.mu.Lock()
	delete(p.m, path)
	p.mu.Unlock()
}

// Fresh reports whether the table started without a saved state.
func (p *Positions) Fresh() bool { return p.fresh }

// List returns all positions, sorted by path.
func (p *Positions) List() []Position {
	p.mu.Lock()
	list := make([]Position, 0, len(p.m))
	for _, pos := range p.m {
		list = append(list, pos)
	}
	p.mu.Unlock()
	slices.SortFunc(list, func(a, b Position) int { return strings.Compare(a.Path, b.Path) })
	return list
}
