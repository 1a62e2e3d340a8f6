package scanner

import (
	"bytes"
	"regexp"
	"time"
)

// Defaults for joining multi-line events.
const (
	DefaultMultilineMaxLines = 500
	DefaultMultilineMaxBytes = 64 << 10
	DefaultMultilineTimeout  = 500 * time.Millisecond
)

// Multiline is the setting for joining a stream's continuation lines to the
// line they continue. The automatic mode joins Go panics and goroutine dumps
// and Java and Python stack traces; a custom pair of patterns replaces it.
type Multiline struct {
	// Off disables joining for the stream.
	Off bool
	// Start and Continue, when set, replace the automatic detection: a line
	// matching Start begins an event, and lines matching Continue join it.
	Start, Continue *regexp.Regexp
	// MaxLines and MaxBytes bound one event; a longer one is emitted in parts.
	MaxLines, MaxBytes int
	// Timeout is how long an event waits for its next line, on the lines'
	// own time in replay and on the clock passed to FlushIdle when live.
	Timeout time.Duration
}

// DefaultMultiline is the automatic mode with the default bounds.
var DefaultMultiline = Multiline{MaxLines: DefaultMultilineMaxLines, MaxBytes: DefaultMultilineMaxBytes, Timeout: DefaultMultilineTimeout}

// joiner holds the event being assembled for one stream.
type joiner struct {
	buf     []byte
	out     []byte // the last emitted event, kept valid while buf fills again
	lines   int
	time    time.Time
	kind    eventKind
	pending bool
	indent  bool // the previous line was indented (Python frames)
}

type eventKind uint8

const (
	eventPlain  eventKind = iota // a line that may gain Java frames
	eventGo                      // a Go panic or goroutine dump
	eventPython                  // a Python traceback
	eventCustom                  // started by a custom Start pattern
)

var (
	goStarts     = [][]byte{[]byte("panic: "), []byte("fatal error: "), []byte("goroutine ")}
	pythonStart  = []byte("Traceback (most recent call last):")
	mayStartWord = [][]byte{[]byte("rror"), []byte("xception"), []byte("hrowable"), []byte("panic"), []byte("fatal"), []byte("FATAL"), []byte("ERROR")}
)

// mayStart reports whether a line can begin a multi-line event in the
// automatic mode. Other lines are emitted at once, so joining delays only
// lines that report errors.
func (m *Multiline) mayStart(text []byte) (eventKind, bool) {
	if m.Start != nil {
		return eventCustom, m.Start.Match(text)
	}
	for _, p := range goStarts {
		if bytes.HasPrefix(text, p) {
			return eventGo, true
		}
	}
	if bytes.HasPrefix(text, pythonStart) {
		return eventPython, true
	}
	// A JSON object, an Info klog line or a CoreDNS [INFO] line is one event
	// by construction. Skipping the word search for them saves most of its
	// cost, because most lines of a node's system logs are of these kinds.
	if len(text) > 0 && text[0] == '{' || klogLevel(text) == LevelInfo || bytes.HasPrefix(text, []byte("[INFO] ")) {
		return eventPlain, false
	}
	for _, w := range mayStartWord {
		if bytes.Contains(text, w) {
			return eventPlain, true
		}
	}
	return eventPlain, false
}

// continues reports whether text continues the event j holds.
func (m *Multiline) continues(j *joiner, text []byte) bool {
	if m.Continue != nil {
		return m.Continue.Match(text)
	}
	indented := len(text) > 0 && (text[0] == ' ' || text[0] == '\t')
	switch j.kind {
	case eventGo:
		return len(text) == 0 || indented || bytes.HasPrefix(text, []byte("goroutine ")) ||
			bytes.HasPrefix(text, []byte("[signal ")) || bytes.HasPrefix(text, []byte("created by ")) ||
			bytes.HasPrefix(text, []byte("exit status ")) || isGoFrame(text)
	case eventPython:
		if indented || bytes.HasPrefix(text, []byte("During handling of the above exception")) ||
			bytes.HasPrefix(text, []byte("The above exception was the direct cause")) || bytes.HasPrefix(text, pythonStart) {
			return true
		}
		// The exception line follows the indented frames and ends the event.
		return len(text) > 0 && j.indent
	}
	return javaContinuation(text)
}

