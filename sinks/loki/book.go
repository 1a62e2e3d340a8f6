package loki

import (
	"path/filepath"
	"sync"

	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// outcomeKind orders what became of an alert, from best to worst.
type outcomeKind int

const (
	// delivered: Loki accepted every entry of the alert.
	delivered outcomeKind = iota
	// failed: the client gave up on an entry for a reason worth retrying,
	// such as a connection error, a 429 or a 5xx status.
	failed
	// resendAlone: Loki rejected a batch that held entries of several
	// alerts, so the alert is sent again in batches of its own.
	resendAlone
	// rejected: Loki rejected a batch that held only entries of this alert.
	rejected
)

type outcome struct {
	kind outcomeKind
	err  error
}

// entryKey identifies a spooled alert. The spool reuses ids after it was
// emptied and opened again, so the time it was queued is part of the key.
type entryKey struct {
	id     uint64
	queued int64
}

func keyOf(e *spool.Entry) entryKey {
	return entryKey{id: e.ID, queued: e.Queued.UnixNano()}
}

// book records, for one spool folder, the alerts handed to a client and
// the outcomes not yet reported to the spool. A book outlives the Sink that
// made it. When a sink is opened again on the same folder in the same
// process, it waits for the alerts that the previous sink's client still
// has, and reports their outcomes instead of sending them a second time.
type book struct {
	mu       sync.Mutex
	inFlight map[entryKey]bool
	outcomes map[entryKey]outcome
	// alone marks alerts that must be sent in batches of their own.
	alone   map[entryKey]bool
	changed chan struct{}
}

func newBook() *book {
	return &book{
		inFlight: map[entryKey]bool{},
		outcomes: map[entryKey]outcome{},
		alone:    map[entryKey]bool{},
		changed:  make(chan struct{}),
	}
}

// books has one book per spool folder of this process.
var books = struct {
	mu sync.Mutex
	m  map[string]*book
}{m: map[string]*book{}}

// bookFor returns the book of the spool folder dir.
func bookFor(dir string) *book {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	books.mu.Lock()
	defer books.mu.Unlock()
	b, ok := books.m[dir]
	if !ok {
		b = newBook()
		books.m[dir] = b
	}
	return b
}

// changes returns a channel that is closed at the next change of the book.
func (b *book) changes() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

func (b *book) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// startFlight marks the alert as handed in, unless it is in flight already
// or has an outcome. It returns whether the caller should hand it in, and
// whether it must go alone.
func (b *book) startFlight(k entryKey) (start, alone bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inFlight[k] {
		return false, false
	}
	if _, ok := b.outcomes[k]; ok {
		return false, false
	}
	b.inFlight[k] = true
	return true, b.alone[k]
}

// settle records the outcome of an alert in flight.
func (b *book) settle(k entryKey, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inFlight, k)
	b.outcomes[k] = o
	b.notifyLocked()
}

// release takes an alert out of flight without an outcome, because it was
// never handed to a client or its client stopped without counting it.
func (b *book) release(k entryKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inFlight, k)
	b.notifyLocked()
}

// inFlightCount returns how many alerts clients hold.
func (b *book) inFlightCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.inFlight)
}

// collect takes the outcomes of pending alerts into a Result, and reports
// whether any alert was delivered, rejected or failed. A failed alert loses
// its outcome, so that the next call hands it in again. One Result carries
// one RejectErr, so rejections with another error wait for the next call.
func (b *book) collect(pending []*spool.Entry) (spool.Result, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var res spool.Result
	progress := false
	for _, e := range pending {
		k := keyOf(e)
		o, ok := b.outcomes[k]
		if !ok {
			continue
		}
		switch o.kind {
		case delivered:
			res.Delivered = append(res.Delivered, e)
			delete(b.alone, k)
		case rejected:
			if res.RejectErr != nil && res.RejectErr != o.err {
				continue
			}
			res.Rejected = append(res.Rejected, e)
			res.RejectErr = o.err
			delete(b.alone, k)
		case failed:
			if res.Err == nil {
				res.Err = o.err
			}
		case resendAlone:
			b.alone[k] = true
			delete(b.outcomes, k)
			continue
		}
		delete(b.outcomes, k)
		progress = true
	}
	return res, progress
}

// forgetBefore drops the outcomes and marks of alerts with an id below
// head, the oldest alert in the spool: the spool has no such alert any
// more, because it delivers in id order.
func (b *book) forgetBefore(head uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.outcomes {
		if k.id < head {
			delete(b.outcomes, k)
		}
	}
	for k := range b.alone {
		if k.id < head {
			delete(b.alone, k)
		}
	}
}
