// Package slack is a sink that posts alerts to Slack as Block Kit
// messages, through an incoming webhook or a bot token.
//
// Log text is escaped, and sent in text objects that Slack does not
// auto-link, so a log line cannot mention @channel, a user or a group, or
// show a link. Every text is cut to Slack's limits with a marker. The
// messages of one sink are at least a second apart, the rate per channel
// that Slack documents for chat.postMessage, and the Retry-After of a 429
// response is honoured. Alerts
// that wait meanwhile are merged into one message. In bot mode, reminders
// and later alerts of an episode are posted in the thread of its first
// message.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/internal/sinkhttp"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// messageInterval is the minimum time between two messages of one sink,
// because Slack's rate-limit documentation (docs.slack.dev/apis/web-api/rate-limits)
// allows about one message per second per channel.
const messageInterval = time.Second

// Sink delivers alerts to one Slack channel through a spool in the state
// folder.
type Sink struct {
	cfg     Config
	log     *slog.Logger
	poster  poster
	threads *threadStore // nil in webhook mode
	limiter limiter
	spool   *spool.Spool
}

var _ sinks.Sink = (*Sink)(nil)

// New validates cfg, reads its secret once to fail early, opens the sink's
// spool under opts.StateDir and starts delivering, beginning with alerts
// left in the spool by an earlier run.
func New(cfg Config, opts sinks.Options) (*Sink, error) {
	return newSink(cfg, opts, internals{interval: messageInterval})
}

// internals are settings that tests change and users do not.
type internals struct {
	interval  time.Duration     // between two messages
	transport http.RoundTripper // nil means http.DefaultTransport
}

func newSink(cfg Config, opts sinks.Options, in internals) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := checkSecret(cfg); err != nil {
		return nil, fmt.Errorf("slack sink %q: %w", cfg.Name, err)
	}
	s := &Sink{
		cfg:     cfg,
		log:     opts.LoggerOrDiscard().With("sink", cfg.Name),
		limiter: limiter{interval: in.interval},
	}
	client := &http.Client{Timeout: time.Duration(cfg.Timeout), Transport: in.transport}
	dir := opts.Dir(cfg.Name)
	if cfg.webhookMode() {
		s.poster = &webhookPoster{client: client, cfg: cfg}
	} else {
		s.poster = &botPoster{client: client, cfg: cfg}
		threads, err := loadThreads(filepath.Join(dir, "threads.json"))
		if err != nil {
			s.log.Warn("starting with no known threads", "err", err)
		}
		s.threads = threads
	}

	var err error
	s.spool, err = spool.Open(s, cfg.Config, spool.Options{
		Name:       cfg.Name,
		Dir:        filepath.Join(dir, "spool"),
		Logger:     s.log,
		Registerer: opts.Registerer,
	})
	if err != nil {
		return nil, fmt.Errorf("slack sink %q: %w", cfg.Name, err)
	}
	return s, nil
}

// checkSecret reads the webhook URL or token, so that a missing file or
// variable stops the agent at start rather than at the first alert.
func checkSecret(cfg Config) error {
	if !cfg.webhookMode() {
		_, err := sinks.ReadSecret("token_file", cfg.TokenFile, "token_env", cfg.TokenEnv)
		return err
	}
	target, err := sinks.ReadSecret("webhook_url_file", cfg.WebhookURLFile, "webhook_url_env", cfg.WebhookURLEnv)
	if err != nil {
		return err
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// The message must not quote the URL: it is the secret.
		return fmt.Errorf("webhook_url_file/webhook_url_env: the value is not an http or https URL")
	}
	return nil
}

// Send queues a in the spool and returns once it is on disk.
func (s *Sink) Send(ctx context.Context, a *scanner.Alert) error {
	return s.spool.Send(ctx, a)
}

// Close delivers what it can within ctx; the rest stays in the spool.
func (s *Sink) Close(ctx context.Context) error {
	return s.spool.Close(ctx)
}

