package follow

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// readGzip reads a compressed rotation from seg.offset, counted in
// uncompressed bytes, to its end. The library cannot read compressed files;
// nothing is appended to them, so a plain reader suffices.
func (f *follower) readGzip(ctx context.Context, seg *segment) outcome {
	if seg.id.Fingerprint == "" {
		id, err := gzipID(seg.path)
		if err != nil {
			f.gzipFailed(seg, nil, err)
			return outFinished
		}
		seg.id = id
	}
	if !f.begin(ctx, seg) {
		return outStopped
	}
	file, err := os.Open(seg.path)
	if err != nil {
		f.gzipFailed(seg, nil, err)
		return outFinished
	}
	defer file.Close()
	zr, err := gzip.NewReader(file)
	if err != nil {
		f.gzipFailed(seg, nil, err)
		return outFinished
	}
	defer zr.Close()
	if _, err := io.CopyN(io.Discard, zr, seg.offset); err != nil {
		f.gzipFailed(seg, nil, fmt.Errorf("skip to offset %d: %w", seg.offset, err))
		return outFinished
	}
	f.log.Info("reading compressed rotation", "file", seg.path, "offset", seg.offset)
	return f.readLines(ctx, seg, bufio.NewReaderSize(zr, 64<<10), file)
}

// readLines reads lines from r until its end, and passes on an unterminated
// last line as well.
func (f *follower) readLines(ctx context.Context, seg *segment, r *bufio.Reader, file *os.File) outcome {
	// long keeps at most the line cap of a line longer than the reader's
	// buffer; longLen counts all of its bytes, for the offset.
	var long []byte
	longLen := 0
	lineCap := rawLineCap(f.tl.opts.MaxLineBytes)
	keep := func(chunk []byte) {
		long = append(long, chunk[:min(len(chunk), max(lineCap-len(long), 0))]...)
		longLen += len(chunk)
	}
	for {
		chunk, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			keep(chunk)
			continue
		case err == nil:
			line, n := chunk[:len(chunk)-1], len(chunk)-1
			if long != nil {
				keep(line)
				line, n = long, longLen
				long, longLen = nil, 0
			}
			f.add(line, f.offset+int64(n)+1)
			if f.batch.full() && !f.flush(ctx, true) {
				return outStopped
			}
			continue
		case errors.Is(err, io.EOF):
			keep(chunk)
			if longLen > 0 {
				f.add(long, f.offset+int64(longLen))
			}
		default:
			f.gzipFailed(seg, file, err)
		}
		f.size = f.offset
		if !f.flush(ctx, false) {
			return outStopped
		}
		return outFinished
	}
}

// gzipFailed logs and counts the rest of a compressed file that cannot be
// read, sized by the uncompressed length in its trailer when that is readable.
func (f *follower) gzipFailed(seg *segment, file *os.File, err error) {
	if file == nil {
		if opened, oerr := os.Open(seg.path); oerr == nil {
			defer opened.Close()
			file = opened
		}
	}
	unread := int64(0)
	if file != nil {
		if size, serr := gzipSize(file); serr == nil {
			unread = max(size-seg.offset, size-f.offset, 0)
		}
	}
	f.tl.metrics.unread(f.labels, reasonGzipError, unread)
	f.log.Error("cannot read compressed rotation", "file", seg.path, "unread_bytes", unread, "err", err)
}

// gzipID fingerprints the uncompressed start of a gzip file. Compressed
// files have no inode of the original, so the ID holds only the fingerprint.
func gzipID(path string) (FileID, error) {
	file, err := os.Open(path)
	if err != nil {
		return FileID{}, err
	}
	defer file.Close()
	zr, err := gzip.NewReader(file)
	if err != nil {
		return FileID{}, err
	}
	defer zr.Close()
	var id FileID
	id.FingerprintLen, id.Fingerprint, err = fingerprint(io.LimitReader(zr, fingerprintMax))
	return id, err
}
