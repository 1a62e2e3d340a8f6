package slack

import (
	"strconv"
	"strings"
	"unicode/utf16"
)

// cutMarker ends text that was cut to fit a Slack limit.
const cutMarker = "… [cut]"

// textLen counts characters as UTF-16 code units, as Slack's JavaScript
// clients do, which never undercounts a limit given in characters.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// escapeText prepares untrusted text for a mrkdwn object. It escapes '&',
// '<' and '>', the characters with which Slack text forms mentions such as
// <!channel> and links, and turns control characters other than newline
// and tab into spaces. The result is cut to at most limit characters
// without splitting an escape.
func escapeText(s string, limit int) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(escapeRune(r))
	}
	if textLen(b.String()) <= limit {
		return b.String()
	}
	b.Reset()
	budget := limit - textLen(cutMarker)
	used := 0
	for _, r := range s {
		piece := escapeRune(r)
		if used+textLen(piece) > budget {
			break
		}
		b.WriteString(piece)
		used += textLen(piece)
	}
	return b.String() + cutMarker
}

func escapeRune(r rune) string {
	switch {
	case r == '&':
		return "&amp;"
	case r == '<':
		return "&lt;"
	case r == '>':
		return "&gt;"
	case r == '\n' || r == '\t':
		return string(r)
	case isControl(r):
		return " "
	}
	return string(r)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// plainText prepares text for a plain_text object, which Slack shows
// without parsing mentions or links: control characters and newlines
// become spaces and the text is cut to limit characters.
func plainText(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
	if textLen(s) <= limit {
		return s
	}
	var b strings.Builder
	budget := limit - textLen(cutMarker)
	used := 0
	for _, r := range s {
		if used+utf16.RuneLen(r) > budget {
			break
		}
		b.WriteRune(r)
		used += utf16.RuneLen(r)
	}
	return b.String() + cutMarker
}

// codeBlock renders lines as a mrkdwn code block of at most limit
// characters, fences included. A backtick in a line gets a zero-width
// space after it, so that no run of three closes the block early. Lines
// that do not fit are counted on a last line.
func codeBlock(lines []string, limit int) string {
	const fence = "```"
	const minLine = 40 // a line cut shorter than this is not worth showing
	room := limit - 2*len(fence) - 2
	var body []string
	used := 0
	for i, line := range lines {
		reserve := 0
		if i < len(lines)-1 {
			reserve = len("\n… 100000 more lines")
		}
		avail := room - used - reserve
		if i > 0 {
			avail-- // the newline before this line
		}
		if avail < minLine && i > 0 {
			body = append(body, "… "+plural(len(lines)-i, "more line"))
			break
		}
		text := escapeText(strings.ReplaceAll(line, "`", "`\u200b"), max(avail, len(cutMarker)))
		body = append(body, text)
		used += textLen(text)
		if i > 0 {
			used++
		}
	}
	return fence + "\n" + strings.Join(body, "\n") + "\n" + fence
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
