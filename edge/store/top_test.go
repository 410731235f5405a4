package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestTopProducts_SameAsSumsPerSpan holds TopProducts (one statement over
// every covering span, names joined) to the sums of the spans read one by
// one and each product's name looked up after: random product buckets of
// every window over four months, some products without a name, random
// hour-aligned ranges, both rankings, several limits.
func TestTopProducts_SameAsSumsPerSpan(t *testing.T) {
	ctx := context.Background()
	s, err := Init(ctx, t.TempDir(), SiteInit{ID: "test-site", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(7, 11))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 4, 0)
	tx, err := s.DB.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for p := range 8 {
		if p%4 == 3 {
			continue // sold, but never named
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO products (product_id, name, created_at, updated_at) VALUES (?, ?, 0, 0)`,
			fmt.Sprintf("P%d", p), fmt.Sprintf("Product %d", p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []struct {
		win bucket.Window
		n   int
	}{{bucket.Hour, 1500}, {bucket.Day, 300}, {bucket.Week, 40}, {bucket.Month, 12}} {
		for range w.n {
			at := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
			q := 1 + rng.IntN(5)
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO sales_agg (dim, win, bucket, key, tx_count, quantity, revenue_cents) VALUES ('product', ?, ?, ?, ?, ?, ?)`,
				string(w.win), bucket.Start(w.win, at).Unix(), fmt.Sprintf("P%d", rng.IntN(8)), 1+rng.IntN(3), q, q*(50+rng.IntN(300))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	hours := int(end.Sub(start) / time.Hour)
	nonEmpty := 0
	for i := range 120 {
		a := rng.IntN(hours)
		b := a + rng.IntN(hours-a+1)
		from, to := start.Add(time.Duration(a)*time.Hour), start.Add(time.Duration(b)*time.Hour)
		n, byQty := []int{1, 3, 10}[i%3], i%2 == 0
		got, err := s.TopProducts(ctx, n, from, to, byQty)
		if err != nil {
			t.Fatal(err)
		}
		want := topPerSpan(t, s, n, from, to, byQty)
		if !slices.Equal(got, want) {
			t.Fatalf("%v – %v, n %d, by quantity %v:\n got %v\nwant %v", from, to, n, byQty, got, want)
		}
		if len(want) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 60 {
		t.Fatalf("only %d ranges had sales: the data tests too little", nonEmpty)
	}
}

// topPerSpan is TopProducts as it was: a query per span, a name per
// product.
func topPerSpan(t *testing.T, s *Store, n int, from, to time.Time, byQuantity bool) []ProductTotal {
	ctx := context.Background()
	sums := map[string]*ProductTotal{}
	for _, sp := range bucket.Cover(from, to) {
		rows, err := s.DB.R.QueryContext(ctx, `SELECT key, SUM(tx_count), SUM(quantity), SUM(revenue_cents) FROM sales_agg
			WHERE dim = 'product' AND win = ? AND bucket >= ? AND bucket < ? GROUP BY key`, string(sp.Window), sp.From, sp.To)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var tx, q, rev int64
			if err := rows.Scan(&k, &tx, &q, &rev); err != nil {
				t.Fatal(err)
			}
			p := sums[k]
			if p == nil {
				p = &ProductTotal{ProductID: k}
				sums[k] = p
			}
			p.Transactions += tx
			p.Quantity += q
			p.Revenue += wire.Money(rev)
		}
		rows.Close()
	}
	out := make([]ProductTotal, 0, len(sums))
	for _, p := range sums {
		out = append(out, *p)
	}
	rankProducts(out, byQuantity)
	if len(out) > n {
		out = out[:n]
	}
	for i := range out {
		_ = s.DB.R.QueryRowContext(ctx, `SELECT name FROM products WHERE product_id = ?`, out[i].ProductID).Scan(&out[i].Name)
	}
	return out
}
