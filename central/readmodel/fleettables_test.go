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

// fleetAnswers holds the fleet's Sales by dim (read from site_sales_fleet
// or machine_sales_fleet) to the same query answered from the sales_agg
// scopes (salesAggSQL, the query before migrations 0028 and 0031) over
// every window and random ranges, and returns how many rows were compared.
func fleetAnswers(t *testing.T, s *Store, dim Dim, rng *rand.Rand) int {
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
			q := SalesQuery{GroupBy: dim, Window: win, From: from, To: to}
			query, args, ordered := salesSQL(q)
			if fromFleet := query != salesAggSQL(q); fromFleet != (win != bucket.Hour) || ordered != fromFleet {
				t.Fatalf("%+v: read from a fleet table %v, ordered %v", q, fromFleet, ordered)
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

// fleetTables are the fleet's rows by site and by machine: the table, the
// dimension it answers and the migration that made and filled it.
var fleetTables = []struct {
	table     string
	dim       Dim
	migration int
}{{"site_sales_fleet", BySite, 28}, {"machine_sales_fleet", ByMachine, 31}}

// TestSiteSalesFleet_AnswerAsBefore: the fleet's sales by site and by
// machine per day, week and month, read from site_sales_fleet and
// machine_sales_fleet, answer what the per-scope reads of sales_agg
// answered, over random sales of four sites in three timezones (machine
// ids shared between sites; a machine of s1 in another city: two scopes of
// one site), with repeats, group commits and discounts; the rows kept on
// apply are those the migrations' fills compute, and Rebuild writes them
// again.
func TestSiteSalesFleet_AnswerAsBefore(t *testing.T) {
	for _, seed := range []uint64{21, 22, 23} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			s := discountFleet(t, seed)
			rng := rand.New(rand.NewPCG(seed, 28))
			kept := map[string][]string{}
			for _, f := range fleetTables {
				if n := fleetAnswers(t, s, f.dim, rng); n < 1000 {
					t.Fatalf("%s: only %d rows compared: the fixture tests too little", f.table, n)
				}
				kept[f.table] = dumpDays(t, s, f.table)
				if _, err := s.w.ExecContext(ctx, `DELETE FROM `+f.table); err != nil {
					t.Fatal(err)
				}
				for _, q := range migrationStatements(t, f.migration, "INSERT INTO "+f.table) {
					if _, err := s.w.ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				if filled := dumpDays(t, s, f.table); len(kept[f.table]) < 100 || !slices.Equal(kept[f.table], filled) {
					t.Fatalf("%s kept on apply (%d rows):\n%v\nfilled by the migration (%d rows):\n%v", f.table, len(kept[f.table]), kept[f.table], len(filled), filled)
				}
				if _, err := s.w.ExecContext(ctx, `UPDATE `+f.table+` SET tx_count = tx_count + 1 WHERE win = 'day'`); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			for _, f := range fleetTables {
				if rebuilt := dumpDays(t, s, f.table); !slices.Equal(kept[f.table], rebuilt) {
					t.Fatalf("%s kept on apply (%d rows) differs from rebuilt (%d rows)", f.table, len(kept[f.table]), len(rebuilt))
				}
				fleetAnswers(t, s, f.dim, rng)
			}
		})
	}
}

// TestMigrations0028And0031_FillFleetTables: a read model written before
// migration 0028 or 0031 (sales in sales_agg, no site_sales_fleet or
// machine_sales_fleet) gets the rows apply would have kept, and the
// fleet's sales by site and by machine answer as before.
func TestMigrations0028And0031_FillFleetTables(t *testing.T) {
	for _, f := range fleetTables {
		t.Run(f.table, func(t *testing.T) {
			ctx := context.Background()
			s := discountFleet(t, 24)
			kept := dumpDays(t, s, f.table)
			// The read model as it was before the migration.
			for _, q := range []string{`DROP TABLE ` + f.table, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, f.migration)} {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			runMigration(t, s, f.migration)
			if filled := dumpDays(t, s, f.table); len(kept) < 100 || !slices.Equal(kept, filled) {
				t.Fatalf("kept on apply: %d rows, filled by the migration: %d rows, or they differ", len(kept), len(filled))
			}
			if n := fleetAnswers(t, s, f.dim, rand.New(rand.NewPCG(24, 28))); n < 1000 {
				t.Fatalf("only %d rows compared", n)
			}
		})
	}
}