func javaContinuation(text []byte) bool {
	trimmed := bytes.TrimLeft(text, " \t")
	return len(trimmed) < len(text) && (bytes.HasPrefix(trimmed, []byte("at ")) || bytes.HasPrefix(trimmed, []byte("... "))) ||
		bytes.HasPrefix(text, []byte("Caused by: ")) || bytes.HasPrefix(trimmed, []byte("Suppressed: "))
}

// isGoFrame reports whether text looks like a function line of a Go stack
// trace, such as "main.main()" or "net/http.(*conn).serve(0xc000132000)".
func isGoFrame(text []byte) bool {
	open := bytes.IndexByte(text, '(')
	return open > 0 && text[len(text)-1] == ')' && bytes.IndexByte(text[:open], ' ') < 0 && bytes.IndexByte(text[:open], '.') > 0
}

// joinLine passes a decoded line through the stream's joiner: it emits what
// is complete and keeps what may continue.
func (d *Decoder) joinLine(stream int, t time.Time, text []byte, emit func(*Line)) {
	m := d.multiline
	j := &d.joiners[stream]
	if j.pending {
		timedOut := m.Timeout > 0 && t.Sub(j.time) > m.Timeout
		if !timedOut && m.continues(j, text) && j.lines < m.MaxLines && len(j.buf)+1+len(text) <= m.MaxBytes {
			j.buf = append(append(j.buf, '\n'), text...)
			j.lines++
			j.indent = len(text) > 0 && (text[0] == ' ' || text[0] == '\t')
			if j.kind == eventPython && !j.indent && len(text) > 0 && !bytes.HasPrefix(text, pythonStart) &&
				!bytes.HasPrefix(text, []byte("During")) && !bytes.HasPrefix(text, []byte("The above")) {
				d.emitHeld(stream, emit)
			}
			return
		}
		d.emitHeld(stream, emit)
	}
	kind, starts := m.mayStart(text)
	if !starts || len(text) >= m.MaxBytes {
		d.emitLine(t, d.streamLabel(stream), text, emit)
		return
	}
	j.buf = append(j.buf[:0], text...)
	j.lines, j.time, j.kind, j.pending, j.indent = 1, t, kind, true, false
}

func (d *Decoder) emitHeld(stream int, emit func(*Line)) {
	j := &d.joiners[stream]
	j.pending = false
	j.buf, j.out = j.out[:0], j.buf
	d.emitLine(j.time, d.streamLabel(stream), j.out, emit)
}

// FlushMaybeJava emits held events that began as an ordinary error line
// which Java stack frames might follow. A live reader calls it once it has
// read everything the file holds: a logger writes frames together with the
// line they belong to, so waiting for the timeout would only delay the
// line's alert. Go panics, Python tracebacks and custom events keep waiting,
// because their writers print them in many parts.
func (d *Decoder) FlushMaybeJava(emit func(*Line)) {
	if d.multiline == nil || d.multiline.Start != nil {
		return
	}
	for i := range d.joiners {
		if j := &d.joiners[i]; j.pending && j.kind == eventPlain {
			d.emitHeld(i, emit)
		}
	}
}

// FlushIdle emits held multi-line events that have waited longer than the
// timeout at now. The agent calls it periodically so the last event of a
// quiet stream is not held back.
func (d *Decoder) FlushIdle(now time.Time, emit func(*Line)) {
	if d.multiline == nil {
		return
	}
	for i := range d.joiners {
		if j := &d.joiners[i]; j.pending && now.Sub(j.time) >= d.multiline.Timeout {
			d.emitHeld(i, emit)
		}
	}
}
