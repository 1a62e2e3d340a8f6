package follow

import (
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// pendingReporter is implemented by decoders that report whether they hold
// a partial line. Without it a line is taken as complete once it emits a
// joined line.
type pendingReporter interface{ Pending() bool }

// accept decodes a batch into its stream's queue.
func (p *Pipeline) accept(b *Batch) {
	s := p.stream(b.Path)
	now := time.Now()
	p.merge.setBehind(s, b.More, now)
	if b.File != s.file || b.Done {
		p.switchFile(s, b)
	}
	ref := &batchRef{b: b, left: 1} // held until the batch is fully queued
	for i := range b.Lines {
		p.decodeLine(s, &b.Lines[i], ref)
	}
	if len(b.Lines) > 0 {
		s.lastRaw = now
	}
	s.size = b.Size
	ref.drop()
}

func (p *Pipeline) stream(path string) *stream {
	s, ok := p.merge.streams[path]
	if !ok {
		src := scanner.SourceFromPath(path)
		src.Node = p.opts.Node
		s = &stream{path: path, src: src, dec: scanner.NewDecoder(src, time.Now()), index: -1}
		p.merge.streams[path] = s
	}
	return s
}

// switchFile ends the decoding of the previous file: a partial line left
// pending there is passed on as it is, because its rest cannot follow in
// another file. Then the path's position moves to the batch's file.
func (p *Pipeline) switchFile(s *stream, b *Batch) {
	p.flushDecoder(s)
	s.file, s.rawEnd, s.safe = b.File, b.Start, b.Start
	e := entry{pos: s.position(b.Start), done: b.Done}
	p.queueOrApply(s, e)
}

// decodeLine decodes one raw line and queues what it emits.
func (p *Pipeline) decodeLine(s *stream, raw *RawLine, ref *batchRef) {
	p.decoded = p.decoded[:0]
	s.dec.Decode(raw.Text, p.collect)
	s.rawEnd = raw.End
	pending := len(p.decoded) == 0
	if pr, ok := any(s.dec).(pendingReporter); ok {
		pending = pr.Pending()
	}
	if !pending {
		s.safe = raw.End
	}
	p.queueDecoded(s, ref)
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
	s.safe = s.rawEnd
	p.queueDecoded(s, nil)
}

// flushStalePartials passes on partial lines whose last chunk has not come
// within partialTimeout, as containerd leaves when a container's output
// ends without a newline.
func (p *Pipeline) flushStalePartials(now time.Time) {
	for _, s := range p.merge.streams {
		if s.safe < s.rawEnd && now.Sub(s.lastRaw) >= partialTimeout {
			p.flushDecoder(s)
		}
	}
}

// position returns the stream's position at offset in its current file.
func (s *stream) position(offset int64) Position {
	return Position{Path: s.path, FileID: s.file, Offset: offset, Size: max(s.size, offset)}
}
