// Package sinks defines where alerts go. Each backend lives in its own
// subpackage and implements Sink.
package sinks

import (
	"context"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Sink delivers alerts. Send is called from one goroutine at a time per sink;
// it returns once the alert is delivered or durably queued, or with an error
// when the sink cannot accept it. Close flushes what is queued, within ctx.
type Sink interface {
	Send(ctx context.Context, a *scanner.Alert) error
	Close(ctx context.Context) error
}
