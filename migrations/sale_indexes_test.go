package migrations_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// Edge migration 0021 replaces the sales' slot × time and machine × method
// × time indexes by one machine × time index that holds every sale stored
// before it, and drops two indexes nothing reads: the sums the readers take
// through the new index equal the sums over the sales themselves.
func TestEdge0021_SalesByMachineAndTime(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "site.db")
	db, err := sqlite.Open(ctx, path, upTo(t, migrations.Edge, 19), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type sale struct {
		machine, product, method string
		at, qty, amount          int64
	}
	rng := rand.New(rand.NewPCG(21, 1))
	var sales []sale
	for i := range 600 {
		s := sale{machine: fmt.Sprintf("M%d", rng.IntN(5)), product: fmt.Sprintf("P%d", rng.IntN(8)),
			method: []string{"CASH", "CARD", "UPI"}[rng.IntN(3)], at: rng.Int64N(10_000), qty: 1 + rng.Int64N(3), amount: rng.Int64N(900)}
		sales = append(sales, s)
		if _, err := db.W.ExecContext(ctx, `INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents,
			payment_method, event_time, received_at, body_hash, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 0, x'01', ?)`,
			fmt.Sprintf("T%d", i), s.machine, s.product, s.qty, s.amount, s.method, s.at, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlite.Open(ctx, path, upTo(t, migrations.Edge, 21), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var indexes []string
	rows, err := db.R.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL
		AND tbl_name IN ('sales_events', 'payments', 'lot_movements') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"payments_gateway", "payments_machine_sold", "payments_sold", "payments_status_sold",
		"sales_events_machine_time", "sales_events_time"}; !slices.Equal(indexes, want) {
		t.Fatalf("indexes after 0021 = %v, want %v", indexes, want)
	}
	var check string
	if err := db.R.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q, %v", check, err)
	}

	for i := range 50 {
		m, p := fmt.Sprintf("M%d", rng.IntN(5)), fmt.Sprintf("P%d", rng.IntN(8))
		from := rng.Int64N(10_000)
		to := from + rng.Int64N(10_000-from+1)
		var wantQty, wantCash, wantSlot int64
		for _, s := range sales {
			if s.machine != m || s.at <= from {
				continue
			}
			if s.product == p {
				wantSlot += s.qty
			}
			if s.at > to {
				continue
			}
			wantQty += s.qty
			if s.method == "CASH" {
				wantCash += s.amount
			}
		}
		var slot, qty, cash int64
		if err := db.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(quantity), 0) FROM sales_events INDEXED BY sales_events_machine_time
			WHERE machine_id = ? AND product_id = ? AND event_time > ?`, m, p, from).Scan(&slot); err != nil {
			t.Fatal(err)
		}
		if err := db.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(quantity), 0), COALESCE(SUM(CASE payment_method WHEN 'CASH' THEN amount_cents END), 0)
			FROM sales_events INDEXED BY sales_events_machine_time WHERE machine_id = ? AND event_time > ? AND event_time <= ?`, m, from, to).Scan(&qty, &cash); err != nil {
			t.Fatal(err)
		}
		if slot != wantSlot || qty != wantQty || cash != wantCash {
			t.Fatalf("case %d (%s %s after %d, to %d): sold since %d, in period %d, cash %d; want %d, %d, %d",
				i, m, p, from, to, slot, qty, cash, wantSlot, wantQty, wantCash)
		}
	}
}
