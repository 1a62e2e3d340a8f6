// Package spool is the delivery machinery that every alert sink shares: a
// durable queue in the state folder, a retry loop with exponential backoff
// and jitter, and a bounded drain on shutdown. A backend only sends what it
// is given and reports which alerts were delivered, which were rejected for
// good, and whether the rest is worth retrying.
//
// Send writes each alert to its own file and syncs it before returning, so
// the agent may move its read position past the line that raised the alert.
// One goroutine per Spool reads the files in order and hands them to the
// backend, and removes each file once its alert is delivered or refused. Files
// left at Close, or by a crash, are delivered after the next Open.
//
// Delivery is at least once. An alert is sent twice when the process stops
// after the backend accepted it and before its file was removed.
package spool

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
)

// Backend sends alerts to one destination.
type Backend interface {
	// Deliver sends some of the pending alerts, oldest first, usually in one
	// request, and reports what became of them. Entries that the Result
	// names neither delivered nor rejected stay queued. Deliver is called
	// from one goroutine and must return soon after ctx is cancelled.
	Deliver(ctx context.Context, pending []*Entry) Result
}

// Entry is one queued alert.
type Entry struct {
	ID     uint64
	Alert  *scanner.Alert
	Queued time.Time
}

// Result is the outcome of one Deliver call.
type Result struct {
	// Delivered lists the entries the destination accepted.
	Delivered []*Entry
	// Rejected lists the entries the destination rejected for good, such as
	// with an HTTP 400. They are dropped, counted and logged with RejectErr.
	Rejected  []*Entry
	RejectErr error
	// Err is a failure worth retrying. Wrap it in a RetryAfterError when the
	// server named a time to wait.
	Err error
}

