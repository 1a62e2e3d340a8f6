package loki

import (
	"log/slog"
	"sync"
	"time"

	lokiclient "github.com/grafana/loki-client-go/loki"
)

// A session reads the client's counters every pollInterval while entries
// are outstanding, and less often, up to maxPollInterval, while reads find
// nothing new, as when the client retries a batch. One read gathers the
// whole default registry, which took 0.5 to 0.65 ms in BenchmarkHostCounts
// on a shared 2-core AMD EPYC machine.
const (
	pollInterval    = 20 * time.Millisecond
	maxPollInterval = 200 * time.Millisecond
)

// job is one alert to hand in, with its entries.
type job struct {
	flight  *flight
	entries []streamEntry
}

// session is one loki-client-go client with the goroutines around it:
//
//   - send is the only goroutine that calls Handle, which blocks while the
//     client sends a batch, for as long as the client retries it;
//   - watch polls the client's counters while entries are outstanding;
//   - finish, started by shutdown, waits for send to leave Handle, calls
//     Stop and settles what the client counted. Handle after Stop would
//     block forever, so Stop is never called while send is in Handle.
type session struct {
	client  *lokiclient.Client
	tracker *tracker
	book    *book
	log     *slog.Logger

	mu   sync.Mutex
	jobs []job
	// ended is set when send has returned; jobs queued after that are
	// released at once.
	ended bool
	wake  chan struct{}

	stop      chan struct{} // closed by shutdown
	stopOnce  sync.Once
	sendDone  chan struct{}
	watchQuit chan struct{}
	watchDone chan struct{}
	done      chan struct{} // closed when the client has stopped and its counts are settled
}

func newSession(client *lokiclient.Client, t *tracker, b *book, log *slog.Logger) *session {
	s := &session{
		client:    client,
		tracker:   t,
		book:      b,
		log:       log,
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		sendDone:  make(chan struct{}),
		watchQuit: make(chan struct{}),
		watchDone: make(chan struct{}),
		done:      make(chan struct{}),
	}
	go s.send()
	go s.watch()
	return s
}

// enqueue queues jobs for send, without blocking.
func (s *session) enqueue(jobs []job) {
	if len(jobs) == 0 {
		return
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		for _, j := range jobs {
			s.book.release(j.flight.key)
		}
		return
	}
	s.jobs = append(s.jobs, jobs...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// send hands the queued alerts to the client, in order. An alert that must
// go alone is handed in when no entry is outstanding, and the next one only
// after it is counted, so that its batches hold nothing else.
func (s *session) send() {
	defer s.endSend()
	for {
		j, ok := s.next()
		if !ok {
			return
		}
		if j.flight.alone && !s.waitIdle() {
			s.book.release(j.flight.key)
			return
		}
		s.tracker.add(j.flight)
		for _, e := range j.entries {
			// Handle always returns nil.
			_ = s.client.Handle(e.labels, e.time, e.line)
		}
		if j.flight.alone && !s.waitIdle() {
			return
		}
	}
}

// next returns the oldest queued job, waiting for one. It returns false
// once shutdown was called, even when jobs are queued.
func (s *session) next() (job, bool) {
	for {
		select {
		case <-s.stop:
			return job{}, false
		default:
		}
		s.mu.Lock()
		if len(s.jobs) > 0 {
			j := s.jobs[0]
			s.jobs[0] = job{}
			s.jobs = s.jobs[1:]
			s.mu.Unlock()
			return j, true
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.stop:
			return job{}, false
		}
	}
}

// endSend releases the jobs that were never handed in.
func (s *session) endSend() {
	s.mu.Lock()
	s.ended = true
	rest := s.jobs
	s.jobs = nil
	s.mu.Unlock()
	for _, j := range rest {
		s.book.release(j.flight.key)
	}
	close(s.sendDone)
}

// waitIdle waits until every entry handed in is counted. It returns false
// when shutdown is called first.
func (s *session) waitIdle() bool {
	for {
		changed := s.tracker.changes()
		if s.tracker.outstanding() == 0 {
			return true
		}
		select {
		case <-changed:
		case <-s.stop:
			return false
		}
	}
}

// watch polls the counters while entries are outstanding.
func (s *session) watch() {
	defer close(s.watchDone)
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	interval := pollInterval
	for {
		if s.tracker.outstanding() == 0 {
			select {
			case <-s.tracker.work:
				interval = pollInterval
			case <-s.watchQuit:
				return
			}
			continue
		}
		timer.Reset(interval)
		select {
		case <-timer.C:
		case <-s.watchQuit:
			return
		}
		if s.tracker.poll() {
			interval = pollInterval
		} else {
			interval = min(2*interval, maxPollInterval)
		}
	}
}

// shutdown stops handing in and starts stopping the client. Wait on
// s.done for the end.
func (s *session) shutdown() {
	s.stopOnce.Do(func() {
		close(s.stop)
		go s.finish()
	})
}

func (s *session) finish() {
	<-s.sendDone
	s.client.Stop()
	close(s.watchQuit)
	<-s.watchDone
	// The client has counted every batch it will ever send or drop.
	s.tracker.poll()
	if n := s.tracker.releaseAll(); n > 0 {
		s.log.Warn("loki client stopped without counting some alerts, they stay in the spool", "alerts", n)
	}
	close(s.done)
}

// broken reports whether the counters no longer match what was handed in,
// so that the session must be replaced.
func (s *session) broken() bool {
	return s.tracker.brokenErr() != nil
}
