package backup

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTo_FlushesTheLiveWALBeforeTheCopyIsComplete: the copy is finished
// only after the live database's WAL is flushed, and a WAL that cannot be
// flushed fails the backup (here a WAL path that is a symlink loop) and
// leaves no copy behind.
func TestTo_FlushesTheLiveWALBeforeTheCopyIsComplete(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, DBFile)
	db, err := sql.Open("sqlite", dsn(live, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "copy.db")
	if err := to(context.Background(), db, out, live); err != nil {
		t.Fatalf("backup with a flushable WAL: %v", err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("no copy written: %v", err)
	}

	other := filepath.Join(t.TempDir(), "elsewhere.db")
	if err := os.Symlink(other+"-wal", other+"-wal"); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "copy2.db")
	err = to(context.Background(), db, out2, other)
	if err == nil || !strings.Contains(err.Error(), "flush the site's WAL") {
		t.Fatalf("backup with an unflushable WAL = %v, want an error naming the WAL flush", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Fatalf("a copy was left behind after the failed flush: %v", err)
	}
}
