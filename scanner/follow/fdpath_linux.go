package follow

import (
	"os"
	"strconv"
)

// descriptorPath returns a path that opens the same file as f, even after f
// has been renamed or deleted: Linux resolves /proc/self/fd links to the open
// file itself, not to its former name.
func descriptorPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.FormatUint(uint64(f.Fd()), 10)
}
