package secfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		mode os.FileMode
		bad  bool
	}{
		{"private", 0o600, false},
		{"group readable", 0o640, false},
		{"world readable", 0o644, true},
		{"world writable", 0o602, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, []byte("k"), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := Check(p); errors.Is(err, ErrExposed) != tt.bad {
				t.Fatalf("Check(%04o) = %v, want exposed %v", tt.mode, err, tt.bad)
			}
		})
	}
	if err := Check(filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("Check(missing) = %v", err)
	}
}

func TestWriteAndMkdirAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tightened, err := MkdirAll(dir)
	if err != nil || !tightened {
		t.Fatalf("MkdirAll = %v, %v; want tightened", tightened, err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %04o, want 0700", fi.Mode().Perm())
	}
	p := filepath.Join(dir, "secret")
	if err := Write(p, []byte("s")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %04o, want 0600", fi.Mode().Perm())
	}
}
