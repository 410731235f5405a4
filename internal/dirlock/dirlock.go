// Package dirlock keeps a second process off a data directory: Acquire
// takes an exclusive advisory lock (flock) on a lock file inside it and
// writes the holder's PID there, so the loser can say who holds it.
//
// The lock belongs to the open file: it is released by Release, or by the
// kernel when the process dies (kill -9 included), so a crash never leaves
// a stale lock behind. Two Acquire calls in one process conflict too.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file Acquire creates in the directory.
const FileName = "LOCK"

// ErrLocked is returned when another process (or another Acquire in this
// one) holds the directory.
var ErrLocked = errors.New("data directory is in use")

// Lock is a held directory lock.
type Lock struct {
	f    *os.File
	path string
}

// Acquire locks dir, an existing directory, creating its lock file (0600)
// if needed. It does not wait: if the directory is held it returns an error
// wrapping ErrLocked that names the directory and the PID written by the
// holder. A missing directory is an error wrapping fs.ErrNotExist.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w: %s is locked by %s; stop that process or use another directory", ErrLocked, dir, holder(path))
		}
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return &Lock{f: f, path: path}, nil
}

// holder describes the process named in the lock file.
func holder(path string) string {
	b, err := os.ReadFile(path)
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return "PID " + pid
	}
	return "another process"
}

// Release unlocks the directory. The lock file stays (removing it would
// let a third process lock a new file while a second waits on the old one).
// Release on a nil Lock does nothing.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	// Empty the PID first so a reader never sees a released holder's PID.
	_ = f.Truncate(0)
	if err := f.Close(); err != nil {
		return fmt.Errorf("unlock data dir: %w", err)
	}
	return nil
}
