//go:build unix

package follow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// errStateDirInUse is the error of lockStateDir when another agent holds the
// lock.
var errStateDirInUse = errors.New("in use by another agent")

// lockStateDir takes an exclusive lock on the state folder, so that two
// agents never move the same positions. The lock ends with the process.
func lockStateDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "agent.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state folder %s: %w", dir, errStateDirInUse)
		}
		return nil, fmt.Errorf("lock state folder: %w", err)
	}
	return f, nil
}
