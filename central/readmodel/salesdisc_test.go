package readmodel

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

// randomSaleBatches returns random batches of sales, about half of them
// discounted, of four sites in three timezones and three cities (one
// machine of s1 moves city), some repeating a transaction of an earlier
// batch.
func randomSaleBatches(t *testing.T, rng *rand.Rand, n int) []*envelope.Batch {
	t.Helper()
	d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	type site struct{ id, tz, city string }
	sites := []site{{"s1", "UTC", "Pune"}, {"s2", "Asia/Kolkata", "Pune"}, {"s3", "America/New_York", "Oslo"}, {"s4", "UTC", "Oslo"}}
	next := map[string]uint64{}
	var out []*envelope.Batch
	for range n {
		st := sites[rng.IntN(len(sites))]
		var evs []ev
		for range 1 + rng.IntN(12) {
			tx := fmt.Sprintf("%s-t%d", st.id, rng.IntN(300)) // repeats some transactions
			machine := fmt.Sprintf("M%d", rng.IntN(4))
			city := st.city
			if st.id == "s1" && machine == "M3" {
				city = "Bergen"
			}
			amount := 50 + rng.Int64N(300)
			e := saleEv(tx, machine, fmt.Sprintf("P%d", rng.IntN(5)), city, 1+rng.Int64N(3), amount,
				d0.Add(time.Duration(rng.IntN(24*40))*time.Hour+time.Duration(rng.IntN(3600))*time.Second))
			if rng.IntN(2) == 0 {
				d := e.data.(envelope.Sale)
				disc := 1 + rng.Int64N(40)
				d.ListCents, d.DiscountCents, d.BasketID = amount+disc, disc, fmt.Sprintf("b%d", rng.IntN(50))
				d.Promotions = []envelope.SalePromotion{{PromotionID: fmt.Sprintf("promo-%d", rng.IntN(3)), DiscountCents: disc}}
				e.data = d
			}
			evs = append(evs, e)
		}
		b := mkBatch(t, st.id, st.tz, next[st.id]+1, evs...)
		next[st.id] = b.Last
		out = append(out, b)
	}
	return out
}

// discountFleet applies randomSaleBatches, some one by one, some applied
// twice, some as a group of two copies.
func discountFleet(t *testing.T, seed uint64) *Store {
	t.Helper()
	s := openStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	for i, b := range randomSaleBatches(t, rng, 60) {
		streamSeq := uint64(i + 1)
		switch rng.IntN(3) {
		case 0:
			mustApply(t, s, streamSeq, b)
		case 1:
			mustApply(t, s, streamSeq, b)
			mustApply(t, s, streamSeq, b) // changes nothing
		default:
			p := prepare(t, s, b)
			res, err := s.ApplyGroup(ctx, []GroupItem{{StreamSeq: streamSeq, Prepared: p}, {StreamSeq: streamSeq, Prepared: p}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
		}
	}
	return s
}

// TestApplyGroup_TotalsSummedOnceAsOneByOne: a group writes its items'
// aggregate totals and discounts summed, once, before its commit; over
// random batches of several sites in random groups (with repeats, and an
// invalid item now and then, whose totals must not count), the aggregate
// rows, discounts and scopes are those of applying the batches one by one.
func TestApplyGroup_TotalsSummedOnceAsOneByOne(t *testing.T) {
	for _, seed := range []uint64{11, 12, 13} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(seed, 9))
			batches := randomSaleBatches(t, rng, 80)
			one, group := openStore(t), openStore(t)
			// A site whose stored timezone is unknown: its batches are
			// invalid items (see TestApplyGroup_InvalidItemDoesNotStopTheRest).
			at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
			for _, s := range []*Store{one, group} {
				mustApply(t, s, 1, mkBatch(t, "bad", "UTC", 1, saleEv("bad-1", "M0", "P0", "Pune", 1, 999, at)))
				if _, err := s.w.ExecContext(ctx, `UPDATE sites SET tz = 'Nowhere/Atlantis' WHERE site = 'bad'`); err != nil {
					t.Fatal(err)
				}
			}
			bad := mkBatch(t, "bad", "", 2, saleEv("bad-2", "M0", "P0", "Pune", 1, 999, at))
			for i, b := range batches {
				mustApply(t, one, uint64(i+1), b)
			}
			invalid := 0
			for i := 0; i < len(batches); {
				n := 1 + rng.IntN(16)
				var items []GroupItem
				for j := i; j < min(i+n, len(batches)); j++ {
					items = append(items, GroupItem{StreamSeq: uint64(j + 1), Prepared: prepare(t, group, batches[j])})
					if rng.IntN(4) == 0 {
						items = append(items, GroupItem{StreamSeq: uint64(j + 1), Prepared: prepare(t, group, batches[j])})
					}
				}
				if rng.IntN(3) == 0 {
					items = slices.Insert(items, len(items)/2, GroupItem{StreamSeq: uint64(i + 1), Prepared: prepare(t, group, bad)})
				}
				res, err := group.ApplyGroup(ctx, items)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						if !errors.Is(r.Err, ErrInvalidBatch) {
							t.Fatal(r.Err)
						}
						invalid++
					}
				}
				i += n
			}
			if invalid == 0 {
				t.Fatal("no invalid item: the test tests too little")
			}
			sameAgg(t, dumpAgg(t, group), dumpAgg(t, one))
			gotDisc, _ := aggDiscounts(t, group)
			wantDisc, _ := aggDiscounts(t, one)
			if len(wantDisc) < 100 || !maps.Equal(gotDisc, wantDisc) {
				t.Fatalf("group discounts: %d rows, want %d equal ones", len(gotDisc), len(wantDisc))
			}
			scopes := func(s *Store) (n int) {
				if err := s.db.R.QueryRow(`SELECT count(*) FROM sales_scopes`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if got, want := scopes(group), scopes(one); got != want {
				t.Fatalf("scopes = %d, want %d", got, want)
			}
		})
	}
}

