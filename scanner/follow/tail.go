package follow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/nxadm/tail/watch"
	"gopkg.in/tomb.v1"
)

// maxTornLine caps the unterminated last line of a finished file that is
// still passed on. Longer remainders are counted as unread.
const maxTornLine = 1 << 20

// watchFile starts the polling watcher of github.com/nxadm/tail on the open
// file f, which reports growth, truncation and replacement. The follower
// then reads everything new in large reads. The library's own line reader
// is not used: it makes an lseek call and two allocations per line and
// passes lines one at a time over a channel. At 50,000 lines per second in
// 1,000 files it used a fifth of a core by itself, twice the agent's budget.
//
// The watcher stats the descriptor path, so a rename does not disturb it.
// NOTE: the watcher exits the process on a stat error other than "not
// found" (util.Fatal in its polling.go). The descriptor path of a file the
// follower keeps open gives no such error in practice, and "not found" only
// comes once the follower closed f. The library's inotify watcher is not
// used, because it shares one inotify instance keyed by path and calls
// os.Exit when it cannot create one.
func watchFile(f *os.File, offset int64) (*watch.FileChanges, *tomb.Tomb, error) {
	var t tomb.Tomb
	changes, err := watch.NewPollingFileWatcher(descriptorPath(f)).ChangeEvents(&t, offset)
	if err != nil {
		return nil, nil, err
	}
	return changes, &t, nil
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

// tail reads an uncompressed segment until it is finished, truncated, idle
// or stopped. newer is true when a later rotation exists, which proves that
// writes have moved on from seg.
func (f *follower) tail(ctx context.Context, seg *segment, newer bool) outcome {
	if !f.begin(ctx, seg) {
		return outStopped
	}
	st := segmentState{detached: !seg.current, lastSize: seg.size, lastChange: time.Now(), target: -1, started: time.Now()}
	changes, watcher, err := watchFile(seg.file, f.offset)
	if err != nil {
		f.log.Warn("cannot start watching file", "file", seg.path, "err", err)
		return outFailed
	}
	defer watcher.Kill(nil)
	ticker := time.NewTicker(f.tl.opts.CheckInterval)
	defer ticker.Stop()
	for {
		if out, ok := f.readNew(ctx, seg, &st); !ok {
			return out
		}
		if st.target >= 0 && f.offset >= st.target {
			return f.finish(ctx, seg, &st)
		}
		select {
		case <-ctx.Done():
			return outStopped
		case <-changes.Modified:
			continue // the file grew: read on
		case <-changes.Truncated:
		case <-changes.Deleted:
			// The descriptor path went away, which happens only after the
			// file was closed. The check finds out what happened.
		case <-ticker.C:
		case <-f.poke:
		}
		if out, ok := f.check(seg, &st, newer); !ok {
			return out
		}
	}
}

// readBufs are the buffers of readNew, shared by all followers. A follower
// holds one only while it reads, and a reader waits when all are in use:
// more readers at a time than cores gain nothing, and a buffer per follower
// would cost 64 MiB at 1,000 files.
var readBufs = make(chan []byte, readBufCount)

const (
	readBufSize  = 64 << 10
	readBufCount = 8
)

func getReadBuf(ctx context.Context) ([]byte, bool) {
	select {
	case b := <-readBufs:
		return b, true
	default:
	}
	if readBufsMade.Add(1) <= readBufCount {
		return make([]byte, readBufSize), true
	}
	select {
	case b := <-readBufs:
		return b, true
	case <-ctx.Done():
		return nil, false
	}
}

// readBufsMade counts the buffers made, up to readBufCount.
var readBufsMade atomic.Int32

// readNew reads every complete line after the follower's offset, up to the
// segment's target when one is set, into batches, and sends them.
func (f *follower) readNew(ctx context.Context, seg *segment, st *segmentState) (outcome, bool) {
	buf, ok := getReadBuf(ctx)
	if !ok {
		return outStopped, false
	}
	defer func() { readBufs <- buf }()
	read := false
	for {
		n, err := seg.file.ReadAt(buf, f.offset)
		if err != nil && err != io.EOF {
			f.tl.metrics.readErrors.Inc()
			f.log.Warn("cannot read file", "file", seg.path, "err", err)
			return outFailed, false
		}
		data := buf[:n]
		if st.target >= 0 {
			data = data[:min(int64(len(data)), max(st.target-f.offset, 0))]
		}
		base, used := f.offset, 0
		for {
			i := bytes.IndexByte(data[used:], '\n')
			if i < 0 {
				break
			}
			f.add(data[used:used+i], base+int64(used+i+1))
			used += i + 1
			read = true
			if f.batch.full() && !f.flush(ctx, true) {
				return outStopped, false
			}
		}
		if used == 0 && len(data) == len(buf) {
			// A line longer than the buffer.
			complete, ok := f.readLongLine(ctx, seg, buf)
			if !ok {
				return outStopped, false
			}
			if !complete {
				break
			}
			read = true
			continue
		}
		if n < len(buf) || used == 0 {
			break
		}
	}
	if read && !f.flush(ctx, false) {
		return outStopped, false
	}
	if seg.current && !f.reported {
		if fi, err := seg.file.Stat(); err == nil && fi.Size() == f.offset {
			f.caughtUp()
		}
	}
	return 0, true
}

// readLongLine reads a line that does not fit the buffer, which starts at
// the follower's offset and fills buf. The batch keeps its first bytes up to
// the line cap, so memory stays bounded whatever the line's length.
// complete is false, and the offset unchanged, while the line's '\n' has
// not been written yet. ok is false when ctx ended.
func (f *follower) readLongLine(ctx context.Context, seg *segment, buf []byte) (complete, ok bool) {
	lineCap := rawLineCap(f.tl.opts.MaxLineBytes)
	head := append([]byte(nil), buf[:min(len(buf), lineCap)]...)
	for off := f.offset + int64(len(buf)); ; {
		n, err := seg.file.ReadAt(buf, off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			if room := lineCap - len(head); room > 0 {
				head = append(head, buf[:min(i, room)]...)
			}
			f.add(head, off+int64(i+1))
			return true, !f.batch.full() || f.flush(ctx, true)
		}
		if n == 0 || err != nil {
			return false, true
		}
		if room := lineCap - len(head); room > 0 {
			head = append(head, buf[:min(n, room)]...)
		}
		off += int64(n)
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
