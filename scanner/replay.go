package scanner

import (
	"bufio"
	"compress/gzip"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// Node is put on every alert.
	Node string
	// Stdin is read for the path "-".
	Stdin io.Reader
	// Emit receives the alerts in the order the engine raises them.
	Emit func(*Alert)
	// Matched receives every line a rule matched (see EngineOptions).
	Matched func(l *Line)
	// Progress, when set, is called about every million lines and at the
	// end with the bytes read so far and the total size of the input files
	// (0 when unknown, as for standard input).
	Progress func(read, total int64)
	// MaxLineBytes caps a joined line; 0 means DefaultMaxLineBytes.
	MaxLineBytes int

	// processAll sends every line through Engine.Process, for tests that
	// compare the outcome with the one of lines passing it by.
	processAll bool
	// now stamps lines of standard input that carry no time before any
	// line that does; nil means time.Now. Tests fix it.
	now func() time.Time
}

// ReplayStats counts what a replay read.
type ReplayStats struct {
	Files     int
	Bytes     int64
	Lines     int64
	Matches   int64
	Alerts    int64
	Truncated int64
	Malformed int64
	Elapsed   time.Duration
}

// Replay runs rules over saved logs: files, folders (kubelet layout
// recognised), .gz files, or "-" for opts.Stdin. All inputs are merged by
// event time, so windows that span containers work as they would live. An
// input that cannot be read is reported in the returned error while the
// others are still replayed.
func Replay(ctx context.Context, rs *RuleSet, paths []string, opts ReplayOptions) (ReplayStats, error) {
	start := time.Now()
	streams, err := expandInputs(paths)
	if err != nil {
		return ReplayStats{}, err
	}
	for _, s := range streams {
		if s.stdin && opts.Stdin == nil {
			return ReplayStats{}, errors.New(`read input: "-" given but no standard input is set`)
		}
	}
	engine := NewEngine(rs, EngineOptions{Node: opts.Node, Emit: opts.Emit, Matched: opts.Matched})
	r := &replayer{opts: opts, engine: engine, rules: rs}
	for _, s := range streams {
		if !s.stdin {
			r.total += sizeOf(s.files)
		}
		r.stats.Files += max(len(s.files), 1)
		if c := r.open(s); c != nil {
			heap.Push(&r.queue, c)
		}
	}
	nextCheck, nextProgress := int64(0), int64(1<<20)
	for r.queue.Len() > 0 {
		if r.stats.Lines >= nextCheck {
			if ctx.Err() != nil {
				r.errs = append(r.errs, ctx.Err())
				break
			}
			nextCheck = r.stats.Lines + 4096
		}
		c := r.queue[0]
		engine.Process(c.line)
		r.stats.Lines++
		if r.stats.Lines >= nextProgress && opts.Progress != nil {
			opts.Progress(r.read(), r.total)
			nextProgress = r.stats.Lines + 1<<20
		}
		if r.advance(c) {
			heap.Fix(&r.queue, 0)
		} else {
			heap.Pop(&r.queue)
		}
	}
	engine.Flush()
	r.stats.Truncated = r.cutLines
	for _, c := range r.done {
		r.stats.Truncated += c.dec.Stats.Truncated
		r.stats.Malformed += c.dec.Stats.Malformed
	}
	r.stats.Bytes = r.read()
	r.stats.Matches = engine.Stats.Matches
	r.stats.Alerts = engine.Stats.Alerts
	r.stats.Elapsed = time.Since(start)
	if opts.Progress != nil {
		opts.Progress(r.stats.Bytes, r.total)
	}
	return r.stats, errors.Join(r.errs...)
}

type replayer struct {
	rules  *RuleSet
	opts   ReplayOptions
	engine *Engine
	queue  cursorQueue
	done   []*cursor
	stats  ReplayStats
	total  int64
	errs   []error
	seq    int
	// cutLines counts physical lines longer than the maximum, of which only
	// the first bytes were read.
	cutLines int64
}

func (r *replayer) read() int64 {
	var n int64
	for _, c := range r.done {
		n += c.bytesDone + c.counter.n
	}
	return n
}

// cursor reads one stream; line is its next line, valid until the next advance.
type cursor struct {
	stream  *inputStream
	next    int // index of the next file to open
	dec     *Decoder
	file    io.Closer
	counter countingReader
	reader  *bufio.Reader
	long    []byte  // a line longer than the reader's buffer, being assembled
	line    *Line   // the next line to process
	queue   []*Line // lines the decoder emitted after line, in order
	seq     int     // input order, to break ties between equal times
	// order is the latest time of the stream's lines so far, passed-by
	// ones included. Cursors are merged by it rather than by the next
	// line's own time, so that a stream whose time goes back interleaves
	// the same way whether or not the lines before passed the engine by.
	order     time.Time
	passBy    func(t time.Time, text []byte) bool
	bytesDone int64
}

