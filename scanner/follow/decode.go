package follow

import (
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// accept decodes a batch into its stream's queue.
func (p *Pipeline) accept(b *Batch) {
	s := p.stream(b.Path)
	now := time.Now()
	p.merge.setBehind(s, b.More, now)
	if len(b.Lines) == 0 {
		p.startFile(s, b)
	} else {
		// The fingerprint grows with a file's first kilobyte.
		s.file = b.File
	}
	ref := &batchRef{b: b, left: 1} // held until the batch is fully queued
	for i := range b.Lines {
		p.decodeLine(s, &b.Lines[i], ref)
	}
	p.settlePassed(s)
	if len(b.Lines) > 0 && !b.More && s.multiline {
		// The follower read all the file contained, so an error line that
		// Java frames might follow has them already, or has none.
		p.queueHeld(s, s.dec.FlushMaybeJava)
	}
	if len(b.Lines) > 0 {
		s.lastRaw = now
	}
	s.size = b.Size
	ref.drop()
}

// settlePassed records what the lines that passed the engine by moved: the
// line count, the path's last line time and, once what is queued before is
// handled, its position.
func (p *Pipeline) settlePassed(s *stream) {
	if s.passed == 0 {
		return
	}
	p.metrics.lines.Add(float64(s.passed))
	p.metrics.lag.Set(time.Since(s.passedTime).Seconds())
	p.lastLine.set(s.path, s.passedTime)
	s.passed = 0
	p.queueOrApply(s, entry{pos: s.position(s.safe)})
}

func (p *Pipeline) stream(path string) *stream {
	s, ok := p.merge.streams[path]
	if !ok {
		src := scanner.SourceFromPath(path)
		src.Node = p.opts.Node
		s = &stream{path: path, src: src, dec: scanner.NewDecoder(src, time.Now()), index: -1}
		s.passBy = func(t time.Time, text []byte) bool {
			if !p.engine.PassBy(src, t, text) {
				return false
			}
			s.passed++
			s.passedTime = t
			return true
		}
		// A live file's plain lines without a time of their own were
		// written just now.
		s.dec.SetNow(time.Now)
		s.dec.SetMaxLineBytes(p.opts.Tail.MaxLineBytes)
		p.setMultiline(s)
		p.merge.streams[path] = s
	}
	return s
}

// startFile handles a batch without lines, which a follower sends when it
// starts reading a file or stops for good. Unless reading simply goes on
// where decoding stopped, a partial line the decoder holds is passed on as
// it is, because its rest cannot follow. Then the path's position moves to
// the batch's file and offset.
func (p *Pipeline) startFile(s *stream, b *Batch) {
	if b.Done || !sameFile(b.File, s.file) || b.Start != s.rawEnd {
		p.flushDecoder(s)
	}
	s.file, s.rawEnd, s.safe = b.File, b.Start, b.Start
	e := entry{pos: s.position(b.Start), done: b.Done}
	p.queueOrApply(s, e)
}

// decodeLine decodes one raw line and queues what it emits.
func (p *Pipeline) decodeLine(s *stream, raw *RawLine, ref *batchRef) {
	// A line that no rule can match passes the engine by without a copy,
	// unless lines of its stream still wait in the merge, which must see
	// the engine first.
	if len(s.queue) == 0 && s.dec.Pass(raw.Text, s.passBy) {
		s.rawEnd = raw.End
		if !s.dec.Pending() {
			s.safe = raw.End
		}
		return
	}
	p.settlePassed(s)
	p.decoded = p.decoded[:0]
	s.dec.Decode(raw.Text, p.collect)
	p.countStats(s)
	s.rawEnd = raw.End
	if !s.dec.Pending() {
		s.safe = raw.End
	}
	p.queueDecoded(s, ref)
}

// setMultiline applies the rules' multi-line joining settings for the
// stream's source, which are nil when joining is off for it.
func (p *Pipeline) setMultiline(s *stream) {
	m := p.opts.Rules.Multiline(s.src)
	s.dec.SetMultiline(m)
	s.multiline = m != nil
}

// countStats counts the lines the stream's decoder truncated or could not
// parse since the last call.
func (p *Pipeline) countStats(s *stream) {
	st := s.dec.Stats
	p.metrics.truncated.Add(float64(st.Truncated - s.stats.Truncated))
	p.metrics.malformed.Add(float64(st.Malformed - s.stats.Malformed))
	s.stats = st
}

// collect copies a decoded line, whose text the decoder reuses.
func (p *Pipeline) collect(l *scanner.Line) {
	c := *l
	c.Text = append([]byte(nil), l.Text...)
	p.decoded = append(p.decoded, c)
}

// queueDecoded queues the lines just decoded, each moving the position to
// the stream's safe offset. Without lines, the safe offset still applies
// once what is already queued is handled.
func (p *Pipeline) queueDecoded(s *stream, ref *batchRef) {
	if len(p.decoded) == 0 {
		p.queueOrApply(s, entry{pos: s.position(s.safe)})
		return
	}
	for _, l := range p.decoded {
		if ref != nil {
			ref.left++
		}
		p.merge.push(s, entry{line: l, isLine: true, pos: s.position(s.safe), ref: ref})
	}
}

// queueOrApply applies a position at once when nothing is queued before
// it, and otherwise moves it onto the last queued entry.
func (p *Pipeline) queueOrApply(s *stream, e entry) {
	if n := len(s.queue); n > 0 {
		last := &s.queue[n-1]
		if !e.done && last.isLine {
			last.pos = e.pos
			return
		}
		p.merge.push(s, e)
		return
	}
	p.handle(s, &e)
}

// flushDecoder passes on a partial line the decoder still holds.
func (p *Pipeline) flushDecoder(s *stream) {
	p.decoded = p.decoded[:0]
	s.dec.Flush(p.collect)
	p.countStats(s)
	s.safe = s.rawEnd
	p.queueDecoded(s, nil)
}

// flushHeld passes on multi-line events that waited their timeout, and
// partial lines whose last chunk has not come within partialTimeout, as
// containerd leaves when a container's output ends without a newline.
func (p *Pipeline) flushHeld(now time.Time) {
	for _, s := range p.merge.streams {
		if s.safe >= s.rawEnd {
			continue
		}
		if now.Sub(s.lastRaw) >= partialTimeout {
			p.flushDecoder(s)
			continue
		}
		if s.multiline {
			p.queueHeld(s, func(emit func(*scanner.Line)) { s.dec.FlushIdle(now, emit) })
		}
	}
}

// position returns the stream's position at offset in its current file.
func (s *stream) position(offset int64) Position {
	return Position{Path: s.path, FileID: s.file, Offset: offset, Size: max(s.size, offset)}
}

// queueHeld queues the multi-line events that flush emits from the stream's
// decoder, and moves the safe offset past the raw lines once nothing is
// held any more.
func (p *Pipeline) queueHeld(s *stream, flush func(emit func(*scanner.Line))) {
	p.decoded = p.decoded[:0]
	flush(p.collect)
	p.countStats(s)
	if !s.dec.Pending() {
		s.safe = s.rawEnd
	}
	p.queueDecoded(s, nil)
}
