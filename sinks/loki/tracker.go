package loki

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klaxon-agent/klaxon/sinks/internal/sinkhttp"
)

// counts are the values of loki-client-go's promtail_sent_entries_total and
// promtail_dropped_entries_total for one host.
type counts struct {
	sent, dropped float64
}

// countReader returns the current counts of one host.
type countReader func() (counts, error)

// flight is one alert handed to the client.
type flight struct {
	key entryKey
	// alone is set when no other alert may share a batch with this one.
	alone bool
	// left is the number of its entries not yet counted.
	left int
	// result is the worst outcome of its entries counted so far.
	result outcome
}

func (f *flight) worsen(o outcome) {
	if o.kind > f.result.kind {
		f.result = o
	}
}

// giveUp is a batch that the client gave up on, with the counts from just
// before the client added the batch to the dropped counter.
type giveUp struct {
	before counts
	status int
	err    error
}

// tracker confirms the entries handed to one client, oldest first.
//
// The client has one goroutine that sends the batches of a tenant one at a
// time, in the order the entries were handed in. It adds the size of each
// batch to the sent or the dropped counter of the host, so each unit of
// increase belongs to the oldest entry not yet counted. The
// client logs a batch it gives up on just before it adds it to the dropped
// counter; gaveUp records the counts at that moment, which places the drop
// among the sends.
type tracker struct {
	read countReader
	book *book

	mu sync.Mutex
	// counted are the counts that the entries counted so far account for.
	counted counts
	// queue has one element per entry handed in and not yet counted.
	queue   []*flight
	giveUps []giveUp
	// broken is set when the counts no longer match the entries handed in.
	// Every flight then fails, and later counts are ignored.
	broken  error
	changed chan struct{}
	// work has a value when add queued entries for the watch loop.
	work chan struct{}
}

func newTracker(read countReader, b *book) *tracker {
	return &tracker{read: read, book: b, changed: make(chan struct{}), work: make(chan struct{}, 1)}
}

// start sets the counts that the client's counters have before the first
// entry is handed in.
func (t *tracker) start(base counts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counted = base
}

// add queues the entries of f. It must be called before they are handed
// in, so that the counters never include an entry the tracker does not
// know.
func (t *tracker) add(f *flight) {
	t.mu.Lock()
	if t.broken != nil {
		err := t.broken
		t.mu.Unlock()
		t.book.settle(f.key, outcome{kind: failed, err: err})
		return
	}
	for range f.left {
		t.queue = append(t.queue, f)
	}
	t.mu.Unlock()
	select {
	case t.work <- struct{}{}:
	default:
	}
}

// outstanding returns the number of entries handed in and not yet counted.
func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.queue)
}

// changes returns a channel that is closed at the next change of the queue.
func (t *tracker) changes() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// brokenErr returns why the counts no longer match, or nil.
func (t *tracker) brokenErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.broken
}

// gaveUp records a batch that the client gave up on. The client calls it,
// through its logger, from the goroutine that sends, before it counts the
// batch as dropped, so the counts read here are exact.
func (t *tracker) gaveUp(status int, err error) {
	c, readErr := t.read()
	t.mu.Lock()
	defer t.mu.Unlock()
	if readErr != nil {
		t.breakLocked(readErr)
		return
	}
	t.giveUps = append(t.giveUps, giveUp{before: c, status: status, err: err})
}

// lost breaks the tracker because the client lost entries without counting
// them, as it does when it fails to encode a batch.
func (t *tracker) lost(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.breakLocked(fmt.Errorf("loki client lost a batch: %w", err))
}

// poll reads the counters and settles the flights whose entries they
// account for. It returns whether it counted any entry. The counts are
// read before the lock is taken: a give-up that is not yet in t.giveUps
// then cannot be part of them, because the client records it before it
// counts the drop.
func (t *tracker) poll() bool {
	c, err := t.read()
	t.mu.Lock()
	defer t.mu.Unlock()
	before := len(t.queue)
	if err != nil {
		t.breakLocked(err)
	} else {
		t.applyLocked(c)
	}
	return len(t.queue) != before
}

