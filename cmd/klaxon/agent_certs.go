package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/certwatch"
	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/scanner/follow"
)

// certStateFile is the file in the state folder that holds the certificate
// watch's active alerts.
const certStateFile = "certs.json"

// certWatch runs the certificate watch beside the pipeline.
type certWatch struct {
	watcher *certwatch.Watcher
	path    string
	log     *slog.Logger
	reg     *trackingRegisterer
	cancel  context.CancelFunc
	done    chan struct{}
}

// startCertWatch restores the certificate watch's alerts from the state
// folder and runs it until ctx ends. It returns nil when the config leaves
// the watch off. Alerts go to send.
func startCertWatch(ctx context.Context, cfg *agentConfig, send func(*scanner.Alert), logger *slog.Logger,
	reg prometheus.Registerer) (*certWatch, error) {
	if !cfg.certsEnabled() {
		logger.Info("certificate watch is off: no files or endpoints configured")
		return nil, nil
	}
	log := logger.With("component", "certs")
	tracked := &trackingRegisterer{Registerer: reg}
	w, err := certwatch.New(cfg.Certs, certwatch.Options{
		Logger:     log,
		Registerer: tracked,
		Node:       cfg.nodeName(),
		Emit:       send,
	})
	if err != nil {
		tracked.unregisterAll()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cw := &certWatch{watcher: w, path: filepath.Join(cfg.StateDir, certStateFile), log: log, reg: tracked,
		cancel: cancel, done: make(chan struct{})}
	cw.restore()
	go func() {
		defer close(cw.done)
		_ = w.Run(ctx) // returns nil once ctx ends
	}()
	return cw, nil
}

// restore loads the saved alerts. Without them, alerts that are still
// active are sent again, which repeats them but loses none. A state folder
// under a plain file (ENOTDIR) holds no saved alerts either, and the
// pipeline already logged it.
func (cw *certWatch) restore() {
	data, err := os.ReadFile(cw.path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return
	}
	if err == nil {
		err = cw.watcher.Restore(data)
	}
	if err != nil {
		cw.log.Warn("cannot restore certificate alerts; active ones are sent again", "file", cw.path, "err", err)
	}
}

// stop stops the watch, saves its alerts and unregisters its metrics, so
// that a watch started by a reload can register them again.
//
// NOTE: the alerts are saved only here, because Snapshot must not run
// while the watch runs. After a crash, the alerts raised since the last
// clean stop are sent again.
func (cw *certWatch) stop() error {
	if cw == nil {
		return nil
	}
	cw.cancel()
	<-cw.done
	cw.reg.unregisterAll()
	data, err := cw.watcher.Snapshot()
	if err == nil {
		// The state folder may have been deleted, or never created.
		err = os.MkdirAll(filepath.Dir(cw.path), 0o750)
	}
	if err == nil {
		err = follow.WriteFileAtomic(cw.path, data)
	}
	if err != nil {
		return fmt.Errorf("save certificate alerts: %w", err)
	}
	return nil
}

// trackingRegisterer is a Registerer that remembers what it registered, so
// that it can unregister all of it.
type trackingRegisterer struct {
	prometheus.Registerer
	registered []prometheus.Collector
}

func (t *trackingRegisterer) Register(c prometheus.Collector) error {
	if err := t.Registerer.Register(c); err != nil {
		return err
	}
	t.registered = append(t.registered, c)
	return nil
}

func (t *trackingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}

func (t *trackingRegisterer) unregisterAll() {
	for _, c := range t.registered {
		t.Registerer.Unregister(c)
	}
	t.registered = nil
}
