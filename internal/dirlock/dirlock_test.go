package dirlock_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/dirlock"
)

func TestAcquire_SecondHolderRefusedWithPID(t *testing.T) {
	dir := t.TempDir()
	first, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dirlock.Acquire(dir)
	if !errors.Is(err, dirlock.ErrLocked) {
		t.Fatalf("second Acquire = %v, want ErrLocked", err)
	}
	if want := fmt.Sprintf("PID %d", os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q does not name %s and %s", err, dir, want)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release = %v", err)
	}
	defer again.Release()
	if fi, err := os.Stat(filepath.Join(dir, dirlock.FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestAcquire_MissingDirectory(t *testing.T) {
	if _, err := dirlock.Acquire(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Acquire of a missing directory = %v, want fs.ErrNotExist", err)
	}
}