// Options are the name, folder, logger and registerer of a spool.
type Options struct {
	// Name is the sink's name, used in logs and as the sink label.
	Name string
	// Dir is the spool folder, created when missing.
	Dir string
	// Logger and Registerer may be nil.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Spool is a sinks.Sink that queues alerts on disk and delivers them
// through a Backend. Send and Close are safe for concurrent use.
type Spool struct {
	backend Backend
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	store   *store
	window  int

	sendMu sync.Mutex // serialises Send and the start of Close

	mu     sync.Mutex // guards the fields below
	items  []*item    // queued alerts in id order
	bytes  int64
	nextID uint64
	closed bool

	wake      chan struct{} // has a value when Send added an alert
	draining  chan struct{} // closed by Close
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{} // closed when the delivery loop ends
	closeOnce sync.Once
	closeErr  error
}

// item is one alert file in the queue.
type item struct {
	id       uint64
	severity scanner.Severity
	size     int64
	entry    *Entry // read from disk when the item reaches the head
	inFlight bool   // passed to Deliver right now, so never evicted
	evicting bool   // chosen as a victim by makeRoom
}

var _ sinks.Sink = (*Spool)(nil)

// Open opens or creates the spool folder, queues the alerts found in it and
// starts delivering them through b.
func Open(b Backend, cfg Config, opts Options) (*Spool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer, opts.Name)
	if err != nil {
		return nil, err
	}
	st, files, err := openStore(opts.Dir)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := &Spool{
		backend:  b,
		cfg:      cfg,
		log:      log,
		metrics:  m,
		store:    st,
		window:   max(1, min(maxWindow, cfg.MaxAlerts/2)),
		nextID:   1,
		wake:     make(chan struct{}, 1),
		draining: make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	for _, f := range files {
		s.items = append(s.items, &item{id: f.id, severity: f.severity, size: f.size})
		s.bytes += f.size
		s.nextID = f.id + 1
	}
	s.updateGauges()
	if len(files) > 0 {
		log.Info("spool opened with queued alerts", "alerts", len(files), "bytes", s.bytes)
	}
	go s.run()
	return s, nil
}

// Send writes a to the spool and returns once the file is synced to disk.
// When the spool is full, the oldest alert of the lowest severity is
// dropped, which may be a itself. Send then still returns nil, because
// retrying would not change the outcome. The drop is counted and logged.
func (s *Spool) Send(ctx context.Context, a *scanner.Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := encodeRecord(a, time.Now())
	if err != nil {
		return err
	}
	size := int64(len(data))

	s.sendMu.Lock()
	defer s.sendMu.Unlock()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	victims, fits := s.makeRoom(a.Severity, size)
	id := s.nextID
	if fits {
		s.nextID++
	}
	s.mu.Unlock()

	for _, v := range victims {
		s.drop(v, reasonSpoolFull, "spool full, dropped the oldest alert of the lowest severity")
	}
	if !fits {
		s.metrics.dropped[reasonSpoolFull].Inc()
		s.log.Error("spool full, dropped the new alert", "rule", a.Rule, "severity", a.Severity.String(),
			"spool_max_alerts", s.cfg.MaxAlerts, "spool_max_bytes", s.cfg.MaxBytes)
		return nil
	}

	if err := s.store.write(id, a.Severity, data); err != nil {
		return err
	}
	s.mu.Lock()
	s.items = append(s.items, &item{id: id, severity: a.Severity, size: size})
	s.bytes += size
	s.updateGauges()
	s.mu.Unlock()
	s.metrics.queued.Inc()

	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// makeRoom removes from the queue the alerts that must go so that one more
// alert of severity sev and size bytes fits. It returns false, and removes
// nothing, when the new alert itself is the one to drop, because it has the
// lowest severity or only alerts being delivered right now could make room.
// s.mu must be held.
func (s *Spool) makeRoom(sev scanner.Severity, size int64) ([]*item, bool) {
	if size > s.cfg.MaxBytes {
		return nil, false
	}
	count, bytes := len(s.items), s.bytes
	var victims []*item
	for count+1 > s.cfg.MaxAlerts || bytes+size > s.cfg.MaxBytes {
		v := s.victim()
		if v == nil || v.severity > sev {
			for _, c := range victims {
				c.evicting = false
			}
			return nil, false
		}
		v.evicting = true
		victims = append(victims, v)
		count--
		bytes -= v.size
	}
	if len(victims) > 0 {
		s.items = slices.DeleteFunc(s.items, func(it *item) bool { return it.evicting })
		for _, v := range victims {
			s.bytes -= v.size
		}
		s.updateGauges()
	}
	return victims, true
}

// victim returns the oldest item of the lowest severity that is neither
// being delivered nor already chosen. s.mu must be held.
func (s *Spool) victim() *item {
	var best *item
	for _, it := range s.items {
		if it.inFlight || it.evicting {
			continue
		}
		if best == nil || it.severity < best.severity {
			best = it
		}
	}
	return best
}

// drop counts and logs a dropped item that already left the queue, and
// removes its file. args are more log attributes.
func (s *Spool) drop(it *item, reason, msg string, args ...any) {
	s.metrics.dropped[reason].Inc()
	args = append([]any{"reason", reason, "alert_id", it.id, "severity", it.severity.String()}, args...)
	s.log.Error(msg, args...)
	if err := s.store.remove(it.id, it.severity); err != nil {
		s.log.Error("remove dropped alert", "alert_id", it.id, "err", err)
	}
}

// Len returns how many alerts wait in the spool.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// Close stops accepting alerts and keeps delivering until the spool is
// empty or ctx ends. Then it cancels the delivery in progress and releases
// the folder. Alerts not delivered stay in the spool for the next Open, so
// an expired ctx loses nothing and Close still returns nil.
func (s *Spool) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.sendMu.Lock()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.sendMu.Unlock()
		close(s.draining)

		start := time.Now()
		select {
		case <-s.done:
		case <-ctx.Done():
			s.cancel()
			<-s.done
		}
		s.cancel()

		s.mu.Lock()
		left, bytes := len(s.items), s.bytes
		s.mu.Unlock()
		if left > 0 {
			s.log.Warn("closed with alerts left in the spool, to be sent after the next start",
				"alerts", left, "bytes", bytes, "duration", time.Since(start))
		} else {
			s.log.Info("closed with the spool empty", "duration", time.Since(start))
		}
		s.closeErr = s.store.close()
	})
	return s.closeErr
}

func (s *Spool) updateGauges() {
	s.metrics.spoolAlerts.Set(float64(len(s.items)))
	s.metrics.spoolBytes.Set(float64(s.bytes))
}
