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

// effectiveUnknown returns the machines of dex_unknown_machines that the
// read model still has no row for.
func effectiveUnknown(t testing.TB, s *Store) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT site, machine_id FROM dex_unknown_machines u
		WHERE NOT EXISTS (SELECT 1 FROM machines m WHERE m.site = u.site AND m.machine_id = u.machine_id) ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var site, m string
		if err := rows.Scan(&site, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, site+"/"+m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDEXByCity_AnswerAsBefore applies random reconciliations and cash
// collections of sites whose machines stand in one city, in several, move
// between cities, are learned only after their DEX rows or never, then
// holds the fleet's DEX and cash reports by city (per-site rollups given
// to each site's current city, raw rows for the sites that cannot be
// placed and for the range's edges) to the raw query over random ranges;
// and the unknown machines kept on apply to the ones migration 0025 finds.
func TestDEXByCity_AnswerAsBefore(t *testing.T) {
	ctx := context.Background()
	// 15 days: blocks of up to 8 days; 400 days: every block width
	// (migration 0026), ranges of up to 320 days.
	for _, days := range []int{15, 400} {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(days, " days, seed ", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 25))
				s := openStore(t, WithSync(sqlite.SyncNormal)) // many small batches; durability is not under test
				d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				cities := []string{"Lyon", "Paris", "Nice"}
				drivers := []string{"asha", "bo", ""}
				var stream uint64
				for si := range 8 {
					site := fmt.Sprintf("s%d", si+1)
					home := cities[si%len(cities)]
					var evs []ev
					machine := func(m int, at time.Time) ev {
						city := home
						if si%4 == 1 && rng.IntN(3) == 0 { // some sites' machines stand (or move) elsewhere
							city = cities[rng.IntN(len(cities))]
						}
						return ev{envelope.KindMachine, at, envelope.Machine{MachineID: fmt.Sprintf("M%d", m), City: city, Status: "ACTIVE", Action: "REGISTERED"}}
					}
					known := 4 // sites 4 and 8 never register M3; site 3 registers it last
					if si%4 == 3 {
						known = 3
					}
					for m := range known {
						if si == 2 && m == 3 {
							continue
						}
						evs = append(evs, machine(m, d0))
					}
					for range 30 {
						at := d0.Add(time.Duration(rng.IntN(days*24*3600)) * time.Second)
						m := fmt.Sprintf("M%d", rng.IntN(4))
						evs = append(evs, ev{envelope.KindReconciliation, at, envelope.Reconciliation{ID: int64(rng.IntN(40)), MachineID: m,
							From: at.Add(-time.Hour), To: at, MachineCount: rng.Int64N(50), MachineValue: rng.Int64N(5000),
							LedgerCount: rng.Int64N(50), LedgerValue: rng.Int64N(5000), UnreportedCount: rng.Int64N(5),
							UnreportedValue: rng.Int64N(500), MissingCount: rng.Int64N(5), MissingValue: rng.Int64N(500),
							PriceMismatches: rng.Int64N(3), TestVends: rng.Int64N(3), FreeVends: rng.Int64N(3), Alerted: rng.IntN(2) == 0,
							By: drivers[rng.IntN(len(drivers))], Revision: rng.Int64N(4)}})
						var dexp *int64
						if rng.IntN(2) == 0 {
							v := rng.Int64N(3000)
							dexp = &v
						}
						evs = append(evs, ev{envelope.KindCash, at, envelope.CashCollection{CollectionID: fmt.Sprintf("c%d", rng.IntN(45)),
							MachineID: m, CollectedAt: at.Add(time.Duration(rng.IntN(3600)) * time.Second), AmountCents: rng.Int64N(3000),
							Driver: drivers[rng.IntN(len(drivers))], ExpectedLedger: rng.Int64N(3000), ExpectedDEX: dexp}})
						if si%4 == 1 && rng.IntN(20) == 0 {
							evs = append(evs, machine(rng.IntN(4), at)) // a machine moves
						}
					}
					if si == 2 {
						evs = append(evs, machine(3, d0.AddDate(0, 1, 0)))
					}
					applyInBatches(t, s, rng, site, &stream, evs)
				}
				// The data must place some sites by their rollup and not others.
				var placed, unplaced int
				rows, err := s.db.R.Query(`SELECT DISTINCT d.key, p.city FROM dex_days d
					LEFT JOIN (` + selectPlacedSites + `) p ON p.site = d.key WHERE d.grp = 'site'`)
				if err != nil {
					t.Fatal(err)
				}
				placedCities := map[string]bool{}
				for rows.Next() {
					var site string
					var city *string
					if err := rows.Scan(&site, &city); err != nil {
						t.Fatal(err)
					}
					if city != nil {
						placedCities[*city] = true
					} else {
						unplaced++
					}
				}
				placed = len(placedCities)
				rows.Close()
				if placed < 2 || unplaced < 2 {
					t.Fatalf("%d cities of sites placed by their city, %d sites not: the data tests too little", placed, unplaced)
				}
				nonEmpty := 0
				for range 60 {
					from, to := randomRange(rng, d0, days)
					nonEmpty += checkDEXAsRaw(t, ctx, s, DEXQuery{GroupBy: DEXByCity, From: from, To: to})
				}
				if nonEmpty < 80 {
					t.Fatalf("only %d non-empty answers: the data tests too little", nonEmpty)
				}
				// Migration 0025's fill over the same rows finds the same
				// machines still unknown.
				kept := effectiveUnknown(t, s)
				if len(kept) == 0 {
					t.Fatal("no unknown machines: the data tests too little")
				}
				for _, q := range []string{`DELETE FROM dex_unknown_machines`, migrationStatement(t, 25, "INSERT INTO dex_unknown_machines")} {
					if _, err := s.w.ExecContext(ctx, q); err != nil {
						t.Fatalf("%v\n%s", err, q)
					}
				}
				if filled := effectiveUnknown(t, s); !slices.Equal(kept, filled) {
					t.Fatalf("kept on apply: %v\nfilled by the migration: %v", kept, filled)
				}
				// So does migration 0027's fill of the sites' cities.
				siteCities := dumpSiteCities(t, s)
				for _, q := range []string{`DELETE FROM site_cities`, migrationStatement(t, 27, "INSERT INTO site_cities")} {
					if _, err := s.w.ExecContext(ctx, q); err != nil {
						t.Fatalf("%v\n%s", err, q)
					}
				}
				if filled := dumpSiteCities(t, s); len(siteCities) != 8 || !slices.Equal(siteCities, filled) {
					t.Fatalf("site cities kept on apply: %v\nfilled by the migration: %v", siteCities, filled)
				}
			})
		}
	}
}

// dumpSiteCities returns the rows of site_cities, ordered.
func dumpSiteCities(t testing.TB, s *Store) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT site, coalesce(city, 'NULL') FROM site_cities ORDER BY site`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var site, city string
		if err := rows.Scan(&site, &city); err != nil {
			t.Fatal(err)
		}
		out = append(out, site+" "+city)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// migrationStatement returns the statement of central migration version
// that starts with prefix.
func migrationStatement(t testing.TB, version int, prefix string) string {
	t.Helper()
	ms, err := migrations.Load(migrations.Central)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version != version {
			continue
		}
		i := strings.Index(m.SQL, prefix)
		if i < 0 {
			break
		}
		return m.SQL[i : i+strings.Index(m.SQL[i:], ";")]
	}
	t.Fatalf("migration %d has no %q", version, prefix)
	return ""
}