func (t *tracker) applyLocked(c counts) {
	if t.broken != nil {
		return
	}
	before := len(t.queue)
	defer func() {
		if len(t.queue) != before {
			t.notifyLocked()
		}
	}()
	for len(t.giveUps) > 0 {
		g := t.giveUps[0]
		if !t.countSentLocked(g.before.sent) {
			return
		}
		end := c.dropped
		if len(t.giveUps) > 1 {
			end = t.giveUps[1].before.dropped
		}
		if end <= g.before.dropped {
			// The client has not yet added this batch to the counter.
			return
		}
		if !t.countDroppedLocked(g, end) {
			return
		}
		t.giveUps = t.giveUps[1:]
	}
	if c.dropped > t.counted.dropped {
		t.breakLocked(errors.New("loki client dropped entries without logging a give-up"))
		return
	}
	t.countSentLocked(c.sent)
}

// countSentLocked settles the entries up to the sent count total. A total
// below the counted one comes from a read that a give-up recorded later
// has overtaken, and settles nothing.
//
// NOTE: the client counts every 2xx response as sent, also the 260 that Loki
// returns by default when it blocks ingestion, so such alerts count as
// delivered although Loki did not store them.
func (t *tracker) countSentLocked(total float64) bool {
	n := int(total - t.counted.sent)
	if n <= 0 {
		return true
	}
	if n > len(t.queue) {
		t.breakLocked(fmt.Errorf("loki client counted %d sent entries, but %d are outstanding; another client may push to the same host", n, len(t.queue)))
		return false
	}
	t.popLocked(n, outcome{kind: delivered})
	t.counted.sent = total
	return true
}

// countDroppedLocked settles the entries of the batch that g records, which
// ends at the dropped count end. When Loki rejected a batch of several
// alerts, each of them is sent again alone to find the invalid ones.
func (t *tracker) countDroppedLocked(g giveUp, end float64) bool {
	n := int(end - g.before.dropped)
	if t.counted.dropped != g.before.dropped || n > len(t.queue) {
		t.breakLocked(fmt.Errorf("loki client counted %d dropped entries, but %d are outstanding; another client may push to the same host", n, len(t.queue)))
		return false
	}
	o := outcome{kind: failed, err: g.err}
	if permanentStatus(g.status) {
		o.kind = rejected
		if distinctFlights(t.queue[:n]) > 1 {
			o.kind = resendAlone
		}
	}
	t.popLocked(n, o)
	t.counted.dropped = end
	return true
}

// popLocked counts the n oldest entries with outcome o, and settles each
// flight whose entries are all counted.
func (t *tracker) popLocked(n int, o outcome) {
	for _, f := range t.queue[:n] {
		f.worsen(o)
		f.left--
		if f.left == 0 {
			t.book.settle(f.key, f.result)
		}
	}
	clear(t.queue[:n])
	t.queue = t.queue[n:]
}

// breakLocked fails every queued flight with err, once.
func (t *tracker) breakLocked(err error) {
	if t.broken != nil {
		return
	}
	t.broken = err
	seen := map[*flight]bool{}
	for _, f := range t.queue {
		if !seen[f] {
			seen[f] = true
			t.book.settle(f.key, outcome{kind: failed, err: err})
		}
	}
	t.queue = nil
	t.giveUps = nil
	t.notifyLocked()
}

// releaseAll gives back the flights still queued, once the client has
// stopped without counting them, so that they can be handed in again.
func (t *tracker) releaseAll() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := map[*flight]bool{}
	for _, f := range t.queue {
		if !seen[f] {
			seen[f] = true
			t.book.release(f.key)
		}
	}
	t.queue = nil
	t.notifyLocked()
	return len(seen)
}

func (t *tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func distinctFlights(entries []*flight) int {
	seen := map[*flight]bool{}
	for _, f := range entries {
		seen[f] = true
	}
	return len(seen)
}

// permanentStatus reports whether Loki found the request itself invalid,
// so that sending the same entries again cannot succeed. Status -1 stands
// for a connection error.
func permanentStatus(status int) bool {
	return status > 0 && (&sinkhttp.StatusError{Code: status}).Permanent()
}
