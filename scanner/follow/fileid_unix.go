//go:build unix

package follow

import (
	"os"
	"syscall"
)

// statID returns the device and inode from a stat result.
func statID(fi os.FileInfo) FileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return FileID{}
	}
	return FileID{Dev: uint64(st.Dev), Inode: uint64(st.Ino)}
}
