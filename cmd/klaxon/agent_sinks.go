package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/certwatch"
	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/setup"
	"github.com/klaxon-agent/klaxon/sinks/stdout"
)

// certRules are the rule names of the certificate watch's alerts, which
// routes may name besides the rules files' rules.
var certRules = []string{
	certwatch.RuleExpiring,
	certwatch.RuleExpired,
	certwatch.RuleNotYetValid,
	certwatch.RuleRenewalOverdue,
	certwatch.RuleEndpointUnreachable,
	certwatch.RuleHandshakeFailed,
	certwatch.RuleFileError,
}

// knownRuleNames returns every rule name an alert of the agent can carry.
func knownRuleNames(rs *scanner.RuleSet) []string {
	names := slices.Clone(certRules)
	names = append(names, ruleSinkFailing)
	for _, r := range rs.Rules() {
		names = append(names, r.Name)
	}
	return names
}

// checkRoutes reports route rule names that no alert can carry.
func checkRoutes(cfg *agentConfig, rs *scanner.RuleSet) error {
	return sinks.CheckRuleNames(cfg.Routes, knownRuleNames(rs))
}

// openSinks returns where alerts go: the configured sinks behind a Router,
// or standard output as JSON lines, the format of
// `klaxon replay --output json`, when the config names no sink.
func openSinks(cfg *agentConfig, out io.Writer, logger *slog.Logger, reg prometheus.Registerer) (sinks.Sink, error) {
	if len(cfg.sinkSpecs) == 0 {
		return stdout.New(out, stdout.FormatJSON), nil
	}
	return setup.Open(cfg.sinkSpecs, cfg.Routes, sinks.Options{
		Logger:     logger.With("component", "sinks"),
		Registerer: reg,
		StateDir:   cfg.StateDir,
	})
}

// checkSinks opens the configured sinks in a temporary state folder and
// closes them again, so that --check-config also finds what only opening
// finds, such as a secret file that does not exist.
func checkSinks(cfg *agentConfig) error {
	if len(cfg.sinkSpecs) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "klaxon-check-")
	if err != nil {
		return fmt.Errorf("check sinks: %w", err)
	}
	defer os.RemoveAll(dir)
	router, err := setup.Open(cfg.sinkSpecs, cfg.Routes, sinks.Options{
		Logger:     slog.New(slog.DiscardHandler),
		Registerer: prometheus.NewRegistry(),
		StateDir:   dir,
	})
	if err != nil {
		return fmt.Errorf("open sinks: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return router.Close(ctx)
}

// unroutedNote describes the alerts that no route sends anywhere: with
// routes but no default route, alerts that match none are not sent.
func unroutedNote(cfg *agentConfig) string {
	if len(cfg.sinkSpecs) == 0 || len(cfg.Routes) == 0 {
		return ""
	}
	for _, r := range cfg.Routes {
		if len(r.Rules) == 0 && len(r.Severities) == 0 {
			return ""
		}
	}
	return "note: no route is a default route (one without rules and severities), so alerts that match no route are not sent anywhere"
}

// serialSink passes alerts to a Sink from one goroutine at a time, as the
// Sink contract requires, for the pipeline and the certificate watch,
// which raise alerts on goroutines of their own.
type serialSink struct {
	mu   sync.Mutex
	sink sinks.Sink
}

func (s *serialSink) Send(ctx context.Context, a *scanner.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sink.Send(ctx, a)
}

// reopen closes the sinks and opens those of cfg. Undelivered alerts stay
// in the spools, which sinks of the same names deliver. When the new sinks
// fail to open, those of old are opened again, and when even that fails,
// alerts go to standard output, so that none is lost without a trace.
func (s *serialSink) reopen(ctx context.Context, open func(*agentConfig) (sinks.Sink, error), old, cfg *agentConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	closeCtx, cancel := context.WithTimeout(ctx, reloadCloseGrace)
	defer cancel()
	closeErr := s.sink.Close(closeCtx)
	opened, err := open(cfg)
	if err == nil {
		s.sink = opened
		return nil
	}
	err = fmt.Errorf("open sinks: %w", err)
	previous, prevErr := open(old)
	if prevErr != nil {
		s.sink = stdout.New(os.Stdout, stdout.FormatJSON)
		return errors.Join(err, closeErr, fmt.Errorf("reopen previous sinks, sending alerts to standard output: %w", prevErr))
	}
	s.sink = previous
	return errors.Join(err, closeErr)
}

func (s *serialSink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sink.Close(ctx)
}
