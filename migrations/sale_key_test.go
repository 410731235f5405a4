package migrations_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// upTo is fsys with only the migrations numbered up to n.
func upTo(t *testing.T, fsys fs.FS, n int) fs.FS {
	t.Helper()
	ms, err := migrations.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, m := range ms {
		if m.Version <= n {
			out[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	return out
}

// Edge migration 0005 keeps every sale and keys sales_events by (machine,
// transaction): the same id at two machines is two sales, at one machine a
// conflict.
func TestEdge0005_SaleKeyPerMachine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "site.db")
	db, err := sqlite.Open(ctx, path, upTo(t, migrations.Edge, 4), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents, payment_method,
		event_time, received_at, body_hash, seq) VALUES (?, ?, 'P1', 2, 500, 'CARD', 1000, 2000, x'01', ?)`
	if _, err := db.W.ExecContext(ctx, insert, "TXN-1", "M1", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(ctx, insert, "TXN-1", "M2", 8); err == nil {
		t.Fatal("before 0005 the same id at another machine was accepted; the test proves nothing")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlite.Open(ctx, path, migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var m, p, pay string
	var qty, amt, at, recv, seq int64
	if err := db.R.QueryRowContext(ctx, `SELECT machine_id, product_id, quantity, amount_cents, payment_method, event_time, received_at, seq
		FROM sales_events WHERE transaction_id = 'TXN-1'`).Scan(&m, &p, &qty, &amt, &pay, &at, &recv, &seq); err != nil {
		t.Fatal(err)
	}
	if m != "M1" || p != "P1" || qty != 2 || amt != 500 || pay != "CARD" || at != 1000 || recv != 2000 || seq != 7 {
		t.Fatalf("sale after 0005 = %s %s %d %d %s %d %d %d", m, p, qty, amt, pay, at, recv, seq)
	}
	if _, err := db.W.ExecContext(ctx, insert, "TXN-1", "M2", 8); err != nil {
		t.Fatalf("same id at another machine: %v", err)
	}
	if _, err := db.W.ExecContext(ctx, insert, "TXN-1", "M1", 9); err == nil {
		t.Fatal("same id at the same machine was accepted twice")
	}
}
