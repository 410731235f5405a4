package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// readBenchSchema is a table shaped like the edge's long lists: ids, texts,
// amounts and times, and an index in time order.
var readBenchSchema = fstest.MapFS{"0001_init.sql": {Data: []byte(`
CREATE TABLE events (
    id INTEGER PRIMARY KEY, machine TEXT NOT NULL, tx TEXT NOT NULL, product TEXT NOT NULL,
    qty INTEGER NOT NULL, method TEXT NOT NULL, name TEXT NOT NULL, amount INTEGER NOT NULL,
    refunded INTEGER NOT NULL, status TEXT NOT NULL, card TEXT, last4 TEXT, gateway TEXT,
    failure TEXT, day TEXT NOT NULL, at INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE INDEX events_at ON events (at);
`)}}

const readBenchQuery = `SELECT id, machine, tx, product, qty, method, name, amount, refunded, status,
	COALESCE(card, ''), COALESCE(last4, ''), COALESCE(gateway, ''), COALESCE(failure, ''), day, at, created, updated, 0
	FROM events ORDER BY at DESC LIMIT ?`

// scanRows is what *sql.Rows and *Rows have in common.
type scanRows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

// BenchmarkRead500 reads 500 rows of 19 columns in time order (an index
// walk and a row seek each, as the edge's payment and movement lists do)
// and scans every column: through database/sql on the R pool, and through
// Query's own connections. A request context (one with a Done channel) is
// used, as the API's handlers have.
func BenchmarkRead500(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "r.db"), readBenchSchema, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.W.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20000 {
		var card any
		if i%3 == 0 {
			card = fmt.Sprintf("ch_%020d", i)
		}
		if _, err := tx.Exec(`INSERT INTO events VALUES (NULL, ?, ?, ?, 1, 'card', 'Card', ?, 0, 'CAPTURED', ?, ?, NULL, NULL, '2026-12-02', ?, ?, ?)`,
			fmt.Sprintf("VM_%04d", i%10), fmt.Sprintf("tx-%08d", i), fmt.Sprintf("P_%03d", i%20), 150+i%50, card, card, int64(i)*1000, int64(i)*1000, int64(i)*1000); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// Into the database file, where a site's older rows are.
	if _, err := db.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	type row struct {
		id, qty, amount, refunded, at, created, updated, zero            int64
		machine, tx, product, method, name, status, card, l4, gw, f, day string
	}
	scan := func(s interface{ Scan(...any) error }, r *row) error {
		return s.Scan(&r.id, &r.machine, &r.tx, &r.product, &r.qty, &r.method, &r.name, &r.amount, &r.refunded, &r.status,
			&r.card, &r.l4, &r.gw, &r.f, &r.day, &r.at, &r.created, &r.updated, &r.zero)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// read runs the query by query and scans every row.
	read := func(b *testing.B, query func() (scanRows, error)) {
		b.ReportAllocs()
		for b.Loop() {
			rows, err := query()
			if err != nil {
				b.Fatal(err)
			}
			out := make([]row, 0, 500)
			for rows.Next() {
				var r row
				if err := scan(rows, &r); err != nil {
					b.Fatal(err)
				}
				out = append(out, r)
			}
			if err := rows.Err(); err != nil || len(out) != 500 {
				b.Fatal(len(out), err)
			}
			rows.Close()
		}
	}
	b.Run("database-sql", func(b *testing.B) {
		st, err := db.R.PrepareContext(ctx, readBenchQuery)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		read(b, func() (scanRows, error) { return st.QueryContext(rctx, 500) })
	})
	b.Run("query", func(b *testing.B) {
		read(b, func() (scanRows, error) { return db.Query(rctx, readBenchQuery, 500) })
	})
}

// BenchmarkReadRow reads one row by its key, the other common read, the
// same two ways as BenchmarkRead500.
func BenchmarkReadRow(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "r.db"), readBenchSchema, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for i := range 100 {
		if _, err := db.W.Exec(`INSERT INTO events VALUES (NULL, 'VM_0001', ?, 'P_001', 1, 'card', 'Card', 150, 0, 'CAPTURED', NULL, NULL, NULL, NULL, '2026-12-02', ?, ?, ?)`,
			fmt.Sprintf("tx-%08d", i), i, i, i); err != nil {
			b.Fatal(err)
		}
	}
	const q = `SELECT machine, tx, amount, at FROM events WHERE id = ?`
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var machine, tx string
	var amount, at int64
	b.Run("database-sql", func(b *testing.B) {
		st, err := db.R.PrepareContext(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := st.QueryRowContext(rctx, 1+i%100).Scan(&machine, &tx, &amount, &at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("query", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := db.QueryRow(rctx, q, 1+i%100).Scan(&machine, &tx, &amount, &at); err != nil {
				b.Fatal(err)
			}
		}
	})
}