// open starts a stream and reads its first line; it returns nil for a stream
// without lines.
func (r *replayer) open(s *inputStream) *cursor {
	now := r.opts.now
	if now == nil {
		now = time.Now
	}
	fallback := now().UTC()
	if !s.stdin && len(s.files) > 0 {
		if info, err := os.Stat(s.files[0]); err == nil {
			fallback = info.ModTime().UTC()
		}
	}
	r.seq++
	c := &cursor{stream: s, dec: NewDecoder(s.src, fallback), seq: r.seq}
	c.passBy = func(t time.Time, text []byte) bool {
		if r.opts.processAll || !r.engine.PassBy(s.src, t, text) {
			return false
		}
		c.order = later(c.order, t)
		return true
	}
	c.dec.SetMaxLineBytes(r.opts.MaxLineBytes)
	c.dec.SetMultiline(r.rules.Multiline(s.src))
	r.done = append(r.done, c)
	if s.stdin {
		c.counter = countingReader{r: r.opts.Stdin}
		c.reader = bufio.NewReaderSize(&c.counter, 256<<10)
		c.next = 1
	}
	if r.advance(c) {
		return c
	}
	return nil
}

// advance moves a cursor to its next line, across the stream's files, and
// reports whether there is one.
func (r *replayer) advance(c *cursor) bool {
	if c.pop() {
		return true
	}
	collect := func(l *Line) { c.queue = append(c.queue, l) }
	for {
		if c.reader == nil && !r.openNext(c) {
			c.dec.Flush(collect)
			return c.pop()
		}
		raw, err := r.readLine(c)
		if raw != nil && c.dec.Pass(raw, c.passBy) {
			r.stats.Lines++
		} else if raw != nil {
			c.dec.Decode(raw, collect)
			if c.pop() {
				return true
			}
		}
		if err != nil {
			if err != io.EOF {
				r.errs = append(r.errs, fmt.Errorf("read %s: %w", c.name(), err))
			}
			c.closeFile()
		}
	}
}

func (r *replayer) openNext(c *cursor) bool {
	for c.next < len(c.stream.files) {
		name := c.stream.files[c.next]
		c.next++
		f, err := os.Open(name)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("open input: %w", err))
			continue
		}
		var rd io.Reader = f
		if strings.HasSuffix(name, ".gz") {
			c.counter = countingReader{r: f}
			gz, err := gzip.NewReader(&c.counter)
			if err != nil {
				f.Close()
				r.errs = append(r.errs, fmt.Errorf("read %s: %w", name, err))
				continue
			}
			c.file = f
			c.reader = bufio.NewReaderSize(gz, 256<<10)
			return true
		}
		c.counter = countingReader{r: rd}
		c.file = f
		c.reader = bufio.NewReaderSize(&c.counter, 256<<10)
		return true
	}
	return false
}

// readLine returns the next physical line without its newline. A line longer
// than the maximum keeps its first bytes; the rest is skipped.
func (r *replayer) readLine(c *cursor) ([]byte, error) {
	limit := r.opts.MaxLineBytes
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	c.long = c.long[:0]
	for {
		chunk, err := c.reader.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if room := limit - len(c.long); room > 0 {
				c.long = append(c.long, chunk[:min(len(chunk), room)]...)
			}
			continue
		}
		line := chunk
		if len(c.long) > 0 {
			if room := limit - len(c.long); room > 0 {
				c.long = append(c.long, chunk[:min(len(chunk), room)]...)
			}
			if len(c.long)+len(chunk) > limit+1 {
				r.cutLines++
				if len(c.long) >= 2*len(TruncatedMarker) {
					c.long = append(c.long[:len(c.long)-len(TruncatedMarker)], TruncatedMarker...)
				}
			}
			line = c.long
		}
		line = trimNewline(line)
		if len(line) == 0 && err != nil {
			return nil, err
		}
		return line, err
	}
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// pop moves the first queued line to line.
func (c *cursor) pop() bool {
	if len(c.queue) == 0 {
		return false
	}
	c.line = c.queue[0]
	c.order = later(c.order, c.line.Time)
	// Shift instead of reslicing, so the queue keeps its array and adding
	// the next line does not allocate.
	c.queue = c.queue[:copy(c.queue, c.queue[1:])]
	return true
}

func (c *cursor) closeFile() {
	c.bytesDone += c.counter.n
	c.counter = countingReader{}
	if c.file != nil {
		c.file.Close()
		c.file = nil
	}
	c.reader = nil
}

func (c *cursor) name() string {
	if c.stream.stdin {
		return "standard input"
	}
	if i := c.next - 1; i >= 0 && i < len(c.stream.files) {
		return c.stream.files[i]
	}
	return c.stream.src.Path
}

func sizeOf(files []string) int64 {
	var n int64
	for _, f := range files {
		if info, err := os.Stat(f); err == nil {
			n += info.Size()
		}
	}
	return n
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cursorQueue orders cursors by the latest time of their lines so far, then
// by input order, so equal times replay deterministically. For streams in
// time order that is the time of the next line.
type cursorQueue []*cursor

func (q cursorQueue) Len() int { return len(q) }
func (q cursorQueue) Less(i, j int) bool {
	if !q[i].order.Equal(q[j].order) {
		return q[i].order.Before(q[j].order)
	}
	return q[i].seq < q[j].seq
}

func (q cursorQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *cursorQueue) Push(x any)   { *q = append(*q, x.(*cursor)) }
func (q *cursorQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
