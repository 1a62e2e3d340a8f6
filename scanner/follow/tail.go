package follow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/nxadm/tail"
)

// maxTornLine caps the unterminated last line of a finished file that is
// still passed on. Longer remainders are counted as unread.
const maxTornLine = 1 << 20

// startTail starts github.com/nxadm/tail on the open file f from offset.
//
// The library is only a line reader here; the follower owns everything else:
//   - It reads f through its descriptor path, so it never notices the
//     file's name change. The library reopens by name after a rename and loses what
//     the runtime still writes to the renamed file.
//   - Poll is set: the inotify mode shares one inotify instance keyed by path,
//     calls os.Exit when the instance cannot be created, and stops a tail when
//     a watch cannot be added. Polling stats the descriptor path, which only
//     fails with "not found" after the follower closed f.
//   - ReOpen is off: with it the library reopens the path, and without
//     Follow it calls os.Exit.
//   - CompleteLines holds a line until its '\n' arrives, so a line being
//     written is never cut in two.
//   - Offsets come from Line.SeekInfo, never from Tell, which runs ahead of
//     the lines received and races with the library's reopen.
//   - RateLimiter is unset: its notice is sent without a select and can
//     block Stop.
func startTail(f *os.File, offset int64, log *slog.Logger) (*tail.Tail, error) {
	return tail.TailFile(descriptorPath(f), tail.Config{
		Location:      &tail.SeekInfo{Offset: offset, Whence: io.SeekStart},
		MustExist:     true,
		Follow:        true,
		Poll:          true,
		CompleteLines: true,
		Logger:        slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	})
}

// segmentState tracks the end of a file that is no longer at the path.
type segmentState struct {
	detached   bool      // the file was renamed or deleted
	lastSize   int64     // size at the previous check
	lastChange time.Time // when the size last changed
	target     int64     // end of the last complete line to read, -1 until known
	finalSize  int64
	started    time.Time
}

// tail reads an uncompressed segment with the library until it is finished,
// truncated, idle or stopped. newer is true when a later rotation exists,
// which proves that writes have moved on from seg.
func (f *follower) tail(ctx context.Context, seg *segment, newer bool) outcome {
	if !f.begin(ctx, seg) {
		return outStopped
	}
	st := segmentState{detached: !seg.current, lastSize: seg.size, lastChange: time.Now(), target: -1, started: time.Now()}
	t, err := startTail(seg.file, f.offset, f.log)
	if err != nil {
		f.log.Warn("cannot start reading file", "file", seg.path, "err", err)
		return outFailed
	}
	defer func() { t.Stop() }()
	ticker := time.NewTicker(f.tl.opts.CheckInterval)
	defer ticker.Stop()
	next := 1 // the library numbers lines from 1, and again after it reopens
	for {
		if st.target >= 0 && f.offset >= st.target {
			return f.finish(ctx, seg, &st)
		}
		select {
		case <-ctx.Done():
			return outStopped
		case l, ok := <-t.Lines:
			if !ok {
				if t, ok = f.restartTail(ctx, t, seg); !ok {
					return outStopped
				}
				next = 1
				continue
			}
			if out, ok := f.receive(ctx, seg, t, l, &next); !ok {
				return out
			}
		case <-ticker.C:
			if out, ok := f.check(seg, &st, newer); !ok {
				return out
			}
		case <-f.poke:
			if out, ok := f.check(seg, &st, newer); !ok {
				return out
			}
		}
	}
}

// receive adds l and every further line that is ready to the batch, then
// sends the batch.
func (f *follower) receive(ctx context.Context, seg *segment, t *tail.Tail, l *tail.Line, next *int) (outcome, bool) {
	for {
		if l.Num != *next {
			// The library reopened the file from offset 0 because it
			// saw the size shrink.
			return outTruncated, false
		}
		*next++
		f.addString(l.Text, l.SeekInfo.Offset)
		if f.batch.full() {
			if !f.flush(ctx, true) {
				return outStopped, false
			}
		}
		var ok bool
		if l, ok = readyLine(t); !ok {
			break
		}
	}
	if !f.flush(ctx, false) {
		return outStopped, false
	}
	if seg.current && !f.reported {
		if fi, err := seg.file.Stat(); err == nil && fi.Size() == f.offset {
			f.caughtUp()
		}
	}
	return 0, true
}

// readyLine returns a line the library has ready, yielding once so that a
// library goroutine reading a backlog can catch up.
func readyLine(t *tail.Tail) (*tail.Line, bool) {
	for range 2 {
		select {
		case l, ok := <-t.Lines:
			return l, ok && l != nil
		default:
			runtime.Gosched()
		}
	}
	return nil, false
}

