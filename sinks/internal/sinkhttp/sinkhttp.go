// Package sinkhttp contains the HTTP handling that the Slack and Loki sinks
// share. It turns responses into errors, decides which errors are worth
// retrying, and reads a server's Retry-After.
package sinkhttp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// MaxErrorBody is how much of a failed response's body an error keeps.
const MaxErrorBody = 1024

// StatusError is a response with an unexpected status code.
type StatusError struct {
	Code int
	// Body is the start of the response body, at most MaxErrorBody bytes.
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("server returned HTTP %d", e.Code)
	}
	return fmt.Sprintf("server returned HTTP %d: %s", e.Code, e.Body)
}

// Permanent reports whether resending the same request cannot succeed,
// because the server found the request itself invalid (400, 413 or 422). Authentication
// failures and unknown paths are not permanent, because they come from
// configuration or secrets that an operator can fix while alerts wait.
func (e *StatusError) Permanent() bool {
	switch e.Code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// Permanent marks err as a failure that resending cannot fix, such as a
// payload the server found invalid.
func Permanent(err error) error {
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err's chain holds an error marked by
// Permanent or a permanent StatusError.
func IsPermanent(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && se.Permanent()
}

// ResponseError reads the start of resp's body into a StatusError. A 429
// or 503 response with a Retry-After header is wrapped in a
// spool.RetryAfterError. The caller still closes the body.
func ResponseError(resp *http.Response, now time.Time) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	err := error(&StatusError{Code: resp.StatusCode, Body: cleanBody(body)})
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			err = &spool.RetryAfterError{After: d, Err: err}
		}
	}
	return err
}

// cleanBody makes a body fit for one log line, as valid UTF-8 on a single
// line without surrounding white space.
func cleanBody(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.Join(strings.Fields(s), " ")
}

// ParseRetryAfter reads a Retry-After value in whole or fractional seconds,
// or as an HTTP date, and returns the wait it requests.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 24*3600 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// DrainAndClose reads a little of what is left of a body, so the
// connection can be reused, and closes it.
func DrainAndClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// StripURL replaces a *url.Error in err with its operation and cause, so
// that a URL carrying a secret, such as a Slack webhook URL, never reaches
// a log. Errors of other types are returned unchanged.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &strippedError{op: ue.Op, err: ue.Err}
	}
	return err
}

type strippedError struct {
	op  string
	err error
}

func (e *strippedError) Error() string { return strings.ToLower(e.op) + ": " + e.err.Error() }
func (e *strippedError) Unwrap() error { return e.err }
