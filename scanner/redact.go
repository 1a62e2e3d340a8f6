package scanner

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// redactedMark replaces a secret in alert text.
const redactedMark = "[REDACTED]"

// builtinSecrets are the credentials alert text must not carry. Where a
// pattern has a group named "secret", only that group is replaced, so the
// key name stays readable ("password=[REDACTED]").
var builtinSecrets = []*regexp.Regexp{
	// Private key blocks, whole, also when a multi-line event holds them.
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)`),
	// Authorization headers and bearer tokens.
	regexp.MustCompile(`(?i)\b(?:bearer|basic|token)\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})`),
	// Passwords in URLs: scheme://user:password@host.
	regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:(?P<secret>[^/\s@]+)@`),
	// key=value and "key": "value" pairs whose key names a secret.
	regexp.MustCompile(`(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|client[_-]?secret|private[_-]?key|credentials?)["']?\s*[:=]\s*["']?(?P<secret>[^\s"'&,;}]{3,})`),
	// JSON Web Tokens.
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`),
	// Cloud access keys: AWS key ids, Google API keys.
	regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`),
	regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`),
	// Slack tokens and incoming webhook URLs.
	regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`),
	regexp.MustCompile(`hooks\.slack\.com/services/(?P<secret>[A-Za-z0-9/]+)`),
	// GitHub tokens.
	regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}`),
}

// Redactor removes secrets and control characters from alert text.
type Redactor struct {
	patterns []*regexp.Regexp
}

// NewRedactor returns a redactor with the built-in patterns and extra ones.
func NewRedactor(extra ...*regexp.Regexp) *Redactor {
	return &Redactor{patterns: append(append([]*regexp.Regexp(nil), builtinSecrets...), extra...)}
}

// Redact replaces secrets in s, makes it valid UTF-8, and removes control
// characters other than newline and tab, so terminal escapes in a log line
// cannot reach a terminal, Slack or Loki.
func (r *Redactor) Redact(s string) string {
	s = sanitize(s)
	for _, re := range r.patterns {
		s = replaceSecret(re, s)
	}
	return s
}

func replaceSecret(re *regexp.Regexp, s string) string {
	group := re.SubexpIndex("secret")
	if group < 0 {
		return re.ReplaceAllLiteralString(s, redactedMark)
	}
	matches := re.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		start, end := m[2*group], m[2*group+1]
		if start < 0 {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(redactedMark)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// sanitize returns s as valid UTF-8 without control characters, keeping
// newlines and tabs.
func sanitize(s string) string {
	clean := utf8.ValidString(s)
	if clean {
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				clean = false
				break
			}
		}
	}
	if clean && !strings.ContainsFunc(s, isC1Control) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isC1Control(r rune) bool { return r >= 0x80 && r <= 0x9f }
