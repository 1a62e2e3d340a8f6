package scanner

import (
	"bytes"
	"time"
)

// Level is the severity a component gave a line, when the line shows one.
type Level uint8

// Levels, in increasing order. LevelUnknown means the line shows none.
const (
	LevelUnknown Level = iota
	LevelDebug
	LevelInfo
	LevelWarning
	LevelError
	LevelFatal
)

var levelNames = [...]string{"", "debug", "info", "warning", "error", "fatal"}

func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return ""
}

// parseLevelName maps the level words of common loggers (klog, logrus, zap,
// slog, CoreDNS, nginx, pino's numbers) to a Level.
func parseLevelName(b []byte) Level {
	if len(b) == 2 && b[0] >= '1' && b[0] <= '6' && b[1] == '0' {
		// pino and bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
		return [...]Level{LevelDebug, LevelDebug, LevelInfo, LevelWarning, LevelError, LevelFatal}[b[0]-'1']
	}
	var lower [8]byte
	if len(b) > len(lower) {
		return LevelUnknown
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(b)]) {
	case "trace", "debug", "dbug", "d":
		return LevelDebug
	case "info", "notice", "i", "information":
		return LevelInfo
	case "warn", "warning", "w":
		return LevelWarning
	case "error", "err", "eror", "e":
		return LevelError
	case "fatal", "panic", "dpanic", "crit", "critical", "alert", "emerg", "f":
		return LevelFatal
	}
	return LevelUnknown
}

// detectLevel finds the level a line declares: a klog header (also behind a
// journald prefix), a "[ERROR]" tag (CoreDNS, nginx), a JSON level or
// severity field, or a logfmt level= pair.
func detectLevel(text []byte) Level {
	if len(text) == 0 {
		return LevelUnknown
	}
	if l := klogLevel(text); l != LevelUnknown {
		return l
	}
	body := skipTimePrefix(text)
	if l := klogLevel(body); l != LevelUnknown {
		return l
	}
	if len(body) > 2 && body[0] == '[' {
		if end := bytes.IndexByte(body[:min(len(body), 12)], ']'); end > 1 {
			if l := parseLevelName(body[1:end]); l != LevelUnknown {
				return l
			}
		}
	}
	if text[0] == '{' {
		for _, key := range jsonLevelKeys {
			if v := jsonStringField(text, key); v != nil {
				return parseLevelName(v)
			}
		}
		return LevelUnknown
	}
	if bytes.IndexByte(text, '=') < 0 {
		return LevelUnknown // no logfmt pair, as in most access logs
	}
	for _, key := range logfmtLevelKeys {
		if v := logfmtField(text, key); v != nil {
			return parseLevelName(v)
		}
	}
	return LevelUnknown
}

var (
	jsonLevelKeys   = [][]byte{[]byte(`"level"`), []byte(`"severity"`), []byte(`"lvl"`)}
	logfmtLevelKeys = [][]byte{[]byte("level="), []byte("lvl="), []byte("severity=")}
)

// klogLevel reads the header klog writes: Lmmdd hh:mm:ss.uuuuuu.
func klogLevel(b []byte) Level {
	if !isKlogHeader(b) {
		return LevelUnknown
	}
	switch b[0] {
	case 'I':
		return LevelInfo
	case 'W':
		return LevelWarning
	case 'E':
		return LevelError
	default:
		return LevelFatal
	}
}

func isKlogHeader(b []byte) bool {
	return len(b) >= 21 && (b[0] == 'I' || b[0] == 'W' || b[0] == 'E' || b[0] == 'F') &&
		isDigitBytes(b[1:5]) && b[5] == ' ' && isDigitBytes(b[6:8]) && b[8] == ':' &&
		isDigitBytes(b[9:11]) && b[11] == ':' && isDigitBytes(b[12:14]) && b[14] == '.'
}

func isDigitBytes(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// skipTimePrefix returns text after a leading timestamp and, for journald's
// short format, after the "host unit[pid]: " part.
func skipTimePrefix(text []byte) []byte {
	if n := timePrefixLen(text); n > 0 {
		text = text[n:]
		if i := bytes.Index(text[:min(len(text), 120)], []byte("]: ")); i >= 0 {
			return text[i+3:]
		}
		return bytes.TrimLeft(text, " ")
	}
	return text
}

// timePrefixLen returns the length of a timestamp at the start of text in one
// of the forms parseMessageTime reads, or 0.
func timePrefixLen(text []byte) int {
	if n := bytes.IndexByte(text[:min(len(text), 40)], ' '); n >= 20 {
		if _, ok := parseRFC3339(text[:n]); ok {
			return n
		}
	}
	if len(text) >= 19 && text[4] == '/' && text[7] == '/' && text[10] == ' ' && text[13] == ':' {
		n := 19
		for n < len(text) && (text[n] == '.' || (text[n] >= '0' && text[n] <= '9')) {
			n++
		}
		return n
	}
	if len(text) >= 15 && monthIndex(text) > 0 && text[3] == ' ' && text[9] == ':' && text[12] == ':' {
		return 15
	}
	return 0
}

// jsonStringField finds "key": "value" in a JSON object without decoding it
// and returns the value's bytes (without quotes; numbers too), or nil.
func jsonStringField(text, key []byte) []byte {
	i := bytes.Index(text, key)
	if i < 0 {
		return nil
	}
	rest := bytes.TrimLeft(text[i+len(key):], " \t")
	if len(rest) == 0 || rest[0] != ':' {
		return nil
	}
	rest = bytes.TrimLeft(rest[1:], " \t")
	if len(rest) > 0 && rest[0] == '"' {
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil
		}
		return rest[1 : 1+end]
	}
	end := bytes.IndexAny(rest, ",} \t")
	if end <= 0 {
		return nil
	}
	return rest[:end]
}

