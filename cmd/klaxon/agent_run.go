package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/scanner/follow"
	"github.com/klaxon-agent/klaxon/sinks"
)

// agentInputs are the loaded config and rules, and how to load them again.
type agentInputs struct {
	cfg        *agentConfig
	rules      *scanner.RuleSet
	configFile string // empty without --config
	load       loadFunc
}

// agentRuntime holds the parts of a running agent that a reload replaces.
type agentRuntime struct {
	out      io.Writer
	logger   *slog.Logger
	reg      *prometheus.Registry
	sink     *serialSink
	pipeline *follow.Pipeline
	sendCtx  context.Context

	mu    sync.Mutex // guards cfg and certs
	cfg   *agentConfig
	certs *certWatch
}

// serveAgent runs the pipeline until ctx is cancelled, reloading the config
// and rules when asked, then closes the sinks.
func serveAgent(ctx context.Context, in agentInputs, out io.Writer, logger *slog.Logger) error {
	cfg := in.cfg
	reg := prometheus.NewRegistry()
	reg.MustRegister(newBuildInfo())
	opened, err := openSinks(cfg, out, logger, reg)
	if err != nil {
		return fmt.Errorf("open sinks: %w", err)
	}
	a := &agentRuntime{out: out, logger: logger, reg: reg, sink: &serialSink{sink: opened}, cfg: cfg}

	// Sends outlive the signal by sendGrace, so an alert already raised is
	// still delivered before its line's position can be saved.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopTimer := context.AfterFunc(ctx, func() { time.AfterFunc(sendGrace, cancelSends) })
	defer stopTimer()
	a.sendCtx = sendCtx

	tail := cfg.tailOptions()
	tail.Logger, tail.Registerer = logger, reg
	a.pipeline, err = follow.NewPipeline(follow.PipelineOptions{
		Tail:               tail,
		Rules:              in.rules,
		Node:               cfg.nodeName(),
		StateDir:           cfg.StateDir,
		FromStart:          cfg.StartAt == startAtBeginning,
		CheckpointInterval: time.Duration(cfg.Follow.SaveInterval),
		Deliver:            func(alert *scanner.Alert) error { return a.sink.Send(sendCtx, alert) },
	})
	if err != nil {
		return errors.Join(err, closeSink(ctx, a.sink, logger))
	}
	_, stopHTTP, err := serveHTTP(cfg.MetricsAddress, newAgentMux(reg, a.pipeline, cfg.StateDir), logger)
	if err != nil {
		return errors.Join(err, closeSink(ctx, a.sink, logger))
	}
	defer stopHTTP()
	if a.certs, err = startCertWatch(ctx, cfg, a.sendCertAlert, logger, reg); err != nil {
		return errors.Join(err, closeSink(ctx, a.sink, logger))
	}

	var wg sync.WaitGroup
	wg.Go(func() { logCoverage(ctx, a.pipeline, logger) })
	if cfg.SelfAlertAfter > 0 {
		self := newSelfAlerter(reg, a.sink, time.Duration(cfg.SelfAlertAfter), cfg.nodeName(), logger)
		wg.Go(func() { self.run(ctx, sendCtx) })
	}
	hb := newHeartbeat(a.heartbeatConfig, a.alive, logger.With("component", "heartbeat"), reg)
	wg.Go(func() { hb.run(ctx) })
	rl := newReloader(cfg, in.configFile, in.load, a.apply, logger, reg)
	wg.Go(func() { rl.run(ctx) })

	logger.Info("agent started", "node", cfg.nodeName(), "log_root", cfg.LogRoot, "state_dir", cfg.StateDir,
		"rules", len(in.rules.Rules()))
	runErr := a.pipeline.Run(ctx)
	wg.Wait()
	certErr := a.certs.stop()
	if certErr != nil {
		logger.Error("cannot save certificate alerts", "err", certErr)
	}
	// Run saved the positions and the alert state, so the sinks flush now.
	closeErr := closeSink(ctx, a.sink, logger)
	logger.Info("agent stopped")
	return errors.Join(runErr, certErr, closeErr)
}

// heartbeatConfig returns the running [heartbeat] table.
func (a *agentRuntime) heartbeatConfig() heartbeatConfig {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg.Heartbeat
}

// alive reports whether the pipeline's loop made progress recently.
func (a *agentRuntime) alive() bool {
	return time.Since(a.pipeline.LastProgress()) <= stuckAfter
}

// sendCertAlert is the certificate watch's Emit function.
func (a *agentRuntime) sendCertAlert(alert *scanner.Alert) {
	if err := a.sink.Send(a.sendCtx, alert); err != nil {
		a.logger.Error("cannot deliver alert", "rule", alert.Rule, "err", err)
	}
}

// apply puts a reloaded config and rules into effect: the sinks are reopened
// when their tables changed, the rules are swapped into the pipeline, and
// the certificate watch restarts when its table changed. Keys that only a
// restart applies keep their running values.
func (a *agentRuntime) apply(ctx context.Context, cfg *agentConfig, rs *scanner.RuleSet) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.cfg
	if keys := restartKeys(old, cfg); len(keys) > 0 {
		a.logger.Warn("changed config keys take effect after a restart", "keys", keys)
		keepRestartKeys(old, cfg)
	}
	if !reflect.DeepEqual(old.sinkSpecs, cfg.sinkSpecs) || !reflect.DeepEqual(old.Routes, cfg.Routes) {
		open := func(c *agentConfig) (sinks.Sink, error) { return openSinks(c, a.out, a.logger, a.reg) }
		if err := a.sink.reopen(ctx, open, old, cfg); err != nil {
			return err
		}
		a.logger.Info("sinks reopened", "sinks", len(cfg.sinkSpecs))
	}
	if err := a.pipeline.SetRules(ctx, rs); err != nil {
		return fmt.Errorf("swap rules: %w", err)
	}
	if !reflect.DeepEqual(old.Certs, cfg.Certs) {
		if err := a.certs.stop(); err != nil {
			a.logger.Error("cannot save certificate alerts", "err", err)
		}
		certs, err := startCertWatch(ctx, cfg, a.sendCertAlert, a.logger, a.reg)
		if err != nil {
			// Validation passed, so only a failed registration of its
			// metrics can get here.
			a.certs = nil
			return fmt.Errorf("restart certificate watch: %w", err)
		}
		a.certs = certs
	}
	a.cfg = cfg
	return nil
}

// keepRestartKeys copies the keys that restartKeys compares from old to
// cfg.
func keepRestartKeys(old, cfg *agentConfig) {
	cfg.LogRoot, cfg.StateDir, cfg.Node, cfg.StartAt = old.LogRoot, old.StateDir, old.Node, old.StartAt
	cfg.ExtraFiles, cfg.MetricsAddress = old.ExtraFiles, old.MetricsAddress
	cfg.Namespaces, cfg.Follow, cfg.SelfAlertAfter = old.Namespaces, old.Follow, old.SelfAlertAfter
}
