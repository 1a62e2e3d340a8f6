package spool

import (
	"math/rand/v2"
	"time"
)

// maxWindow is how many alerts from the head of the queue one Deliver call
// may see. It bounds the memory held by decoded alerts.
const maxWindow = 256

// run is the delivery loop, the only goroutine that calls the backend and
// reads alert files. It ends when the queue is empty after Close, or when
// s.ctx is cancelled.
func (s *Spool) run() {
	defer close(s.done)
	failures := 0
	lastErr := ""
	var failingSince time.Time
	for {
		pending := s.head()
		if len(pending) == 0 {
			if !s.waitForWork() {
				return
			}
			continue
		}

		res := s.backend.Deliver(s.ctx, pending)
		progress := s.settle(pending, res)
		if res.Err == nil && progress {
			if failures > 0 {
				s.log.Info("delivery recovered", "attempt", failures+1, "duration", time.Since(failingSince))
			}
			failures, lastErr = 0, ""
			continue
		}
		if s.ctx.Err() != nil {
			return
		}

		err := res.Err
		if err == nil {
			err = errNoProgress
		}
		failures++
		s.metrics.failures.Inc()
		if failures == 1 {
			failingSince = time.Now()
		}
		// Log the first failure and every change of error at Warn, the
		// repeats at Debug, so an outage does not flood the log.
		if msg := err.Error(); msg != lastErr {
			s.log.Warn("delivery failed, will retry", "attempt", failures, "alerts", len(pending), "err", err)
			lastErr = msg
		} else {
			s.log.Debug("delivery failed, will retry", "attempt", failures, "alerts", len(pending), "err", err)
		}
		if !s.sleep(s.backoff(failures, retryAfter(err))) {
			return
		}
	}
}

// head marks the first alerts of the queue as in flight and returns them,
// reading their files when needed. Unreadable files are dropped.
func (s *Spool) head() []*Entry {
	s.mu.Lock()
	n := min(len(s.items), s.window)
	window := make([]*item, n)
	copy(window, s.items[:n])
	for _, it := range window {
		it.inFlight = true
	}
	s.mu.Unlock()

	entries := make([]*Entry, 0, n)
	for _, it := range window {
		if it.entry == nil {
			e, err := s.load(it)
			if err != nil {
				s.remove(it)
				s.drop(it, reasonUnreadable, "dropped an unreadable alert file", "err", err)
				continue
			}
			it.entry = e
		}
		entries = append(entries, it.entry)
	}
	return entries
}

func (s *Spool) load(it *item) (*Entry, error) {
	data, err := s.store.read(it.id, it.severity)
	if err != nil {
		return nil, err
	}
	a, queued, err := decodeRecord(data)
	if err != nil {
		return nil, err
	}
	return &Entry{ID: it.id, Alert: a, Queued: queued}, nil
}

// settle applies a Deliver result. Delivered and rejected alerts leave the
// queue and their files are removed, and the rest are no longer in flight.
// It reports whether any alert left the queue.
func (s *Spool) settle(pending []*Entry, res Result) bool {
	done := make(map[uint64]string, len(res.Delivered)+len(res.Rejected))
	for _, e := range res.Delivered {
		done[e.ID] = "delivered"
	}
	for _, e := range res.Rejected {
		done[e.ID] = reasonRejected
	}

	var removed []*item
	s.mu.Lock()
	for _, it := range s.items {
		it.inFlight = false
	}
	remaining := s.items[:0]
	for _, it := range s.items {
		if _, ok := done[it.id]; ok {
			removed = append(removed, it)
			s.bytes -= it.size
			continue
		}
		remaining = append(remaining, it)
	}
	clear(s.items[len(remaining):])
	s.items = remaining
	s.updateGauges()
	s.mu.Unlock()

	for _, it := range removed {
		if done[it.id] == reasonRejected {
			s.metrics.dropped[reasonRejected].Inc()
			s.log.Error("alert rejected by the destination, dropped", "alert_id", it.id,
				"rule", it.entry.Alert.Rule, "err", res.RejectErr)
		} else {
			s.metrics.delivered.Inc()
		}
		if err := s.store.remove(it.id, it.severity); err != nil {
			s.log.Error("remove delivered alert", "alert_id", it.id, "err", err)
		}
	}
	return len(removed) > 0
}

// remove takes one item out of the queue.
func (s *Spool) remove(target *item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, it := range s.items {
		if it == target {
			s.items = append(s.items[:i], s.items[i+1:]...)
			s.bytes -= it.size
			s.updateGauges()
			return
		}
	}
}

// waitForWork blocks until Send adds an alert. It returns false when the
// loop should end, that is when Close was called and the queue is empty,
// or when s.ctx was cancelled.
func (s *Spool) waitForWork() bool {
	if s.Len() > 0 {
		return true
	}
	select {
	case <-s.wake:
		return true
	case <-s.draining:
		return s.Len() > 0
	case <-s.ctx.Done():
		return false
	}
}

// sleep waits for d and returns false if s.ctx ends first.
func (s *Spool) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// backoff returns the wait after the given number of consecutive failures.
// The wait is RetryMin doubled per failure up to RetryMax, then reduced by
// a random amount of up to half, so that agents on many nodes do not retry
// in step. A server's Retry-After is never cut short.
func (s *Spool) backoff(failures int, after time.Duration) time.Duration {
	lo, hi := time.Duration(s.cfg.RetryMin), time.Duration(s.cfg.RetryMax)
	d := hi
	if failures-1 < 32 && lo<<(failures-1) > 0 && lo<<(failures-1) < hi {
		d = lo << (failures - 1)
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, after)
}
