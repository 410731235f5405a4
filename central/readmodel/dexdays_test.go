package readmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
	"github.com/vendsync/vendsync/sync/envelope"
)

// dumpDays returns every row of table (dex_days or cash_days).
func dumpDays(t testing.TB, s *Store, table string) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT * FROM ` + table + ` ORDER BY grp, day, key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDEXDays_AnswerAsBefore applies random reconciliations (revised,
// redelivered, revisions out of order) and cash collections of several
// sites, then holds the DEX and cash reports of the fleet by site and by
// driver (read from dex_days and cash_days plus the raw rows at the
// range's edges) to the raw query over random ranges, open and closed; and
// the rollups kept on apply to the ones migration 0022 computes.
func TestDEXDays_AnswerAsBefore(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 6))
			s := openStore(t, WithSync(sqlite.SyncNormal)) // many small batches; durability is not under test
			d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			drivers := []string{"asha", "bo", "chen", ""}
			var stream uint64
			for si := range 4 {
				site := fmt.Sprintf("s%d", si+1)
				var evs []ev
				for i := range 60 {
					at := d0.Add(time.Duration(rng.IntN(15*24*3600)) * time.Second)
					machine := fmt.Sprintf("M%d", rng.IntN(4))
					r := envelope.Reconciliation{ID: int64(rng.IntN(40)), MachineID: machine, From: at.Add(-time.Hour), To: at,
						MachineCount: rng.Int64N(50), MachineValue: rng.Int64N(5000), LedgerCount: rng.Int64N(50), LedgerValue: rng.Int64N(5000),
						UnreportedCount: rng.Int64N(5), UnreportedValue: rng.Int64N(500), MissingCount: rng.Int64N(5), MissingValue: rng.Int64N(500),
						PriceMismatches: rng.Int64N(3), TestVends: rng.Int64N(3), FreeVends: rng.Int64N(3), Alerted: rng.IntN(2) == 0,
						By: drivers[rng.IntN(len(drivers))], Revision: rng.Int64N(4)}
					evs = append(evs, ev{envelope.KindReconciliation, at, r})
					var dexp *int64
					if rng.IntN(2) == 0 {
						v := rng.Int64N(3000)
						dexp = &v
					}
					evs = append(evs, ev{envelope.KindCash, at, envelope.CashCollection{CollectionID: fmt.Sprintf("c%d", rng.IntN(50)+i/100),
						MachineID: machine, CollectedAt: at.Add(time.Duration(rng.IntN(3600)) * time.Second), AmountCents: rng.Int64N(3000),
						Driver: drivers[rng.IntN(len(drivers))], ExpectedLedger: rng.Int64N(3000), ExpectedDEX: dexp}})
				}
				for i := 0; i < len(evs); {
					n := min(1+rng.IntN(7), len(evs)-i)
					b := mkBatch(t, site, "UTC", uint64(i+1), evs[i:i+n]...)
					for range 1 + rng.IntN(2) {
						stream++
						mustApply(t, s, stream, b)
					}
					i += n
				}
			}
			nonEmpty := 0
			for range 80 {
				var from, to time.Time
				if rng.IntN(6) > 0 {
					from = d0.Add(time.Duration(rng.IntN(17*24*3600)-24*3600) * time.Second)
					if rng.IntN(3) == 0 {
						from = from.Truncate(24 * time.Hour)
					}
				}
				if rng.IntN(6) > 0 {
					to = from.Add(time.Duration(rng.IntN(12*24*3600)) * time.Second)
					if from.IsZero() {
						to = d0.Add(time.Duration(rng.IntN(17*24*3600)) * time.Second)
					}
					if rng.IntN(3) == 0 {
						to = to.Truncate(24 * time.Hour)
					}
				}
				for _, g := range []DEXGroup{DEXBySite, DEXByDriver} {
					q := DEXQuery{GroupBy: g, From: from, To: to}
					lo, hi := bounds(q)
					site, machine, key, err := groupCols(g, "r", "uploaded_by")
					if err != nil {
						t.Fatal(err)
					}
					want, err := s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, false), "", lo, hi)
					if err != nil {
						t.Fatal(err)
					}
					got, err := s.ReconciliationReport(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if g, w := fmt.Sprintf("%+v", got.Rows), fmt.Sprintf("%+v", want); g != w {
						t.Fatalf("reconciliations %+v:\n got %s\nwant %s", q, g, w)
					}
					site, machine, key, err = groupCols(g, "c", "driver")
					if err != nil {
						t.Fatal(err)
					}
					wantCash, err := s.cashRows(ctx, cashSQL(site, machine, key, false), "", lo, hi)
					if err != nil {
						t.Fatal(err)
					}
					gotCash, err := s.CashReport(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if g, w := fmt.Sprintf("%+v", gotCash.Rows), fmt.Sprintf("%+v", wantCash); g != w {
						t.Fatalf("cash %+v:\n got %s\nwant %s", q, g, w)
					}
					nonEmpty += min(len(want), 1) + min(len(wantCash), 1)
				}
			}
			if nonEmpty < 200 {
				t.Fatalf("only %d non-empty answers: the data tests too little", nonEmpty)
			}
			// The migration's fill over the same raw rows gives the same rollups.
			kept := [2][]string{dumpDays(t, s, "dex_days"), dumpDays(t, s, "cash_days")}
			for _, q := range []string{`DELETE FROM dex_days`, `DELETE FROM cash_days`, fillStatement(t, "INSERT INTO dex_days"), fillStatement(t, "INSERT INTO cash_days")} {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			if filled := [2][]string{dumpDays(t, s, "dex_days"), dumpDays(t, s, "cash_days")}; !slices.Equal(kept[0], filled[0]) || !slices.Equal(kept[1], filled[1]) {
				t.Fatalf("kept on apply:\n%v\nfilled by the migration:\n%v", kept, filled)
			}
		})
	}
}

// fillStatement returns the statement of migration 0022 that starts with
// prefix.
func fillStatement(t testing.TB, prefix string) string {
	t.Helper()
	ms, err := migrations.Load(migrations.Central)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version != 22 {
			continue
		}
		i := strings.Index(m.SQL, prefix)
		if i < 0 {
			break
		}
		return m.SQL[i : i+strings.Index(m.SQL[i:], ";")]
	}
	t.Fatalf("migration 0022 has no %q", prefix)
	return ""
}
