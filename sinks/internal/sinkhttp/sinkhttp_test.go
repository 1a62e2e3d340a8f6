package sinkhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/klaxon-agent/klaxon/sinks/spool"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"0", 0, true},
		{"Sun, 01 Mar 2026 14:00:10 GMT", 10 * time.Second, true},
		{"Sun, 01 Mar 2026 13:00:00 GMT", 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func response(code int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: code, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

func TestResponseError(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		resp       *http.Response
		permanent  bool
		retryAfter time.Duration
		message    string
	}{
		{"bad request", response(400, nil, "entry too old\n"), true, 0, "server returned HTTP 400: entry too old"},
		{"too large", response(413, nil, ""), true, 0, "server returned HTTP 413"},
		{"unauthorized", response(401, nil, "no"), false, 0, "server returned HTTP 401: no"},
		{"rate limited", response(429, http.Header{"Retry-After": {"7"}}, "slow down"), false, 7 * time.Second, "HTTP 429: slow down (retry after 7s)"},
		{"unavailable", response(503, nil, "<html>\n  busy\n</html>"), false, 0, "HTTP 503: <html> busy </html>"},
		{"long body", response(500, nil, strings.Repeat("x", 5000)), false, 0, strings.Repeat("x", MaxErrorBody)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ResponseError(tt.resp, now)
			if got := IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			var ra *spool.RetryAfterError
			after := time.Duration(0)
			if errors.As(err, &ra) {
				after = ra.After
			}
			if after != tt.retryAfter {
				t.Errorf("retry after = %s, want %s", after, tt.retryAfter)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error = %q, want it to contain %q", err, tt.message)
			}
			if len(err.Error()) > MaxErrorBody+100 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestStripURL(t *testing.T) {
	err := StripURL(&url.Error{Op: "Post", URL: "https://hooks.example/services/SECRET", Err: context.DeadlineExceeded})
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("StripURL kept the URL: %v", err)
	}
	if err.Error() != "post: context deadline exceeded" {
		t.Errorf("StripURL = %q", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("stripped error does not unwrap to its cause")
	}
	if !IsPermanent(Permanent(errors.New("x"))) {
		t.Error("IsPermanent(Permanent(err)) = false")
	}
}
