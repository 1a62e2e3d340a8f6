package spool

import (
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by Send after Close was called.
var ErrClosed = errors.New("sink is closed")

// errNoProgress stands for a Deliver call that returned neither entries nor
// an error, which would otherwise spin the delivery loop.
var errNoProgress = errors.New("backend delivered no alert and reported no error")

// RetryAfterError is a retryable failure for which the server named the
// earliest time to try again, such as an HTTP 429 with Retry-After.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// retryAfter returns the wait requested by a RetryAfterError in err's
// chain, or 0.
func retryAfter(err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After
	}
	return 0
}
