package follow

import (
	"errors"

	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait for the followers to catch up. Waits end as
// soon as their condition holds; the bound only turns a hang into a failure.
const waitTimeout = 20 * time.Second

// logWriter writes a container log the way the kubelet and a container
// runtime do: lines appended to <dir>/0.log, rotation by rename with writes
// still landing in the renamed file until the runtime reopens, and gzip of
// older rotations.
type logWriter struct {
	t       *testing.T
	path    string
	f       *os.File
	n       int
	rotated []string
	clock   time.Time
}

func newLogWriter(t *testing.T, path string) *logWriter {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	w := &logWriter{t: t, path: path, clock: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	w.reopen()
	t.Cleanup(func() { w.f.Close() })
	return w
}

func (w *logWriter) reopen() {
	w.t.Helper()
	if w.f != nil {
		w.f.Close()
	}
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	w.f = f
}

// write appends n numbered CRI lines and returns their messages.
func (w *logWriter) write(n int) []string {
	w.t.Helper()
	var msgs []string
	var b strings.Builder
	for range n {
		w.n++
		w.clock = w.clock.Add(time.Millisecond)
		msg := fmt.Sprintf("line %05d", w.n)
		fmt.Fprintf(&b, "%s stdout F %s\n", w.clock.Format(time.RFC3339Nano), msg)
		msgs = append(msgs, msg)
	}
	w.raw(b.String())
	return msgs
}

func (w *logWriter) raw(s string) {
	w.t.Helper()
	if _, err := w.f.WriteString(s); err != nil {
		w.t.Fatal(err)
	}
}

// rename moves the log to its kubelet rotation name, but keeps writing to
// the renamed file until reopen is called.
func (w *logWriter) rename() string {
	w.t.Helper()
	name := fmt.Sprintf("%s.%s", w.path, w.clock.Add(time.Duration(len(w.rotated))*time.Second).Format("20060102-150405"))
	if err := os.Rename(w.path, name); err != nil {
		w.t.Fatal(err)
	}
	w.rotated = append(w.rotated, name)
	return name
}

// compress replaces a rotated file with its gzip copy, as the kubelet does
// at the next rotation.
func (w *logWriter) compress(name string) {
	w.t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		w.t.Fatal(err)
	}
	tmp := name + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		w.t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := zw.Write(data); err != nil {
		w.t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		w.t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, name+".gz"); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Remove(name); err != nil {
		w.t.Fatal(err)
	}
}

// received is what a collector saw for one path.
type received struct {
	texts []string
}

// collector consumes batches like the Pipeline does, moving positions past
// each line it takes.
type collector struct {
	mu        sync.Mutex
	positions *Positions
	paths     map[string]*received
	done      map[string]bool
	order     []string // every line in arrival order, for duplicate checks
}

func newCollector(positions *Positions) *collector {
	return &collector{positions: positions, paths: map[string]*received{}, done: map[string]bool{}}
}

func (c *collector) consume(b *Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.paths[b.Path]
	if r == nil {
		r = &received{}
		c.paths[b.Path] = r
	}
	switch {
	case b.Done:
		c.done[b.Path] = true
		c.positions.Delete(b.Path)
	case len(b.Lines) == 0:
		c.positions.Set(Position{Path: b.Path, FileID: b.File, Offset: b.Start, Size: b.Size})
	}
	for _, l := range b.Lines {
		text := string(l.Text)
		if i := strings.Index(text, " F "); i >= 0 {
			text = text[i+3:]
		}
		r.texts = append(r.texts, text)
		c.order = append(c.order, text)
		c.positions.Set(Position{Path: b.Path, FileID: b.File, Offset: l.End, Size: max(b.Size, l.End)})
	}
	b.Release()
}

func (c *collector) texts(path string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.paths[path]; r != nil {
		return slices.Clone(r.texts)
	}
	return nil
}

func (c *collector) isDone(path string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done[path]
}

// run starts a Tailer over root and a goroutine that feeds the collector.
// The returned function stops both and waits for them.
func runTailer(t *testing.T, opts Options, c *collector) (stop func()) {
	t.Helper()
	opts.CheckInterval = 50 * time.Millisecond
	opts.RescanInterval = 200 * time.Millisecond
	if opts.RotateWait == 0 {
		opts.RotateWait = 300 * time.Millisecond
	}
	tl, err := NewTailer(opts, c.positions)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	errc := make(chan error, 1)
	go func() {
		defer wg.Done()
		errc <- tl.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		for b := range tl.Batches() {
			c.consume(b)
		}
	}()

	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		wg.Wait()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTexts waits until path delivered at least len(want) lines and then
// checks that they are exactly want.
func waitTexts(t *testing.T, c *collector, path string, want []string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d lines of %s", len(want), path), func() bool {
		return len(c.texts(path)) >= len(want)
	})
	got := c.texts(path)
	if !slices.Equal(got, want) {
		t.Fatalf("lines of %s:\n got %d: %s\nwant %d: %s", path, len(got), summarize(got), len(want), summarize(want))
	}
}

// summarize shortens a line list for failure messages.
func summarize(lines []string) string {
	if len(lines) <= 8 {
		return strings.Join(lines, ", ")
	}
	return strings.Join(lines[:4], ", ") + " … " + strings.Join(lines[len(lines)-4:], ", ")
}

func podLog(root, ns, pod, container string) string {
	return filepath.Join(root, ns+"_"+pod+"_0b1c2d3e-uid", container, "0.log")
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func failingWatcher() (notifier, error) {
	return nil, errors.New("too many open files")
}
