package scanner

import (
	"bytes"
	"encoding/json"
	"time"
)

// TruncatedMarker ends a line that was cut to the maximum size, to show in
// alerts that the line went on.
const TruncatedMarker = " [truncated]"

// DefaultMaxLineBytes caps a joined line. Longer lines keep their first
// bytes, end with TruncatedMarker, and are counted as truncated. Loki's default line
// limit is 256 KB too, so a cut line can still be forwarded whole.
const DefaultMaxLineBytes = 256 << 10

// Line is one log line after unwrapping and joining. Text is only valid until
// the callback that received the line returns, because decoders reuse it.
type Line struct {
	Time   time.Time
	Stream string
	Text   []byte
	Source *Source

	level      Level
	levelDone  bool
	fields     map[string]string
	fieldsDone bool
}

// Level returns the level the line declares, detected on first use.
func (l *Line) Level() Level {
	if !l.levelDone {
		l.level = detectLevel(l.Text)
		l.levelDone = true
	}
	return l.level
}

type format uint8

const (
	formatUnknown format = iota
	formatCRI
	formatDocker
	formatPlain
)

const (
	streamStdout = "stdout"
	streamStderr = "stderr"
)

// DecoderStats counts what a Decoder met.
type DecoderStats struct {
	Lines     int64 // lines emitted
	Truncated int64 // lines cut to the maximum size
	Malformed int64 // lines of a CRI or Docker file that did not parse and were read as plain text
}

// Decoder turns the physical lines of one file into Lines. It detects the
// file's format on its first non-empty line: Docker json-file when it starts
// with '{' and parses, CRI when it has the CRI shape, plain text otherwise.
// CRI "P" chunks and Docker partial messages are joined per stream, because
// stdout and stderr chunks can interleave.
type Decoder struct {
	src       *Source
	format    format
	clock     time.Time // the last time seen in this stream
	maxBytes  int
	partial   [2]partialLine // stdout, stderr
	lines     [4]Line        // emitted lines, used in turn: one call emits at most four
	next      int
	docker    dockerRecord
	cutBuf    []byte     // a line cut to the maximum, with the marker
	multiline *Multiline // nil: no joining
	now       func() time.Time
	joiners   [2]joiner // stdout, stderr
	times     timeCache
	Stats     DecoderStats
}

type partialLine struct {
	buf     []byte
	time    time.Time
	pending bool
	cut     bool // chunks were dropped because buf reached the maximum
}

type dockerRecord struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// NewDecoder returns a decoder for one file. Lines that carry no time of
// their own get the last time seen in the file, or fallback before any.
func NewDecoder(src *Source, fallback time.Time) *Decoder {
	return &Decoder{src: src, clock: fallback, maxBytes: DefaultMaxLineBytes}
}

// SetMaxLineBytes sets the cap on a joined line's size.
func (d *Decoder) SetMaxLineBytes(n int) {
	if n > 0 {
		d.maxBytes = n
	}
}

// Pending reports whether the decoder holds text that no emitted line
// covers yet: CRI or Docker chunks waiting for their last part, or a
// multi-line event waiting for more lines. A follower must not record a
// position past such text, or a restart would lose it.
func (d *Decoder) Pending() bool {
	for i := range d.partial {
		if d.partial[i].pending || d.joiners[i].pending {
			return true
		}
	}
	return false
}

// SetNow sets the clock that stamps lines with no time of their own, for a
// live agent where such a line was written just now. Without it they take
// the last time seen in the file, as replay needs.
func (d *Decoder) SetNow(now func() time.Time) { d.now = now }

// SetMultiline sets how continuation lines join; nil turns joining off.
func (d *Decoder) SetMultiline(m *Multiline) {
	if m != nil && m.Off {
		m = nil
	}
	d.multiline = m
}

