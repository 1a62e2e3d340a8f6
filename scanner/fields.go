package scanner

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Fields returns the structured fields the line carries, parsed on first
// use: the keys of a JSON object; the key=value pairs of logfmt, and of klog
// structured lines (`"message" key="value"`) or logr lines
// (`"msg"="message" "key"="value"`). Whatever the format names them, the
// message is also under "msg" and an error under "error". klog lines add
// "source" (file:line) and every line with a level adds "level".
func (l *Line) Fields() map[string]string {
	if !l.fieldsDone {
		l.fields = parseFields(l.Text)
		if lv := l.Level(); lv != LevelUnknown {
			l.fields["level"] = lv.String()
		}
		l.fieldsDone = true
	}
	return l.fields
}

func parseFields(text []byte) map[string]string {
	f := map[string]string{}
	body := bytes.TrimSpace(text)
	if len(body) > 0 && body[0] == '{' {
		parseJSONFields(body, f)
	} else {
		if isKlogHeader(body) {
			if end := bytes.IndexByte(body, ']'); end > 0 {
				if sp := bytes.LastIndexByte(body[:end], ' '); sp > 0 {
					f["source"] = string(body[sp+1 : end])
				}
				body = bytes.TrimLeft(body[end+1:], " ")
			}
		}
		parseKeyValues(body, f)
	}
	alias(f, "msg", "message", "MESSAGE")
	alias(f, "error", "err", "ERROR")
	return f
}

// alias copies the first present of names to key when key is absent.
func alias(f map[string]string, key string, names ...string) {
	if _, ok := f[key]; ok {
		return
	}
	for _, n := range names {
		if v, ok := f[n]; ok {
			f[key] = v
			return
		}
	}
}

func parseJSONFields(body []byte, f map[string]string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return
	}
	for k, raw := range obj {
		if k == "" {
			continue // an empty key cannot be named in a rule
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			f[k] = s
			continue
		}
		f[k] = string(raw)
	}
}

// parseKeyValues reads logfmt-style pairs. A leading quoted string without
// "=" after it is klog's message; text before the first pair is skipped, as
// in logr's `component/path "msg"="..."`.
func parseKeyValues(s []byte, f map[string]string) {
	for len(s) > 0 {
		s = bytes.TrimLeft(s, " \t")
		if len(s) == 0 {
			return
		}
		key, rest, quoted := readToken(s)
		if len(rest) > 0 && rest[0] == '=' {
			value, after, _ := readToken(rest[1:])
			if key != "" {
				f[key] = value
			}
			s = after
			continue
		}
		if quoted {
			if _, ok := f["msg"]; !ok {
				f["msg"] = key
			}
		}
		s = rest
	}
}

// readToken reads a quoted string (with Go-style escapes) or a bare word
// ending at a space or "=". It returns the token, the rest and whether it
// was quoted.
func readToken(s []byte) (string, []byte, bool) {
	if len(s) > 0 && s[0] == '"' {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				if v, err := strconv.Unquote(string(s[:i+1])); err == nil {
					return v, s[i+1:], true
				}
				return string(s[1:i]), s[i+1:], true
			}
		}
		return string(s[1:]), nil, true
	}
	end := bytes.IndexAny(s, " \t=")
	if end < 0 {
		return string(s), nil, false
	}
	if end == 0 {
		return "", s[1:], false
	}
	return string(s[:end]), s[end:], false
}

// fieldCondition is one test on a structured field.
type fieldCondition struct {
	key    string
	op     string // "equals", "match", "exists", "gt", "gte", "lt", "lte"
	text   string
	number float64
	re     interface{ MatchString(string) bool }
	exists bool
}

func (c *fieldCondition) test(f map[string]string) bool {
	v, ok := f[c.key]
	switch c.op {
	case "exists":
		return ok == c.exists
	case "equals":
		return ok && v == c.text
	case "match":
		return ok && c.re.MatchString(v)
	}
	n, isNumber := parseQuantity(v)
	if !ok || !isNumber {
		return false
	}
	switch c.op {
	case "gt":
		return n > c.number
	case "gte":
		return n >= c.number
	case "lt":
		return n < c.number
	default:
		return n <= c.number
	}
}

// parseQuantity reads a number, or a Go duration as seconds, so that
// `took = { gt = "1s" }` works on etcd's "took":"1.234s" and on plain numbers.
func parseQuantity(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return n, true
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d.Seconds(), true
	}
	return 0, false
}
