package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// record is one line a container wrote, as the runtime stores it.
type record struct {
	time   time.Time
	stream string // "stdout" or "stderr"
	text   string
}

// rotation is the kubelet's container log rotation policy
// (containerLogMaxSize and containerLogMaxFiles in the kubelet config).
type rotation struct {
	maxSize  int           // bytes, the size at which the current file is rotated
	maxFiles int           // current file included
	interval time.Duration // how often the kubelet checks sizes
}

// rotatedFile is one rotated sibling of a container log.
type rotatedFile struct {
	name       string // <n>.log.<YYYYMMDD-hhmmss>
	data       []byte
	compressed bool
}

// containerLog builds the files of one container log, <n>.log and its
// rotated siblings, as containerd writes them and the kubelet rotates them.
// The kubelet checks the size every interval. Once the file has reached
// maxSize, it deletes the oldest rotations so that at most maxFiles-2 remain,
// compresses the remaining uncompressed ones, and renames the current file
// to <n>.log.<time of the check>. The newest rotation stays uncompressed.
type containerLog struct {
	base     string // "<n>.log"
	policy   rotation
	current  bytes.Buffer
	rotated  []rotatedFile // oldest first
	rotateAt time.Time     // the next size check after the file grew past maxSize
	last     time.Time
}

func newContainerLog(restart int, policy rotation) *containerLog {
	return &containerLog{base: fmt.Sprintf("%d.log", restart), policy: policy}
}

// write appends one CRI record. Records must come in time order.
func (c *containerLog) write(r record) error {
	if r.time.Before(c.last) {
		return fmt.Errorf("write %s: record at %s is older than the previous one at %s",
			c.base, r.time.Format(time.RFC3339Nano), c.last.Format(time.RFC3339Nano))
	}
	c.last = r.time
	if !c.rotateAt.IsZero() && !r.time.Before(c.rotateAt) {
		if err := c.rotate(c.rotateAt); err != nil {
			return err
		}
	}
	// containerd formats its own clock with RFC 3339 and trailing zeros of
	// the fraction trimmed, and marks whole lines with the "F" tag.
	fmt.Fprintf(&c.current, "%s %s F %s\n", r.time.UTC().Format(time.RFC3339Nano), r.stream, r.text)
	if c.rotateAt.IsZero() && c.current.Len() >= c.policy.maxSize {
		c.rotateAt = r.time.Truncate(c.policy.interval).Add(c.policy.interval)
	}
	return nil
}

func (c *containerLog) rotate(at time.Time) error {
	if excess := len(c.rotated) - (c.policy.maxFiles - 2); excess > 0 {
		c.rotated = c.rotated[excess:]
	}
	for i := range c.rotated {
		if c.rotated[i].compressed {
			continue
		}
		data, err := gzipBytes(c.rotated[i].data)
		if err != nil {
			return fmt.Errorf("compress %s: %w", c.rotated[i].name, err)
		}
		c.rotated[i] = rotatedFile{name: c.rotated[i].name + ".gz", data: data, compressed: true}
	}
	c.rotated = append(c.rotated, rotatedFile{
		name: c.base + "." + at.UTC().Format("20060102-150405"),
		data: bytes.Clone(c.current.Bytes()),
	})
	c.current.Reset()
	c.rotateAt = time.Time{}
	return nil
}

// gzipBytes compresses data like the kubelet does: default level, and no
// name or modification time in the header, so the output is reproducible.
func gzipBytes(data []byte) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// save writes the rotated files and the current file into dir.
func (c *containerLog) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create container folder: %w", err)
	}
	for _, f := range c.rotated {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("write rotated log: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, c.base), c.current.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write container log: %w", err)
	}
	return nil
}