// Decode reads one physical line without its trailing newline and emits the
// lines it completes: none, one, or two when it also ends a held multi-line
// event. Emitted lines stay valid until the next call to Decode, Flush or
// FlushIdle.
func (d *Decoder) Decode(raw []byte, emit func(*Line)) {
	raw = bytes.TrimSuffix(raw, []byte{'\r'})
	if d.format == formatUnknown {
		if len(raw) == 0 {
			return
		}
		d.format = detectFormat(raw)
	}
	switch d.format {
	case formatCRI:
		if d.decodeCRI(raw, emit) {
			return
		}
	case formatDocker:
		if d.decodeDocker(raw, emit) {
			return
		}
	default:
		d.emitPlain(raw, emit)
		return
	}
	d.Stats.Malformed++
	d.emitPlain(raw, emit)
}

// Pass hands pass a raw line that Decode would emit at once and unchanged:
// a whole CRI record with nothing held on its stream. It returns whether
// pass took the line, and only then counts it as emitted. Every other line
// must go to Decode.
func (d *Decoder) Pass(raw []byte, pass func(t time.Time, text []byte) bool) bool {
	if d.format != formatCRI || len(raw) == 0 || raw[len(raw)-1] == '\r' {
		return false
	}
	t, stream, partial, msg, ok := splitCRI(raw, &d.times)
	if !ok || partial || d.partial[stream].pending || d.joiners[stream].pending || len(msg) > d.maxBytes {
		return false
	}
	if d.multiline != nil {
		if _, starts := d.multiline.mayStart(msg); starts {
			return false
		}
	}
	if !pass(t, msg) {
		return false
	}
	d.clock = t
	d.Stats.Lines++
	return true
}

// Flush emits the joined text of partial lines still waiting for their last
// chunk, as at the end of a file. containerd writes a container's final
// output as a "P" record with no "F" after it when the output lacks a newline.
func (d *Decoder) Flush(emit func(*Line)) {
	for i := range d.partial {
		p := &d.partial[i]
		if p.pending {
			d.emitJoined(i, emit)
		}
	}
	for i := range d.joiners {
		if d.joiners[i].pending {
			d.emitHeld(i, emit)
		}
	}
}

func detectFormat(raw []byte) format {
	if raw[0] == '{' {
		var rec dockerRecord
		if json.Unmarshal(raw, &rec) == nil && rec.Stream != "" && !rec.Time.IsZero() {
			return formatDocker
		}
		return formatPlain
	}
	if _, _, _, _, ok := splitCRI(raw, &timeCache{}); ok {
		return formatCRI
	}
	return formatPlain
}

// splitCRI parses "<RFC 3339 time> <stdout|stderr> <P|F>[:more tags] <message>",
// reading the time through the decoder's cache.
func splitCRI(raw []byte, times *timeCache) (t time.Time, stream int, partial bool, msg []byte, ok bool) {
	sp := bytes.IndexByte(raw, ' ')
	if sp < 0 {
		return
	}
	if t, ok = times.parse(raw[:sp]); !ok {
		return
	}
	rest := raw[sp+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")):
		stream = 0
	case bytes.HasPrefix(rest, []byte("stderr ")):
		stream = 1
	default:
		return t, 0, false, nil, false
	}
	rest = rest[len("stdout "):]
	if len(rest) == 0 || (rest[0] != 'P' && rest[0] != 'F') {
		return t, 0, false, nil, false
	}
	partial = rest[0] == 'P'
	tagEnd := bytes.IndexByte(rest, ' ')
	if tagEnd < 0 {
		// A record with an empty message has no space after its tag.
		return t, stream, partial, nil, true
	}
	return t, stream, partial, rest[tagEnd+1:], true
}

func (d *Decoder) decodeCRI(raw []byte, emit func(*Line)) bool {
	t, stream, partial, msg, ok := splitCRI(raw, &d.times)
	if !ok {
		return false
	}
	d.clock = t
	d.join(t, stream, partial, msg, emit)
	return true
}

