package follow

import (
	"container/heap"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// holdMax bounds how long lines wait for a file that is behind: past it,
// lines are processed although that file may still deliver older ones.
const holdMax = 250 * time.Millisecond

// entry is one queued item of a stream: a decoded line, or a position to
// record once everything queued before it is handled.
type entry struct {
	line   scanner.Line // Text is a copy; unset for a position
	isLine bool
	done   bool // the path is gone: forget its position
	pos    Position
	ref    *batchRef
}

// batchRef releases a batch once all lines decoded from it are handled, so a
// follower stops reading while its lines wait in the merge.
type batchRef struct {
	b    *Batch
	left int
}

func (r *batchRef) drop() {
	if r == nil {
		return
	}
	r.left--
	if r.left == 0 {
		r.b.Release()
	}
}

// stream is the merge state of one followed path.
type stream struct {
	path  string
	src   *scanner.Source
	dec   *scanner.Decoder
	queue []entry
	index int // in the merge heap, -1 when not in it

	file      FileID // the file the decoder is reading
	rawEnd    int64  // end of the last raw line decoded
	safe      int64  // end of the last raw line after which no partial line was pending
	size      int64
	lastRaw   time.Time
	multiline bool                 // the decoder joins multi-line events
	stats     scanner.DecoderStats // the decoder's counts already added to the metrics
	behind    bool                 // the last batch was full: older lines may follow
	behindAt  time.Time

	// passBy offers a line to the engine's PassBy; passed and passedTime
	// count the lines it took since settlePassed and the last one's time.
	passBy     func(t time.Time, text []byte) bool
	passed     int
	passedTime time.Time
}

// headTime is the time the merge orders a stream by. A queued position
// carries no time and goes first.
func (s *stream) headTime() time.Time {
	e := &s.queue[0]
	if !e.isLine {
		return time.Time{}
	}
	return e.line.Time
}

// mergeHeap orders streams with queued entries by their head's time.
type mergeHeap []*stream

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return h[i].headTime().Before(h[j].headTime()) }
func (h mergeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *mergeHeap) Push(x any) {
	s := x.(*stream)
	s.index = len(*h)
	*h = append(*h, s)
}
func (h *mergeHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	s.index = -1
	*h = old[:len(old)-1]
	return s
}

// merger releases queued entries of all streams in event-time order, as far
// as the files allow: it waits, up to holdMax, for a file that is behind and
// has nothing queued, because its next lines may be the oldest.
type merger struct {
	heap    mergeHeap
	streams map[string]*stream
	behind  map[*stream]bool // streams whose last batch was full
}

// setBehind records whether s's last batch was full.
func (m *merger) setBehind(s *stream, behind bool, now time.Time) {
	s.behind = behind
	if behind {
		s.behindAt = now
		m.behind[s] = true
	} else {
		delete(m.behind, s)
	}
}

// push queues e on s.
func (m *merger) push(s *stream, e entry) {
	s.queue = append(s.queue, e)
	if len(s.queue) == 1 {
		heap.Push(&m.heap, s)
	}
}

// next returns the stream whose head entry goes next, or nil when nothing
// may go yet.
func (m *merger) next(now time.Time) *stream {
	if len(m.heap) == 0 {
		return nil
	}
	s := m.heap[0]
	if s.headTime().IsZero() {
		return s
	}
	for o := range m.behind {
		if len(o.queue) == 0 && now.Sub(o.behindAt) < holdMax {
			return nil
		}
	}
	return s
}

// pop removes and returns the head entry of s.
func (m *merger) pop(s *stream) entry {
	e := s.queue[0]
	s.queue[0] = entry{}
	s.queue = s.queue[1:]
	if len(s.queue) == 0 {
		s.queue = nil
		heap.Remove(&m.heap, s.index)
	} else {
		heap.Fix(&m.heap, s.index)
	}
	return e
}

// queued returns how many entries wait in all streams.
func (m *merger) queued() int {
	n := 0
	for _, s := range m.streams {
		n += len(s.queue)
	}
	return n
}

// caughtUp reports whether no stream has queued entries or is behind.
func (m *merger) caughtUp() bool {
	return len(m.heap) == 0 && len(m.behind) == 0
}