// restartTail replaces a library tail whose channel closed on its own, after
// a read or seek error, and resumes after the last line received.
func (f *follower) restartTail(ctx context.Context, old *tail.Tail, seg *segment) (*tail.Tail, bool) {
	f.tl.metrics.tailRestarts.Inc()
	f.log.Warn("file reader stopped, restarting it", "err", old.Err())
	for {
		select {
		case <-ctx.Done():
			return old, false
		case <-time.After(f.tl.opts.CheckInterval):
		}
		t, err := startTail(seg.file, f.offset, f.log)
		if err == nil {
			return t, true
		}
		f.log.Warn("cannot restart file reader", "err", err)
	}
}

// check looks for truncation, rotation, deletion and idleness of seg. It
// returns false with the outcome when reading seg must stop.
func (f *follower) check(seg *segment, st *segmentState, newer bool) (outcome, bool) {
	fi, err := seg.file.Stat()
	if err != nil {
		f.log.Warn("cannot stat file", "file", seg.path, "err", err)
		return outFailed, false
	}
	size := fi.Size()
	if size < st.lastSize || size < f.offset || !f.sameStart(seg) {
		f.tl.metrics.rotations.WithLabelValues(rotationTruncate).Inc()
		f.log.Warn("file was truncated", "file", seg.path, "size", size, "offset", f.offset)
		f.size = max(st.lastSize, f.offset)
		return outTruncated, false
	}
	if size != st.lastSize {
		st.lastSize, st.lastChange = size, time.Now()
	}
	if seg.current && (size == f.offset || time.Since(st.started) >= f.tl.opts.RotateWait) {
		// Nothing complete is left to read, or a line without its '\n' has
		// been pending for long.
		f.caughtUp()
	}
	f.size = size
	if f.id, err = refreshFingerprint(seg.file, f.id, size); err != nil {
		f.log.Warn("cannot read file", "err", err)
	}
	if !st.detached {
		if f.moved() {
			st.detached = true
			f.tl.metrics.rotations.WithLabelValues(rotationRename).Inc()
			f.log.Info("file was rotated or deleted; reading it to its end", "size", size)
		} else if time.Since(st.lastChange) >= f.tl.opts.IdleTimeout && f.idle() {
			return outIdle, false
		}
	}
	if st.detached && st.target < 0 && f.writesEnded(st, newer) {
		end, err := lastLineEnd(seg.file, size)
		if err != nil {
			f.log.Warn("cannot read file", "file", seg.path, "err", err)
			return outFailed, false
		}
		st.target, st.finalSize = end, size
	}
	return 0, true
}

// sameStart reports whether the file still starts with the bytes its
// fingerprint was taken from. A file truncated and refilled past the old
// offset between two checks is caught only this way.
func (f *follower) sameStart(seg *segment) bool {
	if f.id.FingerprintLen == 0 {
		return true
	}
	ok, err := fingerprintMatches(ioSection(seg.file), f.id)
	return err != nil || ok
}

// moved reports whether the path no longer leads to the file being read.
func (f *follower) moved() bool {
	fi, err := os.Stat(f.path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	return !statID(fi).sameInode(f.id)
}

// writesEnded reports whether a detached file will not grow any more: a
// newer file has data, or the size held still for the rotation wait (one
// check interval once the pod's folder is gone).
func (f *follower) writesEnded(st *segmentState, newer bool) bool {
	if newer || f.nextHasData() {
		return true
	}
	wait := f.tl.opts.RotateWait
	if !f.parentExists() {
		wait = f.tl.opts.CheckInterval
	}
	return time.Since(st.lastChange) >= wait
}

// finish passes on the unterminated remainder of a detached file, if any,
// and ends the segment.
func (f *follower) finish(ctx context.Context, seg *segment, st *segmentState) outcome {
	if torn := st.finalSize - st.target; torn > 0 {
		if torn > maxTornLine {
			f.tl.metrics.unread(f.labels, reasonTornLine, torn)
			f.log.Error("file ends with an unterminated line that is too long; skipping it",
				"file", seg.path, "unread_bytes", torn)
		} else {
			buf := make([]byte, torn)
			if _, err := seg.file.ReadAt(buf, st.target); err != nil {
				f.tl.metrics.unread(f.labels, reasonTornLine, torn)
				f.log.Error("cannot read the last line of file", "file", seg.path, "err", err)
			} else {
				f.add(buf, st.finalSize)
			}
		}
	}
	f.offset, f.size = max(f.offset, st.finalSize), st.finalSize
	if !f.flush(ctx, false) {
		return outStopped
	}
	return outFinished
}