func (d *Decoder) decodeDocker(raw []byte, emit func(*Line)) bool {
	d.docker = dockerRecord{}
	if err := json.Unmarshal(raw, &d.docker); err != nil || d.docker.Time.IsZero() {
		return false
	}
	stream := 0
	if d.docker.Stream == streamStderr {
		stream = 1
	}
	msg := d.docker.Log
	complete := len(msg) > 0 && msg[len(msg)-1] == '\n'
	if complete {
		msg = msg[:len(msg)-1]
		if len(msg) > 0 && msg[len(msg)-1] == '\r' {
			msg = msg[:len(msg)-1]
		}
	}
	d.clock = d.docker.Time
	d.join(d.docker.Time, stream, !complete, []byte(msg), emit)
	return true
}

// join appends a chunk to its stream's pending line, and emits the line when
// the chunk is the last one. A line that needs no joining is emitted without a copy.
func (d *Decoder) join(t time.Time, stream int, partial bool, msg []byte, emit func(*Line)) {
	p := &d.partial[stream]
	if !p.pending && !partial {
		d.emit(t, stream, msg, emit)
		return
	}
	if !p.pending {
		p.time, p.pending = t, true
	}
	room := d.maxBytes - len(p.buf)
	if len(msg) > room {
		msg, p.cut = msg[:max(room, 0)], true
	}
	p.buf = append(p.buf, msg...)
	if !partial {
		d.emitJoined(stream, emit)
	}
}

func (d *Decoder) emitJoined(stream int, emit func(*Line)) {
	p := &d.partial[stream]
	if p.cut {
		d.Stats.Truncated++
		p.buf = d.markCut(p.buf)
	}
	d.emit(p.time, stream, p.buf, emit)
	p.buf, p.pending, p.cut = p.buf[:0], false, false
}

func (d *Decoder) emitPlain(raw []byte, emit func(*Line)) {
	if t, ok := parseMessageTime(raw, d.clock); ok {
		d.clock = t
	} else if d.now != nil {
		d.clock = d.now()
	}
	d.emit(d.clock, streamPlain, raw, emit)
}

// streamPlain is the joiner slot of plain files, which have one stream.
const streamPlain = 0

// emit hands a decoded line to the multi-line joiner, or straight on.
func (d *Decoder) emit(t time.Time, stream int, text []byte, emit func(*Line)) {
	if d.multiline != nil {
		d.joinLine(stream, t, text, emit)
		return
	}
	d.emitLine(t, d.streamLabel(stream), text, emit)
}

// streamLabel names a stream slot: stdout or stderr, or "" in plain files.
func (d *Decoder) streamLabel(stream int) string {
	if d.format == formatPlain {
		return ""
	}
	return streamName(stream)
}

func (d *Decoder) emitLine(t time.Time, stream string, text []byte, emit func(*Line)) {
	if len(text) > d.maxBytes {
		// Copy, because text may be the reader's buffer and the marker
		// must not overwrite what follows.
		d.cutBuf = d.markCut(append(d.cutBuf[:0], text[:d.maxBytes]...))
		text = d.cutBuf
		d.Stats.Truncated++
	}
	d.Stats.Lines++
	l := &d.lines[d.next]
	d.next = (d.next + 1) % len(d.lines)
	*l = Line{Time: t, Stream: stream, Text: text, Source: d.src}
	emit(l)
}

// markCut ends buf, a line already cut to the maximum, with the marker in
// place of its last bytes. A maximum too small to hold the marker twice
// keeps the plain cut, so the line still carries some text.
func (d *Decoder) markCut(buf []byte) []byte {
	if d.maxBytes < 2*len(TruncatedMarker) || len(buf) < len(TruncatedMarker) {
		return buf
	}
	return append(buf[:len(buf)-len(TruncatedMarker)], TruncatedMarker...)
}

func streamName(i int) string {
	if i == 1 {
		return streamStderr
	}
	return streamStdout
}
