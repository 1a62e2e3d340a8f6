package follow

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Coverage is how far the agent has read one log file that it should
// follow, so that a file it does not read, or reads late, is visible.
type Coverage struct {
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	Path      string `json:"path"`
	// Followed is true when the agent holds a position for the path, which
	// it does from the moment it opens the file.
	Followed bool `json:"followed"`
	// Offset is the byte offset up to which lines were handled.
	Offset int64 `json:"offset"`
	// Size is the file's size on disk now, or -1 when the file is gone.
	Size int64 `json:"size"`
	// LastLine is the time of the last line handled since the agent
	// started, by the line's own timestamp.
	LastLine *time.Time `json:"last_line,omitempty"`
}

// lastLines stores the time of the last line handled per path. The pipeline
// goroutine writes it and Coverage reads it from any goroutine.
type lastLines struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (l *lastLines) set(path string, t time.Time) {
	l.mu.Lock()
	l.m[path] = t
	l.mu.Unlock()
}

func (l *lastLines) delete(path string) {
	l.mu.Lock()
	delete(l.m, path)
	l.mu.Unlock()
}

func (l *lastLines) get(path string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.m[path]
	return t, ok
}

// Coverage returns every file the pipeline should follow, found on disk or
// holding a position, sorted by path. It is safe to call from any goroutine.
func (p *Pipeline) Coverage() []Coverage {
	positions := map[string]Position{}
	for _, pos := range p.positions.List() {
		positions[pos.Path] = pos
	}
	paths := p.followablePaths()
	for path := range positions {
		if !slices.Contains(paths, path) {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)

	out := make([]Coverage, 0, len(paths))
	for _, path := range paths {
		src := scanner.SourceFromPath(path)
		c := Coverage{Namespace: src.Namespace, Pod: src.Pod, Container: src.Container, Path: path, Size: -1}
		if pos, ok := positions[path]; ok {
			c.Followed, c.Offset = true, pos.Offset
		}
		if fi, err := os.Stat(path); err == nil {
			c.Size = fi.Size()
		}
		if t, ok := p.lastLine.get(path); ok {
			c.LastLine = &t
		}
		out = append(out, c)
	}
	return out
}

// followablePaths lists the container logs under the root and the extra
// files that the Tailer follows.
func (p *Pipeline) followablePaths() []string {
	var paths []string
	pattern := filepath.Join(p.opts.Tail.Root, "*", "*", "*.log")
	if matches, err := filepath.Glob(pattern); err == nil {
		paths = append(paths, matches...)
	}
	for _, g := range p.opts.Tail.ExtraFiles {
		if matches, err := filepath.Glob(g); err == nil {
			paths = append(paths, matches...)
		}
	}
	return slices.DeleteFunc(paths, func(path string) bool {
		return !p.tailer.Follows(path) || strings.HasSuffix(path, ".gz")
	})
}
