// Package stdout writes alerts to a stream, as JSON lines for programs or as
// text for people.
package stdout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Formats accepted by New.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// Sink writes each alert as it comes. It is safe for concurrent use.
type Sink struct {
	mu     sync.Mutex
	w      io.Writer
	format string
	enc    *json.Encoder
}

// New returns a sink writing to w in format FormatJSON or FormatText.
func New(w io.Writer, format string) *Sink {
	s := &Sink{w: w, format: format}
	if format == FormatJSON {
		s.enc = json.NewEncoder(w)
		s.enc.SetEscapeHTML(false)
	}
	return s
}

// Send writes one alert.
func (s *Sink) Send(_ context.Context, a *scanner.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc != nil {
		out := *a
		if out.Lines == nil {
			out.Lines = []scanner.Sample{}
		}
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		if err := s.enc.Encode(&out); err != nil {
			return fmt.Errorf("write alert: %w", err)
		}
		return nil
	}
	if _, err := io.WriteString(s.w, FormatAlertText(a)); err != nil {
		return fmt.Errorf("write alert: %w", err)
	}
	return nil
}

// Close does nothing: every alert is written when it is sent.
func (s *Sink) Close(context.Context) error { return nil }

// FormatAlertText renders an alert for a terminal: a heading line, the
// summary, the first sample line with its context, and the latest sample.
// The JSON format carries every sample.
func FormatAlertText(a *scanner.Alert) string {
	var b strings.Builder
	kind := ""
	switch {
	case a.Resolved:
		kind = " (resolved)"
	case a.Escalated:
		kind = " (escalated to " + a.Severity.String() + ")"
	case a.Ended:
		kind = " (ended: no more lines)"
	case a.Final:
		kind = " (last report: input ended)"
	case a.Reminder:
		kind = " (still firing)"
	}
	fmt.Fprintf(&b, "%s %-8s %s%s\n", a.LastSeen.UTC().Format(time.RFC3339), strings.ToUpper(a.Severity.String()), a.Rule, kind)
	fmt.Fprintf(&b, "  %s\n", a.Summary)
	where := strings.Trim(strings.Join([]string{a.Namespace, a.Pod, a.Container}, "/"), "/")
	if where == "" {
		where = "-"
	}
	fmt.Fprintf(&b, "  where: %s  count: %d  first: %s  last: %s\n", where, a.Count,
		a.FirstSeen.UTC().Format(time.RFC3339), a.LastSeen.UTC().Format(time.RFC3339))
	if len(a.Lines) > 0 {
		first := a.Lines[0]
		for _, c := range first.Context {
			fmt.Fprintf(&b, "    | %s\n", oneLine(c))
		}
		fmt.Fprintf(&b, "    > %s\n", oneLine(first.Text))
	}
	if len(a.Lines) > 1 {
		fmt.Fprintf(&b, "    > %s\n", oneLine(a.Lines[len(a.Lines)-1].Text))
	}
	b.WriteString("\n")
	return b.String()
}

// oneLine cuts a sample for a terminal: the first 300 bytes, control
// characters shown as spaces so a line cannot move the cursor.
func oneLine(s string) string {
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
