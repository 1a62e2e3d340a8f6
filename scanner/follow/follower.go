package follow

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

// endReason is the reason a follower stopped.
type endReason int

const (
	endStopped endReason = iota // the context was cancelled
	endIdle                     // the file stopped growing and was closed
	endDone                     // the path is gone and was read to its end
	endFailed                   // the path could not be opened or read
)

// outcome is the reason reading a segment stopped.
type outcome int

const (
	outFinished  outcome = iota // read to its end after a rotation or deletion
	outTruncated                // the file shrank or its first bytes changed
	outIdle
	outStopped
	outFailed
)

// follower follows one path in its own goroutine. It reads the file at the
// path, finishes every file rotated away from it, and sends what it reads as
// Batches.
type follower struct {
	path    string
	tl      *Tailer
	log     *slog.Logger
	labels  [2]string // namespace and container, for metrics
	poke    chan struct{}
	credits chan struct{}

	batch    *Batch
	reported bool // caughtUp was called

	linesRead, bytesRead prometheus.Counter
	id                   FileID // the file being read
	offset               int64  // just after the last line read
	size                 int64  // the file's size at the last check
}

func newFollower(tl *Tailer, path string) *follower {
	f := &follower{
		path:    path,
		tl:      tl,
		log:     tl.log.With("path", path),
		labels:  metricLabels(path),
		poke:    make(chan struct{}, 1),
		credits: make(chan struct{}, batchesInFlight),
	}
	for range batchesInFlight {
		f.credits <- struct{}{}
	}
	tl.metrics.initUnread(f.labels)
	return f
}

// caughtUp reports to the Tailer, once, that the follower has read the file
// at its path up to its end.
func (f *follower) caughtUp() {
	if !f.reported {
		f.reported = true
		f.tl.starting.Add(-1)
	}
}

// wake makes the follower check its path now instead of at the next tick.
func (f *follower) wake() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// run follows the path until ctx is cancelled, the path is gone, or the file
// stays idle. fromEnd starts a path without a saved position at the end of
// its last complete line instead of at offset 0.
func (f *follower) run(ctx context.Context, fromEnd bool) endReason {
	var pos *Position
	if p, ok := f.tl.positions.Get(f.path); ok {
		pos = &p
	}
	truncated := false
	for {
		res, err := resolve(f.path, pos, f.startOffset(pos, fromEnd), truncated)
		if err != nil {
			f.log.Warn("cannot open file", "err", err)
			return endFailed
		}
		f.reportLost(res)
		if len(res.segments) == 0 {
			if !res.missing {
				return endIdle
			}
			f.sendDone(ctx)
			return endDone
		}
		out := f.readAll(ctx, res)
		res.closeAll()
		if out != outStopped && !f.flush(ctx, false) {
			out = outStopped
		}
		switch out {
		case outStopped:
			return endStopped
		case outIdle:
			return endIdle
		case outFailed:
			return endFailed
		}
		truncated = out == outTruncated
		pos = &Position{Path: f.path, FileID: f.id, Offset: f.offset, Size: f.size}
		fromEnd = false
	}
}

// startOffset returns where a path without a saved position starts.
func (f *follower) startOffset(pos *Position, fromEnd bool) int64 {
	if pos != nil || !fromEnd {
		return 0
	}
	file, err := os.Open(f.path)
	if err != nil {
		return 0
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return 0
	}
	end, err := lastLineEnd(file, fi.Size())
	if err != nil {
		return 0
	}
	return end
}

// readAll reads the segments in order. It returns outFinished once the last
// one, the file at the path, was rotated or deleted and read to its end.
func (f *follower) readAll(ctx context.Context, res *resolution) outcome {
	for i := range res.segments {
		seg := &res.segments[i]
		var out outcome
		if seg.gz {
			out = f.readGzip(ctx, seg)
		} else {
			out = f.tail(ctx, seg, i < len(res.segments)-2)
		}
		seg.close()
		if out != outFinished {
			return out
		}
	}
	return outFinished
}

