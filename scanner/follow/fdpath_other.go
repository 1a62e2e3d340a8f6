//go:build unix && !linux

package follow

import (
	"os"
	"strconv"
)

// descriptorPath returns a path that opens the same file as f. The BSDs and
// macOS duplicate the descriptor when /dev/fd/N is opened, so the new
// descriptor shares f's file offset; the follower only reads f with ReadAt,
// which ignores that offset.
//
// NOTE: only the Linux variant runs in this package's tests.
func descriptorPath(f *os.File) string {
	return "/dev/fd/" + strconv.FormatUint(uint64(f.Fd()), 10)
}
