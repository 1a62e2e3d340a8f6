package follow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rotatedFile is a file that was rotated away from a followed path: the
// kubelet's <n>.log.<YYYYMMDD-hhmmss>, logrotate's <name>.1 or
// <name>-<date>, each possibly compressed with gzip.
type rotatedFile struct {
	path  string
	gz    bool
	mod   time.Time
	stamp string // kubelet timestamp or date suffix, "" when none
	num   int    // logrotate's number, -1 when none
}

// listRotated returns the files rotated away from path, oldest first.
// Compression leftovers (.tmp) are skipped, and when a rotation exists both
// compressed and uncompressed, as it does while the kubelet compresses it,
// only the uncompressed file is listed.
func listRotated(path string) ([]rotatedFile, error) {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil, fmt.Errorf("list rotated files: %w", err)
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	var list []rotatedFile
	for _, e := range entries {
		r, ok := parseRotated(base, e.Name())
		if !ok || !e.Type().IsRegular() || (r.gz && names[strings.TrimSuffix(e.Name(), ".gz")]) {
			continue
		}
		r.path = filepath.Join(dir, e.Name())
		if fi, err := e.Info(); err == nil {
			r.mod = fi.ModTime()
		}
		list = append(list, r)
	}
	slices.SortStableFunc(list, compareRotated)
	return list, nil
}

// parseRotated classifies name as a rotation of base.
func parseRotated(base, name string) (rotatedFile, bool) {
	r := rotatedFile{num: -1}
	rest, ok := strings.CutPrefix(name, base)
	if !ok || len(rest) < 2 || (rest[0] != '.' && rest[0] != '-') || strings.HasSuffix(rest, ".tmp") {
		return r, false
	}
	rest, r.gz = strings.CutSuffix(rest, ".gz")
	suffix := rest[1:]
	if suffix == "" || strings.ContainsRune(suffix, '/') {
		return r, false
	}
	if n, err := strconv.Atoi(suffix); err == nil && rest[0] == '.' && len(suffix) < 8 {
		r.num = n
	} else {
		r.stamp = suffix
	}
	return r, true
}

// compareRotated orders rotations oldest first: kubelet timestamps and dates
// ascending, logrotate numbers descending (.2 is older than .1), and by
// modification time when the names carry no order.
func compareRotated(a, b rotatedFile) int {
	switch {
	case a.stamp != "" && b.stamp != "":
		return strings.Compare(a.stamp, b.stamp)
	case a.num >= 0 && b.num >= 0:
		return b.num - a.num
	}
	return a.mod.Compare(b.mod)
}

// segment is one file a follower reads from offset: an earlier rotation of
// the path, or the file at the path itself.
type segment struct {
	path    string
	file    *os.File // open when the file is not compressed
	gz      bool
	offset  int64
	id      FileID
	size    int64
	current bool // the file was at the followed path when resolved
}

// close closes the segment's file, if open.
func (s *segment) close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// resolution lists what a follower reads for a path, in order, and what it
// cannot read any more.
type resolution struct {
	segments  []segment
	lostBytes int64  // bytes of pos's file that are no longer on disk
	lostFile  string // the file they belonged to
	missing   bool   // nothing exists at the path
}

// closeAll closes the files of all segments.
func (r *resolution) closeAll() {
	for i := range r.segments {
		r.segments[i].close()
	}
}

