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

// dumpDays returns every row of table (dex_days, cash_days, dex_spans or
// cash_spans).
func dumpDays(t testing.TB, s *Store, table string) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT * FROM ` + table + ` ORDER BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	return dumpRows(t, rows)
}

// TestDEXDays_AnswerAsBefore applies random reconciliations (revised,
// redelivered, revisions out of order) and cash collections of several
// sites, then holds the DEX and cash reports of the fleet by site and by
// driver (read from dex_days and cash_days plus the raw rows at the
// range's edges) to the raw query over random ranges, open and closed; and
// the rollups kept on apply to the ones migration 0022 computes.
func TestDEXDays_AnswerAsBefore(t *testing.T) {
	ctx := context.Background()
	// 15 days: blocks of up to 8 days; 400 days: every block width
	// (migration 0026), ranges of up to 320 days.
	for _, days := range []int{15, 400} {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(days, " days, seed ", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 6))
				s := openStore(t, WithSync(sqlite.SyncNormal)) // many small batches; durability is not under test
				d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				drivers := []string{"asha", "bo", "chen", ""}
				var stream uint64
				for si := range 4 {
					site := fmt.Sprintf("s%d", si+1)
					var evs []ev
					for i := range 60 {
						at := d0.Add(time.Duration(rng.IntN(days*24*3600)) * time.Second)
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
					applyInBatches(t, s, rng, site, &stream, evs)
				}
				nonEmpty := 0
				for range 80 {
					from, to := randomRange(rng, d0, days)
					for _, g := range []DEXGroup{DEXBySite, DEXByDriver} {
						nonEmpty += checkDEXAsRaw(t, ctx, s, DEXQuery{GroupBy: g, From: from, To: to})
					}
				}
				if nonEmpty < 200 {
					t.Fatalf("only %d non-empty answers: the data tests too little", nonEmpty)
				}
				// The migrations' fills over the same raw rows give the same
				// rollups: 0022's day rows, 0026's blocks from them.
				tables := []string{"dex_days", "cash_days", "dex_spans", "cash_spans"}
				var kept [][]string
				for _, table := range tables {
					kept = append(kept, dumpDays(t, s, table))
				}
				if len(kept[2]) == 0 || len(kept[3]) == 0 {
					t.Fatal("no blocks kept on apply")
				}
				fills := []string{`DELETE FROM dex_days`, `DELETE FROM cash_days`, `DELETE FROM dex_spans`, `DELETE FROM cash_spans`,
					fillStatement(t, "INSERT INTO dex_days"), fillStatement(t, "INSERT INTO cash_days")}
				fills = append(fills, migrationStatements(t, 26, "INSERT INTO")...)
				for _, q := range fills {
					if _, err := s.w.ExecContext(ctx, q); err != nil {
						t.Fatalf("%v\n%s", err, q)
					}
				}
				for i, table := range tables {
					if filled := dumpDays(t, s, table); !slices.Equal(kept[i], filled) {
						t.Fatalf("%s kept on apply:\n%v\nfilled by the migration:\n%v", table, kept[i], filled)
					}
				}
			})
		}
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

// migrationStatements returns the statements of central migration version
// that start with prefix, in order.
func migrationStatements(t testing.TB, version int, prefix string) []string {
	t.Helper()
	ms, err := migrations.Load(migrations.Central)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Version != version {
			continue
		}
		for rest := m.SQL; ; {
			i := strings.Index(rest, prefix)
			if i < 0 {
				break
			}
			j := strings.Index(rest[i:], ";")
			out = append(out, rest[i:i+j])
			rest = rest[i+j:]
		}
	}
	if len(out) == 0 {
		t.Fatalf("migration %d has no %q", version, prefix)
	}
	return out
}

// TestMigration0026_FillsBlocks: a read model written before migration
// 0026 (day rollups with rows, no block tables) gets the blocks that apply
// would have kept, and the fleet's DEX and cash reports answer as the raw
// query over ranges long enough to read blocks of every width.
func TestMigration0026_FillsBlocks(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(26, 26))
	s := openStore(t, WithSync(sqlite.SyncNormal))
	d0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var stream uint64
	for si := range 3 {
		var evs []ev
		for i := range 150 {
			at := d0.Add(time.Duration(rng.IntN(500*24*3600)) * time.Second)
			evs = append(evs, ev{envelope.KindReconciliation, at, envelope.Reconciliation{ID: int64(i), MachineID: "M1",
				From: at.Add(-time.Hour), To: at, MachineCount: rng.Int64N(50), MachineValue: rng.Int64N(5000),
				UnreportedValue: rng.Int64N(500), Alerted: rng.IntN(2) == 0, By: []string{"asha", "bo"}[rng.IntN(2)], Revision: 1}})
			evs = append(evs, ev{envelope.KindCash, at, envelope.CashCollection{CollectionID: fmt.Sprint("c", i), MachineID: "M1",
				CollectedAt: at, AmountCents: rng.Int64N(3000), Driver: "asha", ExpectedLedger: rng.Int64N(3000)}})
		}
		stream++
		mustApply(t, s, stream, mkBatch(t, fmt.Sprint("s", si), "UTC", 1, evs...))
	}
	kept := [2][]string{dumpDays(t, s, "dex_spans"), dumpDays(t, s, "cash_spans")}
	if len(kept[0]) < 100 || len(kept[1]) < 100 {
		t.Fatalf("%d and %d blocks kept: the data tests too little", len(kept[0]), len(kept[1]))
	}
	// The read model as it was at 0025: no block tables.
	for _, q := range []string{`DROP TABLE dex_spans`, `DROP TABLE cash_spans`, `DELETE FROM schema_migrations WHERE version = 26`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	runMigration(t, s, 26)
	if filled := [2][]string{dumpDays(t, s, "dex_spans"), dumpDays(t, s, "cash_spans")}; !slices.Equal(kept[0], filled[0]) || !slices.Equal(kept[1], filled[1]) {
		t.Fatalf("kept on apply:\n%v\nfilled by the migration:\n%v", kept, filled)
	}
	for _, r := range [][2]time.Time{{d0, d0.AddDate(1, 4, 0)}, {d0.Add(37 * time.Hour), d0.AddDate(0, 11, 3)}, {{}, {}}} {
		for _, g := range []DEXGroup{DEXBySite, DEXByDriver} {
			// Both reports must have rows: the migration's fill is read.
			if q := (DEXQuery{GroupBy: g, From: r[0], To: r[1]}); checkDEXAsRaw(t, ctx, s, q) != 2 {
				t.Fatalf("%+v: a report without rows", q)
			}
		}
	}
}