// salesAnswers runs every Sales query a dashboard makes of the fixture
// (each dimension, window and filter) and returns its rows, and the rows
// refSales (the discount looked up per row in sales_discount_agg) answers.
func salesAnswers(t *testing.T, s *Store) (got, want []string) {
	t.Helper()
	ctx := context.Background()
	d := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, dim := range []Dim{ByMachine, BySite, ByCity, ByProduct} {
		for _, win := range bucket.All {
			for _, city := range []string{"", "Pune", "Bergen", "Oslo"} {
				for _, site := range []string{"", "s1", "s3"} {
					for _, r := range [][2]time.Time{{d, d.AddDate(0, 0, 45)}, {d.Add(30 * time.Hour), d.AddDate(0, 0, 9)}} {
						q := SalesQuery{GroupBy: dim, Window: win, From: r[0], To: r[1], City: city, Site: site}
						res, err := s.Sales(ctx, q)
						if err != nil {
							t.Fatal(err)
						}
						name := fmt.Sprintf("%+v: ", q)
						for _, x := range res.Rows {
							got = append(got, name+fmt.Sprint(x.Site, x.Key, x.Bucket.Unix(), x.TxCount, x.Quantity, x.RevenueCents, x.DiscountCents))
						}
						rows, err := s.db.R.QueryContext(ctx, refSales(q), site, city, string(dim), string(win), bucket.Start(win, r[0]).Unix(), r[1].Unix())
						if err != nil {
							t.Fatal(err)
						}
						for rows.Next() {
							var site, key string
							var b, tx, qty, rev, disc int64
							if err := rows.Scan(&site, &key, &b, &tx, &qty, &rev, &disc); err != nil {
								t.Fatal(err)
							}
							want = append(want, name+fmt.Sprint(site, key, b, tx, qty, rev, disc))
						}
						if err := rows.Close(); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		}
	}
	return got, want
}

// sameSalesAnswers fails unless the Sales answers equal refSales' and
// carry some discount.
func sameSalesAnswers(t *testing.T, s *Store) {
	t.Helper()
	got, want := salesAnswers(t, s)
	if len(want) < 1000 {
		t.Fatalf("only %d rows answered: the fixture tests too little", len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("row %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
}

// aggDiscounts returns the discount column of every sales_agg row that has
// one, and the rows of sales_discount_agg, keyed by the row's key.
func aggDiscounts(t *testing.T, s *Store) (column, table map[string]int64) {
	t.Helper()
	read := func(q string) map[string]int64 {
		rows, err := s.db.R.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var dim, win, site, city, key string
			var b, d int64
			if err := rows.Scan(&dim, &win, &site, &city, &b, &key, &d); err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s/%s/%s/%s/%d/%s", dim, win, site, city, b, key)] = d
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return read(`SELECT dim, win, site, city, bucket, key, discount_cents FROM sales_agg WHERE discount_cents <> 0`),
		read(`SELECT dim, win, site, city, bucket, key, discount_cents FROM sales_discount_agg`)
}

// TestSalesAgg_DiscountColumnAsDiscountTable: the discount apply writes
// into sales_agg's own rows equals, row for row, what sales_discount_agg
// holds (which the old query summed), and Sales answers what it answered
// when it looked each row's discount up there, over random sales with
// duplicates, group commits and a machine that moved city.
func TestSalesAgg_DiscountColumnAsDiscountTable(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			s := discountFleet(t, seed)
			column, table := aggDiscounts(t, s)
			if len(table) < 100 {
				t.Fatalf("only %d discount rows: the fixture tests too little", len(table))
			}
			if !maps.Equal(column, table) {
				t.Fatalf("sales_agg discounts (%d rows) differ from sales_discount_agg (%d rows)", len(column), len(table))
			}
			sameSalesAnswers(t, s)
		})
	}
}

// TestMigration0023_FillsDiscountColumn: the migration that adds the
// discount column to sales_agg fills it, for a read model written before
// it, with what sales_discount_agg holds, so Sales answers as before.
func TestMigration0023_FillsDiscountColumn(t *testing.T) {
	s := discountFleet(t, 4)
	ctx := context.Background()
	want, _ := aggDiscounts(t, s)
	// The read model as it was before 0023: no column.
	if _, err := s.w.ExecContext(ctx, `ALTER TABLE sales_agg DROP COLUMN discount_cents`); err != nil {
		t.Fatal(err)
	}
	runMigration(t, s, 23)
	got, _ := aggDiscounts(t, s)
	if len(want) < 100 || !maps.Equal(got, want) {
		t.Fatalf("filled %d discount rows, want %d equal ones", len(got), len(want))
	}
	sameSalesAnswers(t, s)
}

// TestRebuild_ReproducesDiscounts: Rebuild recomputes the discount column
// from the sales, as apply wrote it.
func TestRebuild_ReproducesDiscounts(t *testing.T) {
	s := discountFleet(t, 5)
	ctx := context.Background()
	want, _ := aggDiscounts(t, s)
	if _, err := s.w.ExecContext(ctx, `UPDATE sales_agg SET discount_cents = discount_cents + 1 WHERE dim = 'city'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := aggDiscounts(t, s)
	if len(want) < 100 || !maps.Equal(got, want) {
		t.Fatalf("rebuilt %d discount rows, want %d equal ones", len(got), len(want))
	}
	sameSalesAnswers(t, s)
}
