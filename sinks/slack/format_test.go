package slack

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxon-agent/klaxon/scanner"
)

var t0 = time.Date(2026, 3, 1, 14, 5, 0, 0, time.UTC)

func hostileAlert() *scanner.Alert {
	return &scanner.Alert{
		Rule:       "oom-killed",
		Severity:   scanner.SeverityCritical,
		Summary:    "OOM in <!channel> & <@U024BE7LH> see <https://evil.example|docs>",
		Namespace:  "kube-system",
		Pod:        "coredns-<!here>",
		Container:  "coredns",
		Node:       "node-a",
		FirstSeen:  t0.Add(-time.Hour),
		LastSeen:   t0.Add(30 * time.Minute),
		Count:      120,
		New:        37,
		PreviousAt: t0,
		Lines: []scanner.Sample{{
			Time:    t0,
			Text:    "panic: <!subteam^S123> ```closing fence``` \x1b[31mred\x1b[0m",
			Context: []string{"before <#C123>"},
		}},
		Labels:   map[string]string{"reason": "<@U1>"},
		GroupKey: "oom-killed/kube-system",
	}
}

// allText joins the fallback and every text object of a message.
func allText(t *testing.T, m message) string {
	t.Helper()
	parts := []string{m.text}
	for _, text := range textObjects(t, m) {
		parts = append(parts, text.Text)
	}
	return strings.Join(parts, "\n---\n")
}

// textObjects returns every text object in a message's blocks.
func textObjects(t *testing.T, m message) []slack.TextBlockObject {
	t.Helper()
	var texts []slack.TextBlockObject
	for _, b := range m.blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			texts = append(texts, *b.Text)
		case *slack.SectionBlock:
			if b.Text != nil {
				texts = append(texts, *b.Text)
			}
			for _, f := range b.Fields {
				texts = append(texts, *f)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if to, ok := e.(*slack.TextBlockObject); ok {
					texts = append(texts, *to)
				}
			}
		default:
			t.Fatalf("unexpected block type %T", b)
		}
	}
	return texts
}

func TestMessageEscapesMentionsAndLinks(t *testing.T) {
	for name, m := range map[string]message{
		"single": alertMessage(hostileAlert()),
		"merged": mergedMessage([]*scanner.Alert{hostileAlert(), hostileAlert()}),
	} {
		t.Run(name, func(t *testing.T) {
			for _, text := range append(textObjects(t, m), slack.TextBlockObject{Type: "fallback", Text: m.text}) {
				if text.Type == slack.PlainTextType {
					continue // plain_text is unformatted: Slack parses no mention or link in it
				}
				for _, bad := range []string{"<!", "<@", "<#", "<http", "|docs>"} {
					if strings.Contains(text.Text, bad) {
						t.Errorf("%s text contains %q: %s", text.Type, bad, text.Text)
					}
				}
				if strings.Contains(text.Text, "\x1b") {
					t.Errorf("%s text contains an escape character: %q", text.Type, text.Text)
				}
				if text.Type == slack.MarkdownType && !text.Verbatim {
					t.Errorf("mrkdwn text without verbatim, Slack would auto-link it: %s", text.Text)
				}
			}
			if all := allText(t, m); !strings.Contains(all, "OOM in &lt;!channel&gt; &amp; &lt;@U024BE7LH&gt;") {
				t.Errorf("summary not escaped as entities:\n%s", all)
			}
		})
	}
}

func TestMessageCodeBlockCannotBeClosed(t *testing.T) {
	m := alertMessage(hostileAlert())
	var code string
	for _, text := range textObjects(t, m) {
		if strings.HasPrefix(text.Text, "```") {
			code = text.Text
		}
	}
	if code == "" {
		t.Fatal("no code block in the message")
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(code, "```\n"), "\n```")
	if strings.Contains(inner, "```") {
		t.Errorf("sample text closes the code block early: %q", code)
	}
	if !strings.Contains(inner, "before &lt;#C123&gt;\npanic:") {
		t.Errorf("code block = %q, want the context line before the sample", inner)
	}
}

func TestMessageFieldsAndDigest(t *testing.T) {
	m := alertMessage(hostileAlert())
	js := allText(t, m)
	for _, want := range []string{
		"CRITICAL oom-killed",
		"*Count*\n120 (37 more since 14:05 UTC)",
		"*First seen*\n2026-03-01 13:05:00 UTC",
		"*Node*\nnode-a",
		"reason=&lt;@U1&gt;",
	} {
		if !strings.Contains(js, want) {
			t.Errorf("message lacks %q:\n%s", want, js)
		}
	}
	if !strings.HasPrefix(m.text, ":red_circle: CRITICAL oom-killed: OOM in &lt;!channel&gt;") {
		t.Errorf("fallback text = %q", m.text)
	}
}

