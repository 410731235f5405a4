package sqlite

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vendsync/vendsync/migrations"
)

// TestSetWriterSync_OnlyTheWriter: NORMAL on the writer leaves the
// checkpointer syncing with FULL (it fsyncs the WAL before copying it into
// the database in either mode), and Durable syncs only while the writer is
// NORMAL.
func TestSetWriterSync_OnlyTheWriter(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), migrations.Edge, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetWriterSync(ctx, SyncNormal); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want int
		get  func() (int, error)
	}{
		{"writer", 1, func() (int, error) { var m int; return m, db.W.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&m) }},
		{"checkpointer", 2, func() (int, error) { var m int; return m, db.ckpt.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&m) }},
	} {
		got, err := c.get()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Fatalf("%s synchronous = %d, want %d", c.name, got, c.want)
		}
	}
	if !db.normal.Load() {
		t.Fatal("Durable would not sync after SetWriterSync(NORMAL)")
	}
	if err := db.SetWriterSync(ctx, SyncFull); err != nil {
		t.Fatal(err)
	}
	if db.normal.Load() {
		t.Fatal("Durable would sync after SetWriterSync(FULL)")
	}
}

// TestSyncWAL_ReopensAReplacedWAL: SyncWAL keeps a descriptor of the WAL
// and opens the file again when the path names another file (an fsync
// through the old one would flush a file SQLite no longer writes).
func TestSyncWAL_ReopensAReplacedWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(ctx, path, migrations.Edge, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetWriterSync(ctx, SyncNormal); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Durable(); err != nil {
		t.Fatal(err)
	}
	first := db.wal
	if first == nil {
		t.Fatal("no WAL descriptor after SyncWAL")
	}
	// Put a copy (another inode) where the WAL was.
	wal := path + "-wal"
	if err := os.Rename(wal, wal+".old"); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(wal + ".old")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(wal, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	if err := db.SyncWAL(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	held, err := db.wal.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, held) {
		t.Fatal("SyncWAL still holds the replaced WAL")
	}
	// No WAL at all: nothing to sync.
	if err := os.Remove(wal); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncWAL(); err != nil {
		t.Fatalf("SyncWAL without a WAL file: %v", err)
	}
}
