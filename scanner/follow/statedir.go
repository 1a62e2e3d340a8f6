package follow

import (
	"errors"
	"fmt"
	"os"
)

// openStateDir creates and locks the state folder at the start. Only a
// folder in use by another agent is an error. A folder that cannot be
// created or locked is logged once, and the pipeline keeps its state in
// memory until a save succeeds.
func (p *Pipeline) openStateDir() error {
	err := p.prepareStateDir()
	if errors.Is(err, errStateDirInUse) {
		return err
	}
	if err != nil {
		p.saveFailing = true
		p.log.Error("cannot use state folder; keeping positions and alert state in memory and retrying at every save",
			"folder", p.opts.StateDir, "err", err)
	}
	return nil
}

// prepareStateDir creates the state folder if it is missing, and locks it
// unless the pipeline already holds the lock file now in the folder. Every
// save runs it first.
//
// The lock is taken when the folder becomes usable, instead of running
// without it, because a folder created after the start, or created again
// after it was deleted, would otherwise let a second agent move the same
// positions. While another agent holds the new folder's lock, saves fail.
func (p *Pipeline) prepareStateDir() error {
	dir := p.opts.StateDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	if p.lock != nil && holdsLockFile(p.lock) {
		return nil
	}
	lock, err := lockStateDir(dir)
	if err != nil {
		return err
	}
	if p.lock != nil {
		p.lock.Close()
		p.log.Warn("state folder was removed or replaced; locked the new one", "folder", dir)
	}
	p.lock = lock
	return nil
}

// holdsLockFile reports whether the open lock file is still the file at its
// path.
func holdsLockFile(lock *os.File) bool {
	open, err := lock.Stat()
	if err != nil {
		return false
	}
	atPath, err := os.Stat(lock.Name())
	return err == nil && os.SameFile(open, atPath)
}

// closeLock releases the state folder's lock, if the pipeline holds one.
func (p *Pipeline) closeLock() {
	if p.lock != nil {
		p.lock.Close()
		p.lock = nil
	}
}

// stateDirExists reports whether the state folder exists as a folder, so
// that a saved state may be read from it.
func (p *Pipeline) stateDirExists() bool {
	fi, err := os.Stat(p.opts.StateDir)
	return err == nil && fi.IsDir()
}