// Deliver posts one message: the first pending alert, merged with up to
// maxPerMessage-1 later ones bound for the same place, that is the channel
// itself or the same thread.
func (s *Sink) Deliver(ctx context.Context, pending []*spool.Entry) spool.Result {
	now := time.Now()
	parent := s.parent(pending[0].Alert, now)
	var picked []*spool.Entry
	for _, e := range pending {
		if len(picked) == maxPerMessage {
			break
		}
		if s.parent(e.Alert, now) == parent {
			picked = append(picked, e)
		}
	}

	err := s.post(ctx, picked, parent)
	switch {
	case err == nil:
		return spool.Result{Delivered: picked}
	case !sinkhttp.IsPermanent(err):
		return spool.Result{Err: err}
	case len(picked) == 1:
		return spool.Result{Rejected: picked, RejectErr: err}
	}
	// Slack refused the merged message. Post the alerts one by one, so
	// that only an alert that is invalid on its own is dropped.
	var res spool.Result
	for _, e := range picked {
		err := s.post(ctx, []*spool.Entry{e}, parent)
		switch {
		case err == nil:
			res.Delivered = append(res.Delivered, e)
		case sinkhttp.IsPermanent(err):
			res.Rejected = append(res.Rejected, e)
			res.RejectErr = err
		default:
			res.Err = err
			return res
		}
	}
	return res
}

// post renders and sends one message after the rate limiter allows it,
// and records the thread that the message starts.
func (s *Sink) post(ctx context.Context, entries []*spool.Entry, parent thread) error {
	alerts := make([]*scanner.Alert, len(entries))
	for i, e := range entries {
		alerts[i] = e.Alert
	}
	msg := alertMessage(alerts[0])
	if len(alerts) > 1 {
		msg = mergedMessage(alerts)
	}
	if err := s.limiter.wait(ctx); err != nil {
		return err
	}
	posted, err := s.poster.post(ctx, msg, parent)
	s.limiter.sent(time.Now())
	if err != nil {
		if errors.Is(err, errThreadGone) {
			for _, a := range alerts {
				s.threads.forget(a.GroupKey)
			}
		}
		return err
	}
	s.recordThreads(alerts, parent, posted)
	return nil
}

// parent returns the thread an alert replies to: in bot mode, the thread
// of its group, unless the alert opens a new episode. The zero thread means
// a new message in the channel.
func (s *Sink) parent(a *scanner.Alert, now time.Time) thread {
	if s.threads == nil || a.GroupKey == "" || opensEpisode(a) {
		return thread{}
	}
	t, _ := s.threads.get(a.GroupKey, now)
	t.Updated = time.Time{}
	return t
}

// opensEpisode reports whether a is the first alert of an episode, which
// gets a message of its own even when an older thread of its group exists.
func opensEpisode(a *scanner.Alert) bool {
	return !a.Reminder && !a.Resolved && a.PreviousAt.IsZero()
}

// recordThreads remembers a new top-level message as the thread of the
// groups in it, and deletes the thread of a resolved group.
func (s *Sink) recordThreads(alerts []*scanner.Alert, parent thread, posted thread) {
	if s.threads == nil {
		return
	}
	now := time.Now()
	for _, a := range alerts {
		switch {
		case a.GroupKey == "":
		case a.Resolved:
			s.threads.forget(a.GroupKey)
		case parent.TS == "" && posted.TS != "":
			posted.Updated = now
			s.threads.set(a.GroupKey, posted)
		case parent.TS != "":
			s.threads.set(a.GroupKey, thread{Channel: parent.Channel, TS: parent.TS, Updated: now})
		}
	}
	if err := s.threads.save(now); err != nil {
		s.log.Warn("save thread store; replies after a restart may start new threads", "err", err)
	}
}

// limiter spaces the messages of one sink by an interval. Only the
// delivery goroutine uses it.
//
// NOTE: The limit is per sink. Two sinks that post to the same channel
// can together exceed Slack's rate and then receive 429 responses.
type limiter struct {
	interval time.Duration
	next     time.Time
}

func (l *limiter) wait(ctx context.Context) error {
	d := time.Until(l.next)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) sent(now time.Time) {
	l.next = now.Add(l.interval)
}
