package slack

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Limits of Slack's Block Kit (docs.slack.dev/reference/block-kit): a
// header holds 150 characters, a section's text 3000, each of at most 10
// section fields 2000, and a message at most 50 blocks.
const (
	maxHeader      = 150
	maxSectionText = 3000
	maxFieldText   = 2000
	maxFields      = 10
	maxBlocks      = 50
)

// Budgets below the limits. Slack also rejects a message whose blocks hold
// about 12,000 characters in total (msg_blocks_too_long), a limit it does
// not document, so one message stays well under 10,000.
const (
	summaryBudget  = 2000
	samplesBudget  = 2500
	labelsBudget   = 1000
	fallbackBudget = 3000
	// maxPerMessage alerts are merged into one message when several wait,
	// with mergedBudget characters each.
	maxPerMessage = 10
	mergedBudget  = 800
)

// message is one Slack post: Block Kit blocks and the plain-text fallback
// shown in notifications.
type message struct {
	blocks []slack.Block
	text   string
}

var severityEmoji = map[scanner.Severity]string{
	scanner.SeverityCritical: ":red_circle:",
	scanner.SeverityWarning:  ":large_orange_circle:",
	scanner.SeverityInfo:     ":large_blue_circle:",
}

// title is the heading of an alert: its state, severity and rule.
func title(a *scanner.Alert) string {
	switch {
	case a.Resolved:
		return ":white_check_mark: RESOLVED " + a.Rule
	case a.Reminder:
		return severityEmoji[a.Severity] + " " + strings.ToUpper(a.Severity.String()) + " " + a.Rule + " (still firing)"
	}
	return severityEmoji[a.Severity] + " " + strings.ToUpper(a.Severity.String()) + " " + a.Rule
}

// mrkdwn is a mrkdwn text object with verbatim set, so that Slack turns
// no URL, channel name or mention in it into a link.
func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

// alertMessage renders one alert.
func alertMessage(a *scanner.Alert) message {
	header := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, plainText(title(a), maxHeader), true, false))
	summary := a.Summary
	if summary == "" {
		summary = "(no summary)"
	}
	blocks := []slack.Block{
		header,
		slack.NewSectionBlock(mrkdwn(escapeText(summary, summaryBudget)), nil, nil),
	}
	if fields := alertFields(a); len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if len(a.Labels) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(labelsText(a.Labels, labelsBudget))))
	}
	if lines := sampleLines(a); len(lines) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(codeBlock(lines, samplesBudget)), nil, nil))
	}
	return message{blocks: blocks, text: fallbackText(a)}
}

func alertFields(a *scanner.Alert) []*slack.TextBlockObject {
	var fields []*slack.TextBlockObject
	add := func(name, value string) {
		if value != "" && len(fields) < maxFields {
			fields = append(fields, mrkdwn("*"+name+"*\n"+escapeText(value, maxFieldText-len(name)-3)))
		}
	}
	add("Namespace", a.Namespace)
	add("Pod", a.Pod)
	add("Container", a.Container)
	add("Node", a.Node)
	add("Count", countText(a))
	add("First seen", formatTime(a.FirstSeen))
	add("Last seen", formatTime(a.LastSeen))
	return fields
}

// countText is the running count, with the matches since the previous
// alert of the same episode, such as "120 (37 more since 14:05 UTC)".
func countText(a *scanner.Alert) string {
	if a.Count == 0 {
		return ""
	}
	s := fmt.Sprint(a.Count)
	if a.New > 0 && !a.PreviousAt.IsZero() {
		s += fmt.Sprintf(" (%d more since %s)", a.New, formatSince(a.PreviousAt, a.LastSeen))
	}
	return s
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// formatSince gives only the clock time when since is on the same day as
// now, in UTC.
func formatSince(since, now time.Time) string {
	since, now = since.UTC(), now.UTC()
	if since.YearDay() == now.YearDay() && since.Year() == now.Year() {
		return since.Format("15:04 UTC")
	}
	return since.Format("Jan 2 15:04 UTC")
}

func labelsText(labels map[string]string, limit int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return escapeText(strings.Join(parts, " · "), limit)
}

// sampleLines are the lines of every sample, each after its context.
func sampleLines(a *scanner.Alert) []string {
	var lines []string
	for _, s := range a.Lines {
		lines = append(lines, s.Context...)
		lines = append(lines, s.Text)
	}
	return lines
}

func location(a *scanner.Alert) string {
	var parts []string
	for _, p := range []string{a.Namespace, a.Pod, a.Container} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

func fallbackText(a *scanner.Alert) string {
	s := strings.TrimSpace(plainText(title(a), maxHeader)) + ": " + a.Summary
	if loc := location(a); loc != "" {
		s += " (" + loc + ")"
	}
	return escapeText(s, fallbackBudget)
}

// mergedMessage renders several alerts that waited together, such as
// during a rate limit, as one message with a short section for each of
// the first maxPerMessage.
func mergedMessage(alerts []*scanner.Alert) message {
	worst := scanner.SeverityInfo
	for _, a := range alerts {
		worst = max(worst, a.Severity)
	}
	heading := fmt.Sprintf("%s %d alerts", severityEmoji[worst], len(alerts))
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, heading, true, false)),
	}
	var titles []string
	listed := alerts[:min(len(alerts), maxPerMessage)]
	for _, a := range listed {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(mergedSection(a, mergedBudget)), nil, nil))
		titles = append(titles, plainText(title(a), maxHeader))
	}
	if rest := len(alerts) - len(listed); rest > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(plural(rest, "more alert")+" not shown")))
	}
	text := escapeText(fmt.Sprintf("%d alerts: %s", len(alerts), strings.Join(titles, ", ")), fallbackBudget)
	return message{blocks: blocks, text: text}
}

// mergedSection is one alert in a merged message: title, summary, where
// and how often, and its last sample line.
func mergedSection(a *scanner.Alert, limit int) string {
	head := "*" + escapeText(plainText(title(a), maxHeader), maxHeader+20) + "*"
	var facts []string
	if loc := location(a); loc != "" {
		facts = append(facts, loc)
	}
	if a.Node != "" {
		facts = append(facts, "node "+a.Node)
	}
	if c := countText(a); c != "" {
		facts = append(facts, "count "+c)
	}
	if t := formatTime(a.LastSeen); t != "" {
		facts = append(facts, "last seen "+t)
	}
	body := escapeText(a.Summary, limit/3) + "\n" + escapeText(strings.Join(facts, " · "), limit/4)
	s := head + "\n" + body
	if len(a.Lines) > 0 {
		room := limit - textLen(s) - 1
		s += "\n" + codeBlock([]string{a.Lines[len(a.Lines)-1].Text}, max(room, 60))
	}
	return s
}
