// Package sinkstest provides a Sink that records alerts, for the tests of
// packages that send alerts.
package sinkstest

import (
	"context"
	"errors"
	"sync"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("sinkstest: sink is closed")

// Sink records the alerts it is sent. It is safe for concurrent use.
type Sink struct {
	// SendFunc, when set, runs first in each Send. If it returns an error,
	// Send returns that error and does not record the alert.
	SendFunc func(ctx context.Context, a *scanner.Alert) error

	mu     sync.Mutex
	alerts []scanner.Alert
	closed bool
}

var _ sinks.Sink = (*Sink)(nil)

// Send records a copy of a.
func (s *Sink) Send(ctx context.Context, a *scanner.Alert) error {
	if s.SendFunc != nil {
		if err := s.SendFunc(ctx, a); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.alerts = append(s.alerts, *a)
	return nil
}

// Close marks the sink closed.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Alerts returns copies of the recorded alerts in the order they were sent.
func (s *Sink) Alerts() []scanner.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]scanner.Alert, len(s.alerts))
	copy(out, s.alerts)
	return out
}

// Rules returns the rule name of each recorded alert.
func (s *Sink) Rules() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.alerts))
	for i, a := range s.alerts {
		names[i] = a.Rule
	}
	return names
}

// Closed reports whether Close was called.
func (s *Sink) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