func TestTitles(t *testing.T) {
	tests := []struct {
		name  string
		alert scanner.Alert
		want  string
	}{
		{"new", scanner.Alert{Rule: "r", Severity: scanner.SeverityWarning}, ":large_orange_circle: WARNING r"},
		{"reminder", scanner.Alert{Rule: "r", Severity: scanner.SeverityInfo, Reminder: true}, ":large_blue_circle: INFO r (still firing)"},
		{"resolved", scanner.Alert{Rule: "r", Severity: scanner.SeverityCritical, Resolved: true}, ":white_check_mark: RESOLVED r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := title(&tt.alert); got != tt.want {
				t.Errorf("title = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCountText(t *testing.T) {
	tests := []struct {
		name  string
		alert scanner.Alert
		want  string
	}{
		{"first alert", scanner.Alert{Count: 5, New: 5}, "5"},
		{"same day", scanner.Alert{Count: 50, New: 37, PreviousAt: t0, LastSeen: t0.Add(time.Hour)}, "50 (37 more since 14:05 UTC)"},
		{"other day", scanner.Alert{Count: 50, New: 3, PreviousAt: t0, LastSeen: t0.Add(24 * time.Hour)}, "50 (3 more since Mar 1 14:05 UTC)"},
		{"no count", scanner.Alert{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countText(&tt.alert); got != tt.want {
				t.Errorf("countText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMessageStaysWithinLimits(t *testing.T) {
	huge := strings.Repeat("x<&>é😀", 20000)
	a := hostileAlert()
	a.Rule = strings.Repeat("r", 400)
	a.Summary = huge
	a.Pod = huge
	a.Labels = map[string]string{}
	for i := range 50 {
		a.Labels[fmt.Sprintf("k%02d", i)] = huge[:500]
	}
	a.Lines = nil
	for range 200 {
		a.Lines = append(a.Lines, scanner.Sample{Time: t0, Text: huge, Context: []string{huge}})
	}
	many := make([]*scanner.Alert, 60)
	for i := range many {
		many[i] = a
	}

	for name, m := range map[string]message{
		"single": alertMessage(a),
		"merged": mergedMessage(many),
	} {
		t.Run(name, func(t *testing.T) {
			if len(m.blocks) > maxBlocks {
				t.Errorf("%d blocks, Slack accepts %d", len(m.blocks), maxBlocks)
			}
			total := 0
			for _, b := range m.blocks {
				if sec, ok := b.(*slack.SectionBlock); ok && len(sec.Fields) > maxFields {
					t.Errorf("section with %d fields, Slack accepts %d", len(sec.Fields), maxFields)
				}
			}
			for _, text := range textObjects(t, m) {
				n := textLen(text.Text)
				total += n
				limit := maxSectionText
				if text.Type == slack.PlainTextType {
					limit = maxHeader
				}
				if n > limit {
					t.Errorf("%s text of %d characters, limit %d", text.Type, n, limit)
				}
				if err := text.Validate(); err != nil {
					t.Errorf("slack-go rejects a text object: %v", err)
				}
			}
			if total > 10000 {
				t.Errorf("blocks hold %d characters in total, want at most 10000", total)
			}
			if n := textLen(m.text); n > fallbackBudget {
				t.Errorf("fallback text of %d characters, want at most %d", n, fallbackBudget)
			}
			if !strings.Contains(allText(t, m), cutMarker) {
				t.Error("no cut marker in a message built from oversized text")
			}
		})
	}
}

func TestEscapeTextCuts(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"a<b", 10, "a&lt;b"},
		{"<<<<<", 12, "&lt;" + cutMarker},
		{"😀😀😀😀😀😀", 10, "😀" + cutMarker},
		{"line\nnext\ttab\rcr", 100, "line\nnext\ttab cr"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := escapeText(tt.in, tt.limit)
			if got != tt.want {
				t.Errorf("escapeText(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
			if textLen(got) > tt.limit {
				t.Errorf("result has %d characters, limit %d", textLen(got), tt.limit)
			}
		})
	}
}

func TestCodeBlockCountsLeftOutLines(t *testing.T) {
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = strings.Repeat("y", 100)
	}
	got := codeBlock(lines, 1000)
	if textLen(got) > 1000 {
		t.Errorf("code block has %d characters, limit 1000", textLen(got))
	}
	if !strings.Contains(got, "more lines\n```") {
		t.Errorf("code block does not count the left-out lines:\n%s", got)
	}
}
