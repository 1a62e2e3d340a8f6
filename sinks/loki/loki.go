// Package loki is a sink that pushes alerts to Grafana Loki as JSON log
// lines, on streams with a small fixed label set, through the
// github.com/grafana/loki-client-go client.
//
// Send writes each alert to the sink's spool. The spool's delivery loop
// calls Deliver, which hands alerts to one sending goroutine, the only
// caller of the client's Handle. The client batches in the background and
// reports no result per entry. It only adds each batch to a sent or a
// dropped counter of its host, and logs a batch it gives up on just before
// counting it. Because it sends in the order entries were handed in, a
// tracker that reads these counters confirms entries oldest first. An
// alert counts as delivered once all its entries are counted as sent.
//
// Of the push failures, only a rejection by Loki (HTTP 400, 413 or 422)
// drops an alert. When the client gives up for a reason worth retrying,
// such as a connection error, a 429 or a 5xx status, the alert stays in
// the spool and is handed in again after the spool's backoff.
//
// The counters are shared by every client of the process, so only one
// sink may push to a given host and port, and a client starts only after
// the previous client of its host has stopped.
package loki

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// Sink delivers alerts to Loki through a spool in the state folder.
type Sink struct {
	pusher *pusher
	spool  *spool.Spool
}

var _ sinks.Sink = (*Sink)(nil)

// New validates cfg, opens the sink's spool under opts.StateDir and starts
// delivering, beginning with alerts left in the spool by an earlier run.
// It fails when another open Loki sink pushes to the same host and port.
func New(cfg Config, opts sinks.Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	lc, err := clientConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("loki sink %q: %w", cfg.Name, err)
	}

	log := opts.LoggerOrDiscard().With("sink", cfg.Name)
	dir := filepath.Join(opts.Dir(cfg.Name), "spool")
	p := newPusher(cfg, lc, dir, log, secretRedactor(cfg))
	if err := claimHost(p); err != nil {
		return nil, err
	}
	s := &Sink{pusher: p}
	s.spool, err = spool.Open(p, cfg.Config, spool.Options{
		Name:       cfg.Name,
		Dir:        dir,
		Logger:     log,
		Registerer: opts.Registerer,
	})
	if err != nil {
		releaseHost(p)
		return nil, fmt.Errorf("loki sink %q: %w", cfg.Name, err)
	}
	return s, nil
}

// Send queues a in the spool and returns once it is on disk. It does not
// wait for the client, which may be busy retrying a batch.
func (s *Sink) Send(ctx context.Context, a *scanner.Alert) error {
	return s.spool.Send(ctx, a)
}

// Close delivers what it can within ctx, then stops the client within
// what is left of ctx. Alerts the client has not confirmed stay in the
// spool for the next start. A client still sending at the deadline keeps
// running in the background until its retries end.
func (s *Sink) Close(ctx context.Context) error {
	err := s.spool.Close(ctx)
	s.pusher.close(ctx)
	releaseHost(s.pusher)
	return err
}

// secretRedactor returns a function that removes the password and token
// from an error, in case a server or proxy echoes a request header in its
// response. The files are read again each time because they may have been
// rotated.
func secretRedactor(cfg Config) func(error) error {
	return func(err error) error {
		var secrets []string
		for _, ref := range [][2]string{
			{cfg.PasswordFile, cfg.PasswordEnv},
			{cfg.BearerTokenFile, cfg.BearerTokenEnv},
		} {
			if secret, readErr := sinks.ReadSecret("", ref[0], "", ref[1]); readErr == nil {
				secrets = append(secrets, secret)
			}
		}
		return sinks.Redact(err, secrets...)
	}
}
