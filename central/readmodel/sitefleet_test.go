package readmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// siteFleetAnswers holds the fleet's Sales by site (read from
// site_sales_fleet) to the same query answered from the sales_agg scopes
// (salesAggSQL, the query before migration 0028) over every window and
// random ranges, and returns how many rows were compared.
func siteFleetAnswers(t *testing.T, s *Store, rng *rand.Rand) int {
	t.Helper()
	ctx := context.Background()
	d0 := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	n := 0
	for i := range 60 {
		from := d0.Add(time.Duration(rng.IntN(50*24)) * time.Hour)
		to := from.Add(time.Duration(1+rng.IntN(40*24)) * time.Hour)
		if i == 0 {
			from, to = d0, d0.AddDate(0, 3, 0)
		}
		for _, win := range bucket.All {
			q := SalesQuery{GroupBy: BySite, Window: win, From: from, To: to}
			query, args := salesSQL(q)
			if win != bucket.Hour && query == salesAggSQL(q) {
				t.Fatalf("%+v is not read from site_sales_fleet", q)
			}
			got, err := s.Sales(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.sumSalesRows(ctx, salesAggSQL(q), args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Rows, want) {
				t.Fatalf("%+v:\n got  %v\n want %v", q, got.Rows, want)
			}
			n += len(want)
		}
	}
	return n
}

// TestSiteSalesFleet_AnswerAsBefore: the fleet's sales by site per day,
// week and month, read from site_sales_fleet, answer what the per-scope
// reads of sales_agg answered, over random sales of four sites in three
// timezones (a machine of s1 in another city: two scopes of one site),
// with repeats, group commits and discounts; the rows kept on apply are
// those migration 0028's fill computes, and Rebuild writes them again.
func TestSiteSalesFleet_AnswerAsBefore(t *testing.T) {
	for _, seed := range []uint64{21, 22, 23} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			s := discountFleet(t, seed)
			rng := rand.New(rand.NewPCG(seed, 28))
			if n := siteFleetAnswers(t, s, rng); n < 1000 {
				t.Fatalf("only %d rows compared: the fixture tests too little", n)
			}
			kept := dumpDays(t, s, "site_sales_fleet")
			if _, err := s.w.ExecContext(ctx, `DELETE FROM site_sales_fleet`); err != nil {
				t.Fatal(err)
			}
			for _, q := range migrationStatements(t, 28, "INSERT INTO site_sales_fleet") {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if filled := dumpDays(t, s, "site_sales_fleet"); len(kept) < 100 || !slices.Equal(kept, filled) {
				t.Fatalf("kept on apply (%d rows):\n%v\nfilled by the migration (%d rows):\n%v", len(kept), kept, len(filled), filled)
			}
			if _, err := s.w.ExecContext(ctx, `UPDATE site_sales_fleet SET tx_count = tx_count + 1 WHERE win = 'day'`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			if rebuilt := dumpDays(t, s, "site_sales_fleet"); !slices.Equal(kept, rebuilt) {
				t.Fatalf("kept on apply (%d rows) differs from rebuilt (%d rows)", len(kept), len(rebuilt))
			}
			siteFleetAnswers(t, s, rng)
		})
	}
}

// TestMigration0028_FillsSiteSalesFleet: a read model written before
// migration 0028 (sales in sales_agg, no site_sales_fleet) gets the rows
// apply would have kept, and the fleet's sales by site answer as before.
func TestMigration0028_FillsSiteSalesFleet(t *testing.T) {
	ctx := context.Background()
	s := discountFleet(t, 24)
	kept := dumpDays(t, s, "site_sales_fleet")
	// The read model as it was at 0027.
	for _, q := range []string{`DROP TABLE site_sales_fleet`, `DELETE FROM schema_migrations WHERE version = 28`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	runMigration(t, s, 28)
	if filled := dumpDays(t, s, "site_sales_fleet"); len(kept) < 100 || !slices.Equal(kept, filled) {
		t.Fatalf("kept on apply: %d rows, filled by the migration: %d rows, or they differ", len(kept), len(filled))
	}
	if n := siteFleetAnswers(t, s, rand.New(rand.NewPCG(24, 28))); n < 1000 {
		t.Fatalf("only %d rows compared", n)
	}
}
