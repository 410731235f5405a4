package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// salesReads are reads of sales_events as the edge makes them (the sale
// movements by time and by machine, the DEX ledger, the payments kept on
// sales' rows, a sale's replay): each answers the same before and after
// edge migration 0023. Ties of (event_time, transaction_id) across machines
// are in the data, so the order the time index gives them is checked too.
var salesReads = []struct {
	name, query string
	args        []any
}{
	{"every row", `SELECT * FROM sales_events ORDER BY machine_id, transaction_id`, nil},
	{"sale movements", `SELECT 'sale:' || transaction_id, machine_id, product_id, -quantity, event_time, seq
		FROM sales_events WHERE event_time >= ? AND event_time < ? ORDER BY event_time, transaction_id LIMIT ?`, []any{10, 60, 500}},
	{"one product's sale movements", `SELECT 'sale:' || transaction_id, machine_id, product_id, -quantity, event_time, seq
		FROM sales_events WHERE event_time >= ? AND event_time < ? AND +product_id = ? ORDER BY event_time, transaction_id LIMIT ?`, []any{0, 80, "P1", 500}},
	{"one machine's sale movements", `SELECT 'sale:' || transaction_id, machine_id, product_id, -quantity, event_time, seq
		FROM sales_events WHERE event_time >= ? AND event_time < ? AND machine_id = ? ORDER BY event_time, transaction_id LIMIT ?`, []any{0, 80, "M2", 500}},
	{"DEX ledger", `SELECT product_id, SUM(quantity), SUM(amount_cents) FROM sales_events
		WHERE machine_id = ? AND event_time > ? AND event_time <= ? GROUP BY product_id`, []any{"M1", 5, 70}},
	{"cash ledger", `SELECT COALESCE(SUM(amount_cents), 0) FROM sales_events
		WHERE machine_id = ? AND payment_method = 'CASH' AND event_time > ? AND event_time <= ?`, []any{"M3", 0, 90}},
	{"payment ledger", `SELECT * FROM payment_ledger ORDER BY payment_id`, nil},
	{"last payment id", `SELECT COALESCE(MAX(payment_id), 0) FROM sales_events WHERE payment_id IS NOT NULL`, nil},
	{"one payment", `SELECT payment_id, machine_id, transaction_id, pay_method, pay_day FROM sales_events WHERE payment_id = ?`, []any{7}},
	{"one day's payments", `SELECT payment_id, machine_id, transaction_id FROM sales_events WHERE +payment_id IS NOT NULL
		AND event_time >= ? AND event_time < ? ORDER BY event_time DESC, payment_id DESC`, []any{20, 50}},
	{"find a sale", `SELECT body_hash, seq FROM sales_events WHERE machine_id = ? AND transaction_id = ?`, []any{"M4", "T17"}},
	{"a basket's lines", `SELECT COUNT(*), COALESCE(SUM(COALESCE(list_cents, amount_cents)), 0), COALESCE(SUM(discount_cents), 0),
		COALESCE(SUM(amount_cents), 0) FROM sales_events WHERE machine_id = ? AND basket_id = ?`, []any{"M0", "B3"}},
}

func answers(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, r := range salesReads {
		rows, err := db.Query(r.query, r.args...)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		cols, _ := rows.Columns()
		var b strings.Builder
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			fmt.Fprintf(&b, "%v\n", vals)
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("%s: no rows (the test data must give every read an answer)", r.name)
		}
		out = append(out, r.name+":\n"+b.String())
	}
	return out
}

