package follow

import (
	"sync"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Limits of one batch. A follower sends a batch when it is full, or sooner
// when no further line is ready.
const (
	maxBatchLines = 512
	maxBatchBytes = 256 << 10
	// batchesInFlight is how many batches of one follower may wait for the
	// consumer before the follower stops reading.
	batchesInFlight = 4
)

// RawLine is one physical line of a followed file.
type RawLine struct {
	// Text is the line without its '\n'. It is valid until the batch is
	// released.
	Text []byte
	// End is the offset just after the line in its file: a position that
	// resumes reading at the next line.
	End int64
}

// Batch is a run of consecutive lines from one file.
type Batch struct {
	// Path is the followed path; File identifies the file the lines were
	// read from, which is a rotated file while it is being finished.
	Path string
	File FileID
	// Start is the offset of the first line, and the position the path has
	// reached when the batch holds no lines. A batch without lines marks
	// the start of a new file or a forced position.
	Start int64
	// Size is the file's size when it was last checked.
	Size  int64
	Lines []RawLine
	// More is true when the follower had further lines ready: the file is
	// behind, and its next lines are older than the newest lines of files
	// that are not.
	More bool
	// Done is true on the last batch of a path that no longer exists and
	// was read to its end.
	Done bool

	buf     []byte
	lineCap int // see rawLineCap
	release func()
}

// Release returns the batch to its follower. Line texts are invalid after
// it, because the batch's memory is used again.
func (b *Batch) Release() {
	if release := b.release; release != nil {
		b.release = nil
		release()
	}
}

// batchMemory is the memory of a released batch, kept for the next one so
// that a follower does not allocate its texts and lines anew every read.
type batchMemory struct {
	buf   []byte
	lines []RawLine
}

var batchMemories = sync.Pool{New: func() any { return &batchMemory{} }}

// recycle keeps the batch's memory for another batch.
func (b *Batch) recycle() {
	if cap(b.buf) > 2*maxBatchBytes {
		return // grown by one huge line: let it go
	}
	clear(b.Lines) // drop the texts' references into buf
	batchMemories.Put(&batchMemory{buf: b.buf[:0], lines: b.Lines[:0]})
	b.buf, b.Lines = nil, nil
}

// rawLineCap returns how much of one line a batch copies for a maximum line
// size: one byte more, so the decoder still cuts, marks and counts the
// line. A longer line is held whole only once, by the reader that found its
// end.
func rawLineCap(maxLineBytes int) int {
	if maxLineBytes <= 0 {
		maxLineBytes = scanner.DefaultMaxLineBytes
	}
	return maxLineBytes + 1
}

// cap returns the batch's line cap, the default one when unset.
func (b *Batch) cap() int {
	if b.lineCap > 0 {
		return b.lineCap
	}
	return rawLineCap(0)
}

// add appends a copy of text, cut to the batch's line cap, as a line ending
// at end.
func (b *Batch) add(text []byte, end int64) {
	text = text[:min(len(text), b.cap())]
	start := len(b.buf)
	b.buf = append(b.buf, text...)
	b.Lines = append(b.Lines, RawLine{End: end})
	// Texts are sliced after the copy because append may move buf.
	b.Lines[len(b.Lines)-1].Text = b.buf[start:len(b.buf):len(b.buf)]
}

// full reports whether the batch reached its limits.
func (b *Batch) full() bool {
	return len(b.Lines) >= maxBatchLines || len(b.buf) >= maxBatchBytes
}
