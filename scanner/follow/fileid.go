package follow

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// fingerprintMax is how many leading bytes of a file its fingerprint covers.
// A CRI line starts with a nanosecond timestamp, so even the first line of a
// file distinguishes it from any other file.
const fingerprintMax = 1024

// FileID identifies one file across renames: the device and inode it lives
// on, and a fingerprint of its first bytes, which distinguishes a reused inode
// and identifies a compressed copy.
type FileID struct {
	Dev   uint64 `json:"dev"`
	Inode uint64 `json:"inode"`
	// FingerprintLen is how many leading bytes Fingerprint covers: up to
	// 1 KiB, fewer while the file is shorter.
	FingerprintLen int64 `json:"fingerprint_len"`
	// Fingerprint is the hex SHA-256 of those bytes, cut to 16 bytes.
	Fingerprint string `json:"fingerprint"`
}

// sameInode reports whether both IDs name the same device and inode.
func (id FileID) sameInode(other FileID) bool {
	return id.Inode != 0 && id.Dev == other.Dev && id.Inode == other.Inode
}

// sameFile reports whether a and b identify the same file: by inode, or by
// fingerprint for compressed rotations, which have no inode of the original.
func sameFile(a, b FileID) bool {
	if a.Inode != 0 || b.Inode != 0 {
		return a.sameInode(b)
	}
	return a.Fingerprint == b.Fingerprint
}

// identify returns the identity and size of an open file.
func identify(f *os.File) (FileID, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return FileID{}, 0, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	id := statID(fi)
	n := min(fi.Size(), fingerprintMax)
	if id.FingerprintLen, id.Fingerprint, err = fingerprint(io.NewSectionReader(f, 0, n)); err != nil {
		return FileID{}, 0, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return id, fi.Size(), nil
}

// fingerprint hashes everything r returns.
func fingerprint(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// fingerprintMatches reports whether r starts with the bytes id's fingerprint
// was taken from. r is read up to id.FingerprintLen bytes.
func fingerprintMatches(r io.Reader, id FileID) (bool, error) {
	n, sum, err := fingerprint(io.LimitReader(r, id.FingerprintLen))
	if err != nil {
		return false, err
	}
	return n == id.FingerprintLen && sum == id.Fingerprint, nil
}

// refreshFingerprint extends id's fingerprint while the file is still
// shorter than fingerprintMax bytes at the time id was taken.
func refreshFingerprint(f *os.File, id FileID, size int64) (FileID, error) {
	if id.FingerprintLen >= fingerprintMax || size <= id.FingerprintLen {
		return id, nil
	}
	n, sum, err := fingerprint(io.NewSectionReader(f, 0, min(size, fingerprintMax)))
	if err != nil {
		return id, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	id.FingerprintLen, id.Fingerprint = n, sum
	return id, nil
}

// lastLineEnd returns the offset just after the last '\n' before size, or 0
// when the first size bytes hold no newline.
func lastLineEnd(f io.ReaderAt, size int64) (int64, error) {
	const chunk = 16 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(end-chunk, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// gzipSize returns the uncompressed size that a gzip file records in its
// trailer. The trailer holds the size modulo 2^32 and covers only the last
// member, which is the whole file for the kubelet's and logrotate's output.
func gzipSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() < 18 {
		return 0, fmt.Errorf("%s: too short for gzip", f.Name())
	}
	var b [4]byte
	if _, err := f.ReadAt(b[:], fi.Size()-4); err != nil {
		return 0, err
	}
	return int64(b[0]) | int64(b[1])<<8 | int64(b[2])<<16 | int64(b[3])<<24, nil
}

// gzipFingerprintMatches reports whether the uncompressed content of the
// gzip file at path starts with the bytes of id's fingerprint.
func gzipFingerprintMatches(path string, id FileID) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false, err
	}
	defer zr.Close()
	return fingerprintMatches(zr, id)
}

// ioSection returns a reader of f from its start that leaves f's own offset
// alone.
func ioSection(f *os.File) io.Reader {
	return io.NewSectionReader(f, 0, 1<<62)
}
