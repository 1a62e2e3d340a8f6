// Package loki is a sink that pushes alerts to Grafana Loki as JSON log
// lines, on streams with a small fixed label set.
//
// The push is a snappy-compressed protobuf request to Loki's push API, the
// format of Loki's own clients. This package sends it itself rather than
// through loki-client-go, because that client batches in the background
// and reports neither success nor failure per entry. A spool could then
// never know when an alert is safe to delete.
package loki

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/internal/sinkhttp"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// Sink delivers alerts to Loki through a spool in the state folder.
type Sink struct {
	cfg    Config
	client *http.Client
	static model.LabelSet
	spool  *spool.Spool
}

var _ sinks.Sink = (*Sink)(nil)

// New validates cfg, opens the sink's spool under opts.StateDir and starts
// delivering, beginning with alerts left in the spool by an earlier run.
func New(cfg Config, opts sinks.Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client, err := newHTTPClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("loki sink %q: %w", cfg.Name, err)
	}
	s := &Sink{cfg: cfg, client: client, static: model.LabelSet{}}
	for name, value := range cfg.Labels {
		s.static[model.LabelName(name)] = model.LabelValue(value)
	}

	log := opts.LoggerOrDiscard().With("sink", cfg.Name)
	s.spool, err = spool.Open(s, cfg.Config, spool.Options{
		Name:       cfg.Name,
		Dir:        opts.Dir(cfg.Name) + "/spool",
		Logger:     log,
		Registerer: opts.Registerer,
	})
	if err != nil {
		return nil, fmt.Errorf("loki sink %q: %w", cfg.Name, err)
	}
	return s, nil
}

// Send queues a in the spool and returns once it is on disk.
func (s *Sink) Send(ctx context.Context, a *scanner.Alert) error {
	return s.spool.Send(ctx, a)
}

// Close delivers what it can within ctx; the rest stays in the spool.
func (s *Sink) Close(ctx context.Context) error {
	return s.spool.Close(ctx)
}

// Deliver pushes the oldest pending alerts, up to BatchMaxBytes of lines,
// in one request. When Loki rejects the request as invalid, each alert is
// pushed again on its own, so that only the invalid ones are dropped. Loki
// stores the valid streams of a rejected request anyway, and ignores the
// repeated entries because their timestamp and line are the same.
func (s *Sink) Deliver(ctx context.Context, pending []*spool.Entry) spool.Result {
	batch, req, err := s.build(pending)
	if err != nil {
		// An alert that cannot be encoded never will be.
		return spool.Result{Rejected: pending[:1], RejectErr: err}
	}
	err = s.push(ctx, req)
	switch {
	case err == nil:
		return spool.Result{Delivered: batch}
	case !sinkhttp.IsPermanent(err):
		return spool.Result{Err: err}
	case len(batch) == 1:
		return spool.Result{Rejected: batch, RejectErr: err}
	}
	return s.deliverOneByOne(ctx, batch)
}

// build takes alerts from the head of pending while the request stays
// within BatchMaxBytes, and always at least one.
func (s *Sink) build(pending []*spool.Entry) ([]*spool.Entry, []byte, error) {
	var rb requestBuilder
	size, n := 0, 0
	for _, e := range pending {
		items, err := s.entries(e)
		if err != nil {
			if n == 0 {
				return nil, nil, err
			}
			break
		}
		weight := lineBytes(items)
		if n > 0 && size+weight > s.cfg.BatchMaxBytes {
			break
		}
		rb.add(items)
		size += weight
		n++
	}
	body, err := rb.request().Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("encode push request: %w", err)
	}
	return pending[:n], snappy.Encode(nil, body), nil
}

func (s *Sink) deliverOneByOne(ctx context.Context, batch []*spool.Entry) spool.Result {
	var res spool.Result
	for i := range batch {
		_, req, err := s.build(batch[i : i+1])
		if err == nil {
			err = s.push(ctx, req)
		}
		switch {
		case err == nil:
			res.Delivered = append(res.Delivered, batch[i])
		case sinkhttp.IsPermanent(err):
			res.Rejected = append(res.Rejected, batch[i])
			res.RejectErr = err
		default:
			res.Err = err
			return res
		}
	}
	return res
}

// push sends one encoded request. Only 200 and 204 count as stored,
// because Loki responds with other 2xx codes, 260 by default, when it
// blocks ingestion.
func (s *Sink) push(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build push request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if s.cfg.TenantID != "" {
		req.Header.Set("X-Scope-OrgID", s.cfg.TenantID)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("push to Loki: %w", s.redact(sinkhttp.StripURL(err)))
	}
	defer sinkhttp.DrainAndClose(resp.Body)
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return fmt.Errorf("push to Loki: %w", s.redact(sinkhttp.ResponseError(resp, time.Now())))
}

// redact removes the password and token from err, in case a server or
// proxy echoes a request header in its response. The files are read again
// because they may have been rotated.
func (s *Sink) redact(err error) error {
	var secrets []string
	for _, ref := range [][2]string{
		{s.cfg.PasswordFile, s.cfg.PasswordEnv},
		{s.cfg.BearerTokenFile, s.cfg.BearerTokenEnv},
	} {
		if secret, readErr := sinks.ReadSecret("", ref[0], "", ref[1]); readErr == nil {
			secrets = append(secrets, secret)
		}
	}
	return sinks.Redact(err, secrets...)
}
