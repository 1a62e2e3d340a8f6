package loki

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	lokiclient "github.com/grafana/loki-client-go/loki"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// errPusherClosed is returned by Deliver after the sink was closed.
var errPusherClosed = errors.New("loki sink is closed")

// pusher is the spool's backend. It hands alerts to a loki-client-go
// client through a session, and reports an alert delivered once the
// client's counters account for all of its entries.
type pusher struct {
	name    string
	host    string
	cfg     lokiclient.Config
	builder *entryBuilder
	book    *book
	read    countReader
	log     *slog.Logger
	redact  func(error) error

	mu     sync.Mutex
	sess   *session
	closed bool
}

var _ spool.Backend = (*pusher)(nil)

func newPusher(cfg Config, lc lokiclient.Config, spoolDir string, log *slog.Logger, redact func(error) error) *pusher {
	host := lc.URL.Host
	return &pusher{
		name:    cfg.Name,
		host:    host,
		cfg:     lc,
		builder: newEntryBuilder(cfg),
		book:    bookFor(spoolDir),
		read:    hostCounts(prometheus.DefaultGatherer, host),
		log:     log,
		redact:  redact,
	}
}

// Deliver hands the pending alerts that no client holds to the client, and
// waits until the client has sent or given up on at least one of them, or
// ctx ends. Alerts still in flight when it returns are not handed in again
// by the next call, which waits for them instead.
//
// An alert that Loki rejected in a batch with other alerts is handed in
// again alone, so that only the invalid alerts are dropped. Loki stores the
// valid streams of a rejected request anyway, and ignores the repeated
// entries because their labels, timestamp and line are the same.
func (p *pusher) Deliver(ctx context.Context, pending []*spool.Entry) spool.Result {
	p.book.forgetBefore(pending[0].ID)
	for {
		changed := p.book.changes()
		if res, ok := p.book.collect(pending); ok {
			return res
		}
		sess, previous, err := p.session()
		if err != nil {
			return spool.Result{Err: err}
		}
		if sess != nil {
			p.handIn(sess, pending)
		}
		select {
		case <-changed:
		case <-previous:
		case <-ctx.Done():
			return spool.Result{Err: ctx.Err()}
		}
	}
}

// handIn queues for the session the pending alerts that are neither in
// flight nor settled. An alert that cannot be encoded is rejected, because
// it never will be.
func (p *pusher) handIn(sess *session, pending []*spool.Entry) {
	var jobs []job
	for _, e := range pending {
		k := keyOf(e)
		start, alone := p.book.startFlight(k)
		if !start {
			continue
		}
		entries, err := p.builder.entries(e)
		if err != nil {
			p.book.settle(k, outcome{kind: rejected, err: err})
			continue
		}
		f := &flight{key: k, alone: alone, left: len(entries)}
		jobs = append(jobs, job{flight: f, entries: entries})
	}
	sess.enqueue(jobs)
}

// session returns the running session, starting one when there is none.
// While the previous session of the host is still stopping, it returns
// that session's done channel instead.
func (p *pusher) session() (*session, <-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, errPusherClosed
	}
	if p.sess != nil {
		if !p.sess.broken() {
			return p.sess, nil, nil
		}
		p.log.Error("loki client counters no longer match the alerts handed in, restarting the client",
			"err", p.sess.tracker.brokenErr())
		p.sess.shutdown()
		p.sess = nil
	}
	sess, previous, err := startSession(p.host, p.newSession)
	if err != nil {
		return nil, nil, err
	}
	p.sess = sess
	return sess, previous, nil
}

// newSession starts a client. The previous client of the host has stopped,
// so the counters hold still until the first entry is handed in.
func (p *pusher) newSession() (*session, error) {
	t := newTracker(p.read, p.book)
	logger := &clientLogger{log: p.log, tracker: t, redact: p.redact}
	client, err := lokiclient.NewWithLogger(p.cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("start loki client: %w", err)
	}
	base, err := p.read()
	if err != nil {
		client.Stop()
		return nil, err
	}
	t.start(base)
	return newSession(client, t, p.book, p.log), nil
}

// close stops handing in and stops the client within ctx. A client that
// is still sending when ctx ends keeps running in the background, and the
// alerts it has not confirmed stay in the spool.
func (p *pusher) close(ctx context.Context) {
	p.mu.Lock()
	p.closed = true
	sess := p.sess
	p.sess = nil
	p.mu.Unlock()
	if sess == nil {
		return
	}
	sess.shutdown()
	select {
	case <-sess.done:
	case <-ctx.Done():
		p.log.Warn("loki client still sending after the shutdown deadline, alerts it has not confirmed stay in the spool",
			"alerts", p.book.inFlightCount())
	}
}
