package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

func TestConnMutexes_Removed(t *testing.T) {
	removed, err := ConnMutexes()
	if !removed || err != nil {
		t.Fatalf("ConnMutexes() = %v, %v: SQLite still takes a mutex per call on every connection", removed, err)
	}
}

var pairSchema = fstest.MapFS{
	"0001_pairs.sql": {Data: []byte(`CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
CREATE INDEX a_v ON a (v);`)},
}

// Connections without their own mutex still share SQLite's process-wide
// state (the page cache, the list of open files and their locks), which
// the static and fast mutexes guard: two databases, each written by its
// writer while eight readers check that every snapshot holds as many rows
// in a as in b, and a reader interrupted from another goroutine by its
// context stays usable.
func TestConnMutexes_ConnectionsOnManyGoroutinesStayConsistent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var dbs []*DB
	for i := range 2 {
		db, err := Open(ctx, filepath.Join(dir, fmt.Sprintf("p%d.db", i)), pairSchema, Options{Readers: 4, CheckpointEvery: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	const commits = 300
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	done := make(chan struct{})
	var writers sync.WaitGroup
	// loop runs fn on a goroutine of its own until the writers are done
	// or fn fails.
	loop := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := fn(); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for _, db := range dbs {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range commits {
				tx, err := db.W.BeginTx(ctx, nil)
				if err != nil {
					errc <- err
					return
				}
				for k := range 5 {
					v := fmt.Sprintf("%04d-%d-%0200d", i, k, i)
					if _, err := tx.Exec(`INSERT INTO a (v) VALUES (?)`, v); err != nil {
						errc <- err
						return
					}
					if _, err := tx.Exec(`INSERT INTO b (v) VALUES (?)`, v); err != nil {
						errc <- err
						return
					}
				}
				if err := tx.Commit(); err != nil {
					errc <- err
					return
				}
			}
		}()
		for range 4 {
			loop(func() error {
				tx, err := db.R.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				var na, nb int
				var la, lb string
				if err := tx.QueryRow(`SELECT (SELECT COUNT(*) FROM a), (SELECT COUNT(*) FROM b), COALESCE((SELECT MAX(v) FROM a), ''), COALESCE((SELECT MAX(v) FROM b), '')`).Scan(&na, &nb, &la, &lb); err != nil {
					return err
				}
				if na != nb || la != lb {
					return fmt.Errorf("a snapshot with %d rows in a (last %.8s) and %d in b (last %.8s)", na, la, nb, lb)
				}
				return nil
			})
		}
	}
	// A query cancelled from another goroutine while it runs.
	loop(func() error {
		qctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		var n int
		err := dbs[0].R.QueryRowContext(qctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c`).Scan(&n)
		if err == nil {
			return errors.New("an endless query returned")
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && err.Error() != "interrupted (9)" {
			return fmt.Errorf("cancelled query: %w", err)
		}
		return nil
	})
	writers.Wait()
	close(done)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for i, db := range dbs {
		var na, nb int
		if err := db.R.QueryRow(`SELECT (SELECT COUNT(*) FROM a), (SELECT COUNT(*) FROM b)`).Scan(&na, &nb); err != nil {
			t.Fatal(err)
		}
		if na != commits*5 || nb != commits*5 {
			t.Errorf("database %d holds %d and %d rows, want %d each", i, na, nb, commits*5)
		}
		var check string
		if err := db.R.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Errorf("database %d: integrity_check = %q, %v", i, check, err)
		}
	}
}
