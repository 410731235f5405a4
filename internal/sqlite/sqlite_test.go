package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vendsync/vendsync/migrations"
)

func TestOpen_AppliesMigrationsAndPragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), migrations.Edge, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.W.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if got, want := mode, "wal"; got != want {
		t.Fatalf("journal_mode = %q, want %q", got, want)
	}
	var sync int
	if err := db.W.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if got, want := sync, 2; got != want { // 2 = FULL
		t.Fatalf("synchronous = %d, want %d", got, want)
	}
	var n int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM sync_state`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("sync_state rows = %d, want 1", n)
	}
	if _, err := db.R.Exec(`DELETE FROM sync_state`); err == nil {
		t.Fatal("reader pool accepted a write")
	}
}

func TestOpen_RefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	newer := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER);")},
	}
	db, err := Open(ctx, path, newer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	older := fstest.MapFS{"0001_a.sql": newer["0001_a.sql"]}
	_, err = Open(ctx, path, older, Options{})
	if !errors.Is(err, migrations.ErrTooNew) {
		t.Fatalf("Open with older schema: err = %v, want ErrTooNew", err)
	}
}

func TestOpen_ReopenIsNoop(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	for i := 0; i < 2; i++ {
		db, err := Open(ctx, path, migrations.Edge, Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		db.Close()
	}
}

// Options.CacheKiB sets every connection's page cache (default 32,000 KiB).
func TestOpen_CacheSize(t *testing.T) {
	tests := []struct {
		name string
		kib  int
		want int
	}{
		{"default", 0, -32000},
		{"set", 8000, -8000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), migrations.Edge, Options{CacheKiB: tc.kib})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for name, conn := range map[string]*sql.DB{"writer": db.W, "reader": db.R} {
				var got int
				if err := conn.QueryRow(`PRAGMA cache_size`).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Fatalf("%s cache_size = %d, want %d", name, got, tc.want)
				}
			}
		})
	}
}

func TestOpen_FilesArePrivate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(ctx, path, migrations.Edge, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`UPDATE sync_state SET last_seq = last_seq`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("%s: mode %04o, want %04o", filepath.Base(p), got, want)
		}
	}
	db.Close()
}

func TestOpen_RefusesAFileOthersCanRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(ctx, path, migrations.Edge, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path, migrations.Edge, Options{})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open on a 0644 file: err = %v, want a refusal naming chmod 600", err)
	}
}
