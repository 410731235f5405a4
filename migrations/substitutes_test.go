package migrations_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// Edge migration 0016 rebuilds orders (a new status and column) and
// reservations around it: every order and reservation is kept, the new
// status is allowed, and a reservation still needs its order.
func TestEdge0016_OrdersRebuiltWithSubstitutionOffered(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "site.db")
	db, err := sqlite.Open(ctx, path, upTo(t, migrations.Edge, 15), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO orders (order_id, machine_id, customer, code, status, reason, lines, placed_at, expires_at, received_at, updated_at, picked_up_by)
			VALUES ('o1', 'M1', 'c1', 'CODE1', 'ACCEPTED', 'auto', '[{"productId":"P1","quantity":2,"amountCents":500}]', 1, 2, 3, 4, NULL),
			       ('o2', 'M1', 'c2', 'CODE2', 'PICKED_UP', 'picked up', '[]', 5, 6, 7, 8, 'machine:M1')`,
		`INSERT INTO reservations (order_id, machine_id, product_id, quantity) VALUES ('o1', 'M1', 'P1', 2)`,
	} {
		if _, err := db.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.W.ExecContext(ctx, `UPDATE orders SET status = 'SUBSTITUTION_OFFERED' WHERE order_id = 'o1'`); err == nil {
		t.Fatal("before 0016 SUBSTITUTION_OFFERED was accepted; the test proves nothing")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlite.Open(ctx, path, migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var status, by, sub string
	var updated int64
	if err := db.R.QueryRowContext(ctx, `SELECT status, COALESCE(picked_up_by, ''), updated_at, substitution FROM orders WHERE order_id = 'o2'`).Scan(&status, &by, &updated, &sub); err != nil {
		t.Fatal(err)
	}
	if status != "PICKED_UP" || by != "machine:M1" || updated != 8 || sub != "" {
		t.Fatalf("o2 after 0016: %s %s %d %q", status, by, updated, sub)
	}
	var q int64
	if err := db.R.QueryRowContext(ctx, `SELECT quantity FROM reservations WHERE order_id = 'o1' AND product_id = 'P1'`).Scan(&q); err != nil || q != 2 {
		t.Fatalf("o1's reservation after 0016: %d %v", q, err)
	}
	if _, err := db.W.ExecContext(ctx, `UPDATE orders SET status = 'SUBSTITUTION_OFFERED', substitution = '{}' WHERE order_id = 'o1'`); err != nil {
		t.Fatalf("SUBSTITUTION_OFFERED after 0016: %v", err)
	}
	if _, err := db.W.ExecContext(ctx, `UPDATE orders SET status = 'LOST' WHERE order_id = 'o1'`); err == nil {
		t.Fatal("an unknown status was accepted after 0016")
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO reservations (order_id, machine_id, product_id, quantity) VALUES ('nope', 'M1', 'P1', 1)`); err == nil {
		t.Fatal("a reservation without its order was accepted after 0016")
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO product_substitutes (product_id, position, substitute_id, updated_at, updated_by) VALUES ('P1', 0, 'P1', 1, 'x')`); err == nil {
		t.Fatal("a product substituting itself was accepted")
	}
}
