package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Under a steady stream of commits, with readers reading all the while, the
// checkpointer has the writer start the WAL again from its beginning, over
// and over, instead of letting it grow; every committed row is read back
// and the file is sound, also after a reopen. (Before, a PASSIVE
// checkpoint once a second on another connection never caught up with the
// writer, and the WAL grew without end: this test then timed out waiting
// for the WAL to start again.)
func TestCheckpoint_WALStartsAgainUnderSteadyWrites(t *testing.T) {
	if !walReady {
		t.Fatalf("the WAL VFS is not registered: %v", walErr)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	db, err := Open(ctx, path, blobSchema, Options{restart: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var stop atomic.Bool
	var rows atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(1)
	go func() { // the writer: 8 rows of 3,000 bytes a commit, back to back
		defer wg.Done()
		body := make([]byte, 3000)
		for !stop.Load() {
			tx, err := db.W.Begin()
			if err != nil {
				errc <- err
				return
			}
			for range 8 {
				if _, err := tx.Exec(`INSERT INTO blobs (tag, body) VALUES ('w', ?)`, body); err != nil {
					tx.Rollback()
					errc <- err
					return
				}
			}
			if err := tx.Commit(); err != nil {
				errc <- err
				return
			}
			rows.Add(8)
		}
	}()
	for range 2 {
		wg.Add(1)
		go func() { // readers, each read a short transaction
			defer wg.Done()
			for !stop.Load() {
				var n int
				if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM blobs WHERE tag = 'none'`).Scan(&n); err != nil {
					errc <- err
					return
				}
			}
		}()
	}

	// Poll the WAL's length: it only grows, except when the writer starts
	// the WAL again.
	restarts, prev, most := 0, int64(0), int64(0)
	deadline := time.Now().Add(30 * time.Second)
	for restarts < 5 && time.Now().Before(deadline) && len(errc) == 0 {
		n := db.WALBytes()
		if n < prev {
			restarts++
		}
		prev, most = n, max(most, n)
		time.Sleep(2 * time.Millisecond) // the polling interval, not a wait for an outcome
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if restarts < 5 {
		t.Fatalf("the WAL started again %d times in 30 s of steady commits (%d rows, WAL up to %d bytes), want 5", restarts, rows.Load(), most)
	}
	t.Logf("%d rows committed; the WAL started again %d times, at most %d bytes long", rows.Load(), restarts, most)

	check := func(db *DB) {
		t.Helper()
		var n int
		if err := db.R.QueryRow(`SELECT COUNT(*) FROM blobs WHERE tag = 'w'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if int64(n) != rows.Load() {
			t.Fatalf("%d rows read back, %d committed", n, rows.Load())
		}
		var ok string
		if err := db.R.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Fatalf("integrity_check = %q, %v", ok, err)
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(ctx, path, blobSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	check(db2)
}