// begin sets the follower to read seg and sends the consumer a batch without
// lines, so that the path's position moves to seg once everything before it
// is handled.
func (f *follower) begin(ctx context.Context, seg *segment) bool {
	if f.batch != nil && len(f.batch.Lines) > 0 && !f.flush(ctx, false) {
		return false
	}
	f.id, f.offset, f.size = seg.id, seg.offset, seg.size
	return f.flushEmpty(ctx)
}

// add appends one line to the current batch.
func (f *follower) add(text []byte, end int64) {
	if f.batch == nil {
		f.batch = f.newBatch()
	}
	f.batch.add(text, end)
	f.offset = end
}

func (f *follower) newBatch() *Batch {
	mem := batchMemories.Get().(*batchMemory)
	b := &Batch{Path: f.path, File: f.id, Start: f.offset, Size: f.size, lineCap: rawLineCap(f.tl.opts.MaxLineBytes),
		buf: mem.buf, Lines: mem.lines}
	b.release = func() {
		b.recycle()
		f.credits <- struct{}{}
	}
	return b
}

// flush sends the current batch, if it holds lines. It blocks while
// batchesInFlight batches wait for the consumer, and returns false when ctx
// is cancelled first.
func (f *follower) flush(ctx context.Context, more bool) bool {
	if f.batch == nil || len(f.batch.Lines) == 0 {
		return true
	}
	b := f.batch
	f.batch = nil
	b.More, b.Size, b.File = more, max(f.size, f.offset), f.id
	if f.linesRead == nil {
		// Looked up once: a label lookup per batch costs more than the count.
		f.linesRead = f.tl.metrics.lines.WithLabelValues(f.labels[0])
		f.bytesRead = f.tl.metrics.bytes.WithLabelValues(f.labels[0])
	}
	f.linesRead.Add(float64(len(b.Lines)))
	f.bytesRead.Add(float64(f.offset - b.Start))
	return f.send(ctx, b)
}

// flushEmpty sends a batch without lines, which moves the path's position to
// the follower's file and offset.
func (f *follower) flushEmpty(ctx context.Context) bool {
	b := f.newBatch()
	return f.send(ctx, b)
}

func (f *follower) sendDone(ctx context.Context) {
	b := f.newBatch()
	b.Done = true
	f.send(ctx, b)
}

func (f *follower) send(ctx context.Context, b *Batch) bool {
	select {
	case <-f.credits:
	case <-ctx.Done():
		return false
	}
	select {
	case f.tl.out <- b:
		return true
	case <-ctx.Done():
		f.credits <- struct{}{}
		return false
	}
}

// idle reports whether every batch sent was released by the consumer.
func (f *follower) idle() bool {
	return len(f.credits) == batchesInFlight && (f.batch == nil || len(f.batch.Lines) == 0)
}

// reportLost logs and counts bytes of a position's file that are no longer
// on disk.
func (f *follower) reportLost(res *resolution) {
	if res.lostBytes <= 0 {
		return
	}
	f.tl.metrics.unread(f.labels, reasonRotatedAway, res.lostBytes)
	f.log.Error("file was rotated away or truncated before it was read to its end",
		"file", res.lostFile, "unread_bytes_at_least", res.lostBytes)
}

// nextHasData reports whether writes have moved on from the file being read
// to the file now at the path. The runtime reopens its log after a rename,
// and never writes to the renamed file again once the new one has data.
func (f *follower) nextHasData() bool {
	fi, err := os.Stat(f.path)
	if err != nil {
		return false
	}
	return !statID(fi).sameInode(f.id) && fi.Size() > 0
}

// parentExists reports whether the path's folder still exists. A pod's
// folder is removed only after its containers stopped.
func (f *follower) parentExists() bool {
	_, err := os.Stat(filepath.Dir(f.path))
	return !errors.Is(err, fs.ErrNotExist)
}