// logfmtField finds key=value (key includes the '=') at the start of text or
// after a space, and returns the value without quotes, or nil.
func logfmtField(text, key []byte) []byte {
	for off := 0; ; {
		i := bytes.Index(text[off:], key)
		if i < 0 {
			return nil
		}
		i += off
		if i == 0 || text[i-1] == ' ' {
			rest := text[i+len(key):]
			if len(rest) > 0 && rest[0] == '"' {
				if end := bytes.IndexByte(rest[1:], '"'); end >= 0 {
					return rest[1 : 1+end]
				}
				return nil
			}
			if end := bytes.IndexByte(rest, ' '); end >= 0 {
				return rest[:end]
			}
			return rest
		}
		off = i + len(key)
	}
}

var monthNames = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// monthIndex returns 1–12 for a three-letter English month at the start of b, else 0.
func monthIndex(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	for i, m := range monthNames {
		if b[0] == m[0] && b[1] == m[1] && b[2] == m[2] {
			return i + 1
		}
	}
	return 0
}

// parseMessageTime finds the time a plain line carries: an RFC 3339 prefix, a
// Go log prefix (2006/01/02 15:04:05), a syslog prefix (Jan  2 15:04:05), a
// klog header, or a logfmt time= or JSON "time"/"ts"/"timestamp" field. The
// formats without a year take it from ref, and move back a year when that
// would put the line more than a day after ref, for logs that span New Year.
func parseMessageTime(text []byte, ref time.Time) (time.Time, bool) {
	if len(text) == 0 {
		return time.Time{}, false
	}
	if n := bytes.IndexByte(text[:min(len(text), 40)], ' '); n >= 20 {
		if t, ok := parseRFC3339(text[:n]); ok {
			return t, true
		}
	}
	if t, ok := parseGoLogTime(text); ok {
		return t, true
	}
	if m := monthIndex(text); m > 0 && len(text) >= 15 && text[3] == ' ' {
		day, ok1 := atoi(bytes.TrimLeft(text[4:6], " "))
		if ok1 {
			return yearlessTime(text[7:15], m, day, 0, ref)
		}
	}
	if isKlogHeader(text) {
		month, _ := atoi(text[1:3])
		day, _ := atoi(text[3:5])
		frac, _ := atoi(text[15:min(len(text), 21)])
		return yearlessTime(text[6:14], month, day, frac*1000, ref)
	}
	if text[0] == '{' {
		for _, key := range jsonTimeKeys {
			if v := jsonStringField(text, key); v != nil {
				if t, ok := parseRFC3339(v); ok {
					return t, true
				}
				if t, ok := parseEpoch(v); ok {
					return t, true
				}
			}
		}
		return time.Time{}, false
	}
	for _, key := range logfmtTimeKeys {
		if v := logfmtField(text, key); v != nil {
			if t, ok := parseRFC3339(v); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

var (
	jsonTimeKeys   = [][]byte{[]byte(`"time"`), []byte(`"ts"`), []byte(`"timestamp"`), []byte(`"@timestamp"`)}
	logfmtTimeKeys = [][]byte{[]byte("time="), []byte("ts=")}
)

func parseGoLogTime(text []byte) (time.Time, bool) {
	if len(text) < 19 || text[4] != '/' || text[7] != '/' || text[10] != ' ' {
		return time.Time{}, false
	}
	year, ok1 := atoi(text[0:4])
	month, ok2 := atoi(text[5:7])
	day, ok3 := atoi(text[8:10])
	if !ok1 || !ok2 || !ok3 || !plausibleYear(year) {
		return time.Time{}, false
	}
	return clockTime(text[11:19], year, month, day, 0)
}

// yearlessTime builds a time for formats without a year (klog, syslog),
// taking the year from ref, and moving back a year when that would put the
// line more than a day after ref, for logs that span New Year.
func yearlessTime(clock []byte, month, day, nsec int, ref time.Time) (time.Time, bool) {
	year := ref.Year()
	if !plausibleYear(year) {
		year = time.Now().Year()
	}
	t, ok := clockTime(clock, year, month, day, nsec)
	if ok && !ref.IsZero() && t.Sub(ref) > 24*time.Hour {
		t = t.AddDate(-1, 0, 0)
	}
	return t, ok
}

// clockTime builds a UTC time from "15:04:05" and a date.
func clockTime(clock []byte, year, month, day, nsec int) (time.Time, bool) {
	if len(clock) != 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	h, ok1 := atoi(clock[0:2])
	m, ok2 := atoi(clock[3:5])
	s, ok3 := atoi(clock[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 || month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, h, m, s, nsec, time.UTC), true
}

// parseEpoch reads seconds since the epoch with an optional fraction, as zap's
// "ts" field writes them.
func parseEpoch(b []byte) (time.Time, bool) {
	intPart, frac, _ := bytes.Cut(b, []byte("."))
	sec, ok := atoi(intPart)
	if !ok || sec < 1e9 || sec > 1e10 {
		return time.Time{}, false
	}
	nsec := 0
	digits := 0
	for _, c := range frac {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		if digits < 9 {
			nsec = nsec*10 + int(c-'0')
			digits++
		}
	}
	for ; digits < 9; digits++ {
		nsec *= 10
	}
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}