// Edge migration 0023 makes sales_events a rowid table keyed by a unique
// index: every sale stored before it survives with every column, the key
// still refuses a second sale of a machine under the same transaction id
// (another machine's is another sale), every read answers the same, and a
// new sale's row goes after every old one.
func TestEdge0023_SalesAppended(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "site.db")
	db, err := sqlite.Open(ctx, path, upTo(t, migrations.Edge, 22), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(23, 1))
	seq, payID := 0, 0
	insert := func(m, tx, basket string, list any, disc int64, paid bool) {
		t.Helper()
		seq++
		var pid, method, day any
		if paid {
			payID++
			pid, method, day = payID, []string{"CASH", "CARD", "MOBILE"}[rng.IntN(3)], "2026-12-01"
		}
		at := rng.Int64N(100) // few distinct times: ties across machines
		if _, err := db.W.ExecContext(ctx, `INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents,
			payment_method, event_time, received_at, body_hash, seq, list_cents, discount_cents, basket_id,
			payment_id, pay_method, pay_day, card_reference, card_last4) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`,
			tx, m, fmt.Sprintf("P%d", rng.IntN(4)), 1+rng.Int64N(3), rng.Int64N(900), []string{"CASH", "CARD", "UPI"}[rng.IntN(3)],
			at, 1000+seq, []byte{byte(seq), byte(seq >> 8)}, seq, list, disc, basket, pid, method, day, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Machines record in an order other than their keys', under ids
	// every machine also uses.
	for i := range 400 {
		insert(fmt.Sprintf("M%d", rng.IntN(5)), fmt.Sprintf("T%d", rng.IntN(60)), "", nil, 0, rng.IntN(2) == 0)
		if i%40 == 0 {
			b := fmt.Sprintf("B%d", i/40)
			for l := 1; l <= 3; l++ {
				insert("M0", fmt.Sprintf("%s#%d", b, l), b, 500, 50, false)
			}
		}
	}
	// A one-product sale with promotions is recorded under its own id.
	insert("M0", "B3", "B3", 700, 70, false)
	for _, tx := range []string{"B3!", "B3$"} { // next to the basket's key range, not in it
		insert("M0", tx, "", nil, 0, false)
	}
	// Duplicate (machine, id) pairs drawn above were refused: count what is stored.
	var stored int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM sales_events`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	before := answers(t, db.R)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlite.Open(ctx, path, upTo(t, migrations.Edge, 23), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after := answers(t, db.R)
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("after 0023 %s\nwant %s", after[i], before[i])
		}
	}
	var check string
	if err := db.R.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q, %v", check, err)
	}
	if rows, err := db.R.Query(`PRAGMA foreign_key_check`); err != nil {
		t.Fatal(err)
	} else {
		if rows.Next() {
			t.Fatal("foreign key check reports a violation")
		}
		rows.Close()
	}
	var withoutRowid int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sales_events' AND sql LIKE '%WITHOUT ROWID%'`).Scan(&withoutRowid); err != nil || withoutRowid != 0 {
		t.Fatalf("sales_events is still WITHOUT ROWID (%d, %v)", withoutRowid, err)
	}
	var indexes []string
	rows, err := db.R.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sales_events' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, n)
	}
	rows.Close()
	if want := []string{"sales_events_key", "sales_events_machine_time", "sales_events_payment", "sales_events_time"}; !slices.Equal(indexes, want) {
		t.Fatalf("indexes = %v, want %v", indexes, want)
	}

	// The rows of the old sales are in sequence order, and a new sale's
	// row goes after them.
	var unordered int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM sales_events a JOIN sales_events b ON b.rowid = a.rowid + 1 WHERE b.seq < a.seq`).Scan(&unordered); err != nil || unordered != 0 {
		t.Fatalf("%d rows out of sequence order (%v)", unordered, err)
	}
	ins := `INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents, payment_method, event_time, received_at, body_hash, seq)
		VALUES (?, ?, 'P1', 1, 100, 'CASH', 5, 5, x'01', ?)`
	// The key: a machine's id again is refused (and skipped by the
	// writer's ON CONFLICT), another machine's is a new sale.
	var old string
	if err := db.R.QueryRow(`SELECT transaction_id FROM sales_events WHERE machine_id = 'M1' LIMIT 1`).Scan(&old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(ins, old, "M1", 9001); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("second sale M1/%s: %v, want a UNIQUE constraint error", old, err)
	}
	res, err := db.W.Exec(ins+` ON CONFLICT (machine_id, transaction_id) DO NOTHING`, old, "M1", 9001)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 0 {
		t.Fatalf("ON CONFLICT DO NOTHING inserted %d rows", n)
	}
	res, err = db.W.Exec(ins, old, "M9", 9002)
	if err != nil {
		t.Fatalf("M9/%s, another machine's id: %v", old, err)
	}
	id, _ := res.LastInsertId()
	var maxOld int64
	if err := db.R.QueryRow(`SELECT MAX(rowid) FROM sales_events WHERE seq < 9002`).Scan(&maxOld); err != nil {
		t.Fatal(err)
	}
	if id <= maxOld || int(id) != stored+1 {
		t.Fatalf("new sale's rowid %d, want after the %d stored (max %d)", id, stored, maxOld)
	}

	// The writer's lookups of a sale read the key index, not the table.
	for _, q := range []string{`SELECT body_hash, seq FROM sales_events WHERE machine_id = ? AND transaction_id = ?`,
		`SELECT COUNT(*) FROM sales_events WHERE machine_id = ?1 AND basket_id = ?2 AND transaction_id >= ?2 AND transaction_id < ?2 || '$'`} {
		var plan []string
		rows, err := db.R.Query(`EXPLAIN QUERY PLAN `+q, "M0", "B3")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, " | "); !strings.Contains(p, "INDEX sales_events_key (machine_id=? AND transaction_id") {
			t.Errorf("plan of %s = %s, want sales_events_key", q, p)
		}
	}
}
