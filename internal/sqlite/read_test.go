package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Query keeps one statement per query text on each read connection,
// answers past maxReads texts without keeping them, keeps no statement
// that failed to prepare, and closes them all with the database.
func TestQuery_KeepsOneStatementPerText(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "q.db"), pairSchema, Options{Readers: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := db.W.Exec(`INSERT INTO a (v) VALUES (?)`, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	var conns []*rawConn // every connection seen idle
	kept := func() int { // the most statements a connection keeps
		db.raw.mu.Lock()
		defer db.raw.mu.Unlock()
		most := 0
		for _, c := range db.raw.idle {
			if !slices.Contains(conns, c) {
				conns = append(conns, c)
			}
		}
		for _, c := range conns {
			most = max(most, len(c.stmts))
		}
		return most
	}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				var n int
				if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM a WHERE CAST(v AS INTEGER) < ?`, i).Scan(&n); err != nil {
					errc <- err
					return
				}
				if n != i {
					errc <- fmt.Errorf("%d rows below %d", n, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if got := kept(); got != 1 {
		t.Fatalf("%d statements kept for one query text on a connection, want 1", got)
	}
	if _, err := db.Query(ctx, `SELEKT 1`); err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("a malformed query: %v, want its syntax error", err)
	}
	if got := kept(); got != 1 {
		t.Fatalf("%d statements kept after a malformed query, want 1", got)
	}
	for i := range maxReads + 20 {
		rows, err := db.Query(ctx, fmt.Sprintf(`SELECT v FROM a WHERE v = ? AND %d = %d`, i, i), "7")
		if err != nil {
			t.Fatal(err)
		}
		var vs []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		rows.Close()
		if len(vs) != 1 || vs[0] != "7" {
			t.Fatalf("query %d answered %v, want [7]", i, vs)
		}
	}
	if got := kept(); got != maxReads {
		t.Fatalf("%d statements kept on a connection, want the bound %d", got, maxReads)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := kept(); got != 0 {
		t.Fatalf("%d statements left after Close", got)
	}
}