// openSegment opens path and identifies it. A missing file returns a nil
// segment and no error.
func openSegment(path string) (*segment, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id, size, err := identify(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &segment{path: path, file: f, id: id, size: size}, nil
}

// resolve works out where reading path continues. Without a saved position
// the file at path is read from start. With one, reading resumes in the file
// the position names: at the path itself when its inode and fingerprint still
// match, else in the rotated file that holds them, followed by every newer
// rotation and the file at the path.
//
// truncated is true when the file at the path was seen to shrink or change
// its first bytes: it is then never resumed in place, because a refilled
// file can match both.
func resolve(path string, pos *Position, start int64, truncated bool) (*resolution, error) {
	cur, err := openSegment(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	res := &resolution{missing: cur == nil}
	if cur != nil {
		cur.current = true
	}
	if pos == nil {
		if cur != nil {
			cur.offset = min(start, cur.size)
			res.segments = append(res.segments, *cur)
		}
		return res, nil
	}
	if cur != nil && !truncated && cur.id.sameInode(pos.FileID) && cur.size >= pos.Offset {
		ok, err := fingerprintMatches(ioSection(cur.file), pos.FileID)
		if err != nil {
			cur.close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if ok {
			cur.offset = pos.Offset
			res.segments = append(res.segments, *cur)
			return res, nil
		}
	}
	if err := res.addRotations(path, pos, cur); err != nil {
		cur.close()
		return nil, err
	}
	if cur != nil {
		res.segments = append(res.segments, *cur)
	}
	return res, nil
}

// addRotations appends the rotated files to read before cur: the one that
// holds pos's file from pos.Offset, and every newer one.
func (res *resolution) addRotations(path string, pos *Position, cur *segment) error {
	// With Docker's json-file driver the path is a symlink, and dockerd
	// rotates the file it points to, next to it.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	list, err := listRotated(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	// A file truncated in place (copytruncate) keeps its inode, so its old
	// content can only be found by fingerprint, in the copy.
	inPlace := cur != nil && cur.id.sameInode(pos.FileID)
	found := -1
	for i := len(list) - 1; i >= 0 && found < 0; i-- {
		seg, ok, err := matchRotated(list[i], pos, inPlace)
		if err != nil {
			res.closeAll()
			return err
		}
		if ok {
			found = i
			if seg != nil {
				res.segments = append(res.segments, *seg)
			}
		}
	}

	if found < 0 {
		res.lostBytes, res.lostFile = max(pos.Size-pos.Offset, 0), pos.Path
		if inPlace {
			// The rotations of a file truncated in place hold older content.
			return nil
		}
		// The kubelet and logrotate delete the oldest rotations first, so
		// when pos's file is gone, every rotation left is newer than it.
	}
	for _, r := range list[found+1:] {
		seg, err := rotatedSegment(r, 0)
		if err != nil {
			res.closeAll()
			return err
		}
		if seg != nil {
			res.segments = append(res.segments, *seg)
		}
	}
	return nil
}

// matchRotated reports whether r holds pos's file, and if so returns the
// segment that reads the rest of it, or nil when nothing is left to read.
func matchRotated(r rotatedFile, pos *Position, inPlace bool) (*segment, bool, error) {
	if r.gz {
		ok, err := gzipFingerprintMatches(r.path, pos.FileID)
		if err != nil || !ok {
			// An unreadable compressed file is not the one sought; if it is,
			// its bytes are counted as lost.
			return nil, false, nil
		}
		seg := &segment{path: r.path, gz: true, offset: pos.Offset, id: pos.FileID}
		if f, err := os.Open(r.path); err == nil {
			size, err := gzipSize(f)
			f.Close()
			if err == nil && size == pos.Offset&0xffffffff {
				return nil, true, nil
			}
		}
		return seg, true, nil
	}
	seg, err := openSegment(r.path)
	if err != nil || seg == nil {
		return nil, false, err
	}
	if !seg.id.sameInode(pos.FileID) && !inPlace && pos.Inode != 0 {
		seg.close()
		return nil, false, nil
	}
	ok, err := fingerprintMatches(ioSection(seg.file), pos.FileID)
	if err != nil || !ok || seg.size < pos.Offset {
		seg.close()
		return nil, false, err
	}
	if seg.size == pos.Offset {
		seg.close()
		return nil, true, nil
	}
	seg.offset = pos.Offset
	return seg, true, nil
}

// rotatedSegment returns a segment that reads r from offset.
func rotatedSegment(r rotatedFile, offset int64) (*segment, error) {
	if r.gz {
		return &segment{path: r.path, gz: true, offset: offset}, nil
	}
	seg, err := openSegment(r.path)
	if err != nil || seg == nil {
		return nil, err
	}
	seg.offset = offset
	return seg, nil
}
