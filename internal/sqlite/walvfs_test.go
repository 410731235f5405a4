package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

var blobSchema = fstest.MapFS{
	"0001_blobs.sql": {Data: []byte(`CREATE TABLE blobs (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX blobs_tag ON blobs (tag);`)},
}

func openBlobs(t *testing.T) *DB {
	t.Helper()
	if !walReady {
		t.Fatalf("the WAL VFS is not registered: %v", walErr)
	}
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), blobSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// insertBlobs commits rows of size bytes each under tag in one
// transaction and returns how many writes SQLite made to the WAL and how
// many the WAL file was given.
func insertBlobs(t *testing.T, db *DB, tag string, rows, size int) (in, out int64) {
	t.Helper()
	in0, out0 := walWritesIn.Load(), walWritesOut.Load()
	tx, err := db.W.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if _, err := tx.Exec(`INSERT INTO blobs (tag, body) VALUES (?, ?)`, tag, []byte(strings.Repeat(string(rune('a'+i%26)), size))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return walWritesIn.Load() - in0, walWritesOut.Load() - out0
}

func countTag(t *testing.T, db *DB, tag string) (n, bytes int) {
	t.Helper()
	if err := db.R.QueryRow(`SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM blobs WHERE tag = ?`, tag).Scan(&n, &bytes); err != nil {
		t.Fatal(err)
	}
	return n, bytes
}

// A commit of many pages reaches the WAL file in one write, and readers on
// other connections see it as soon as the commit returns.
func TestWALVFS_ACommitIsOneWrite(t *testing.T) {
	db := openBlobs(t)
	insertBlobs(t, db, "first", 1, 10) // the WAL's header
	for i, tag := range []string{"a", "b", "c"} {
		in, out := insertBlobs(t, db, tag, 20, 1500)
		if in < 20 {
			t.Fatalf("commit %d: SQLite made %d writes to the WAL, want at least 20 (two per frame)", i, in)
		}
		if out != 1 {
			t.Fatalf("commit %d: %d writes of SQLite reached the WAL file in %d writes, want 1", i, in, out)
		}
		if n, b := countTag(t, db, tag); n != 20 || b != 20*1500 {
			t.Fatalf("a reader sees %d rows (%d bytes) of commit %d, want 20 (30000)", n, b, i)
		}
	}
}

// Commits larger than the buffer, transactions that spill pages into the
// WAL and read them back before they commit, a rollback, and the pipelined
// writer's synchronous=NORMAL: every committed row is read back, nothing
// rolled back is, and the file is sound.
func TestWALVFS_LargeSpilledAndRolledBackTransactions(t *testing.T) {
	db := openBlobs(t)
	ctx := context.Background()
	// A tiny page cache makes a large transaction spill dirty pages into
	// the WAL and read them back (the index is updated in random order).
	if _, err := db.W.Exec(`PRAGMA cache_size = 20`); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Sync{SyncFull, SyncNormal} {
		if err := db.SetWriterSync(ctx, mode); err != nil {
			t.Fatal(err)
		}
		tag := "big-" + string(mode)
		in, out := insertBlobs(t, db, tag, 600, 4000) // ~2.4 MB, ~600 frames
		if out < 2 || out >= in {
			t.Fatalf("%s: %d writes reached the file for %d of SQLite's: a commit over %d bytes is written in parts", mode, out, in, walBufSize)
		}
		if err := db.Durable(); err != nil {
			t.Fatal(err)
		}
		if n, b := countTag(t, db, tag); n != 600 || b != 600*4000 {
			t.Fatalf("%s: a reader sees %d rows (%d bytes), want 600 (2400000)", mode, n, b)
		}
		tx, err := db.W.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			if _, err := tx.Exec(`INSERT INTO blobs (tag, body) VALUES ('gone', zeroblob(3000))`); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.Exec(`UPDATE blobs SET tag = 'gone' WHERE tag = ?`, tag); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if n, _ := countTag(t, db, "gone"); n != 0 {
			t.Fatalf("%s: %d rows of a rolled-back transaction are read", mode, n)
		}
		if n, _ := countTag(t, db, tag); n != 600 {
			t.Fatalf("%s: %d rows after the rollback, want 600", mode, n)
		}
	}
	if _, err := db.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.W.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	db.Close()
	// Reopened from the files alone.
	db2, err := Open(ctx, db.Path(), blobSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var n, b int
	if err := db2.R.QueryRow(`SELECT COUNT(*), SUM(LENGTH(body)) FROM blobs WHERE tag LIKE 'big-%'`).Scan(&n, &b); err != nil {
		t.Fatal(err)
	}
	if n != 1200 || b != 1200*4000 {
		t.Fatalf("reopened: %d rows (%d bytes), want 1200 (4800000)", n, b)
	}
}

// Commits of every size from one frame to past the buffer: each is read
// by another connection as soon as it returns, whichever frame of it
// fills the buffer (a commit frame's page that no longer fits once its
// header was gathered must still be written with the commit).
func TestWALVFS_EveryCommitSizeIsReadAtOnce(t *testing.T) {
	for _, mode := range []Sync{SyncNormal, SyncFull} {
		t.Run(string(mode), func(t *testing.T) { everyCommitSize(t, mode) })
	}
}

func everyCommitSize(t *testing.T, mode Sync) {
	db := openBlobs(t)
	if err := db.SetWriterSync(context.Background(), mode); err != nil {
		t.Fatal(err)
	}
	insertBlobs(t, db, "first", 1, 10)
	total := 1
	for k := 1; k <= 80; k++ {
		tag := fmt.Sprintf("k%d", k)
		insertBlobs(t, db, tag, k, 3900)
		total += k
		if n, b := countTag(t, db, tag); n != k || b != k*3900 {
			t.Fatalf("commit of %d rows: a reader sees %d rows (%d bytes)", k, n, b)
		}
		// Every page of every row, and a checkpoint on another
		// connection, which copies every committed frame from the file.
		var all, bytes int
		if err := db.R.QueryRow(`SELECT COUNT(*), SUM(LENGTH(body)) FROM blobs NOT INDEXED`).Scan(&all, &bytes); err != nil {
			t.Fatalf("after the commit of %d rows: %v", k, err)
		}
		if all != total || bytes != 10+(total-1)*3900 {
			t.Fatalf("after the commit of %d rows: %d rows (%d bytes), want %d (%d)", k, all, bytes, total, 10+(total-1)*3900)
		}
		if _, err := db.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			t.Fatalf("checkpoint after the commit of %d rows: %v", k, err)
		}
	}
}

// A WAL's first sync is the unix VFS's (it also syncs the directory of
// the new file); every commit after it is flushed with fdatasync, and the
// rows are there after the database is opened again.
func TestWALVFS_CommitsSyncWithFdatasync(t *testing.T) {
	if !canDatasync {
		t.Skip("fdatasync is used on Linux only")
	}
	path := filepath.Join(t.TempDir(), "b.db")
	unix0 := walUnixSyncs.Load()
	db, err := Open(context.Background(), path, blobSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if walUnixSyncs.Load() == unix0 {
		t.Fatal("the new WAL was never synced by the unix VFS: its directory was not synced")
	}
	data0 := walDatasyncs.Load()
	for range 5 {
		insertBlobs(t, db, "synced", 1, 100)
	}
	if got := walDatasyncs.Load() - data0; got < 5 {
		t.Fatalf("%d of 5 commits flushed the WAL with fdatasync", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(context.Background(), path, blobSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, _ := countTag(t, db, "synced"); n != 5 {
		t.Fatalf("%d rows after reopening, want 5", n)
	}
}
