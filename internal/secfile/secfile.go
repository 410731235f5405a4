// Package secfile keeps vendsync's files private to the user that runs it:
// data and secret files are created 0600, data directories 0700, and a file
// that holds a secret (a database with the token signing key, a key, a seed)
// is refused when every user of the machine can read or write it.
package secfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of what vendsync creates.
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// ErrExposed is wrapped by Check for a file other users can reach.
var ErrExposed = errors.New("file is accessible to every user of this machine")

// Check returns an error wrapping ErrExposed when path exists and its mode
// gives any access to other users (the "world" bits), naming the chmod that
// fixes it. A missing file is not an error.
func Check(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return fmt.Errorf("%w: %s (mode %04o) must be private to the user running vendsync: run chmod 600 %s",
			ErrExposed, path, fi.Mode().Perm(), path)
	}
	return nil
}

// Create creates path for writing with mode 0600 if it does not exist (an
// existing file is left as it is) and closes it.
func Create(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}

// Write writes data to path (0600) through a temporary file and a rename,
// so a reader never sees half of it.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(FileMode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// MkdirAll creates dir (0700) and, if it already existed with access for
// group or others, takes that access away: a data directory holds keys.
// It reports whether it had to tighten an existing directory.
func MkdirAll(dir string) (tightened bool, err error) {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return false, fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return false, fmt.Errorf("create %s: %w", dir, err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(dir, fi.Mode().Perm()&^0o077); err != nil {
		return false, fmt.Errorf("make %s private: %w", dir, err)
	}
	return true, nil
}
