package readmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// cityListsFixture applies machine events of five sites (machines moving
// between three cities, one site's machines split) and writes alerts and
// faults of those machines and of machines central does not know.
func cityListsFixture(t *testing.T, seed uint64) *Store {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 27))
	s := openStore(t)
	d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cities := []string{"Lyon", "Paris", "Nice"}
	for si := range 5 {
		site := fmt.Sprintf("s%d", si+1)
		var evs []ev
		for k := range 12 {
			city := cities[si%len(cities)]
			if si == 1 || rng.IntN(6) == 0 {
				city = cities[rng.IntN(len(cities))]
			}
			evs = append(evs, ev{envelope.KindMachine, d0.Add(time.Duration(k) * time.Hour),
				envelope.Machine{MachineID: fmt.Sprintf("M%d", rng.IntN(4)), City: city, Status: "ACTIVE", Action: "REGISTERED"}})
		}
		mustApply(t, s, uint64(si+1), mkBatch(t, site, "UTC", 1, evs...))
	}
	var stmts []string
	for i := range 300 {
		site, machine := fmt.Sprintf("s%d", 1+rng.IntN(5)), fmt.Sprintf("M%d", rng.IntN(5)) // M4 is unknown
		at := 1000 * int64(rng.IntN(100))                                                   // ties
		stmts = append(stmts,
			fmt.Sprintf(`INSERT INTO alerts (site, alert_id, machine_id, product_id, alert_type, status, detail, opened_at, seq, event_time)
				VALUES ('%s', %d, '%s', 'P%d', '%s', '%s', 'd%d', %d, 1, %d)`, site, i, machine, i%3, []string{"LOW_STOCK", "OFFLINE", "TEMPERATURE"}[rng.IntN(3)],
				[]string{"OPEN", "CLOSED"}[rng.IntN(2)], i, at, at),
			fmt.Sprintf(`INSERT INTO faults (site, fault_id, machine_id, fault_type, description, status, reported_at, seq, event_time)
				VALUES ('%s', %d, '%s', 'JAM', 'x%d', '%s', %d, 1, %d)`, site, i, machine, i, []string{"OPEN", "RESOLVED"}[rng.IntN(2)], at, at))
	}
	for _, q := range stmts {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	return s
}

// cityLists returns the rows of the alert and fault lists (the queries of
// Alerts and Faults) of every city and filter combination that names one,
// with small limits too; old reads them with the queries before migration
// 0027 (no per-machine list index named).
func cityLists(t *testing.T, s *Store, old bool) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	list := func(name, q string, args []any) {
		if old {
			q = strings.NewReplacer(" INDEXED BY alerts_machine_list", "", " INDEXED BY faults_machine_list", "").Replace(q)
		}
		rows, err := s.db.R.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range dumpRows(t, rows) {
			out = append(out, name+": "+r)
		}
	}
	for _, city := range []string{"Lyon", "Paris", "Nice", "Oslo"} {
		for _, typ := range []string{"", "LOW_STOCK", "OFFLINE"} {
			for _, status := range []string{"", "OPEN", "CLOSED"} {
				for _, limit := range []int{0, 7} {
					f := AlertFilter{City: city, Type: typ, Status: status, Limit: limit}
					q, args := alertsSQL(f)
					list(fmt.Sprintf("%+v", f), q, args)
				}
			}
		}
		for _, status := range []string{"", "OPEN", "RESOLVED"} {
			f := FaultFilter{City: city, Status: status}
			q, args := faultsSQL(f)
			list(fmt.Sprintf("%+v", f), q, args)
		}
	}
	return out
}

// TestMigration0027_CityLists: a read model written before migration 0027
// (no per-machine list indexes, no site_cities) gets the sites' cities that
// apply keeps, and the alert and fault lists of a city answer as before it
// over the indexes it adds, which those lists read.
func TestMigration0027_CityLists(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			s := cityListsFixture(t, seed)
			keptCities := dumpSiteCities(t, s)
			if len(keptCities) != 5 || !slices.ContainsFunc(keptCities, func(c string) bool { return strings.HasSuffix(c, " NULL") }) {
				t.Fatalf("site cities %v: want 5, one of them split", keptCities)
			}
			after := cityLists(t, s, false)
			// The read model as it was at 0026.
			for _, q := range []string{`DROP TABLE site_cities`, `DROP INDEX alerts_machine_list`, `DROP INDEX faults_machine_list`,
				`DELETE FROM schema_migrations WHERE version = 27`} {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			before := cityLists(t, s, true)
			if len(before) < 1000 || len(before) != len(after) {
				t.Fatalf("%d rows listed before 0027, %d kept on apply: the fixture tests too little, or the lists differ", len(before), len(after))
			}
			runMigration(t, s, 27)
			if filled := dumpSiteCities(t, s); !slices.Equal(keptCities, filled) {
				t.Fatalf("site cities kept on apply: %v\nfilled by the migration: %v", keptCities, filled)
			}
			for i, l := range cityLists(t, s, false) {
				if l != before[i] || l != after[i] {
					t.Fatalf("migrated:\n%s\nbefore 0027:\n%s\nkept on apply:\n%s", l, before[i], after[i])
				}
			}
		})
	}
}

// TestQueryPlans_CityListsFromMachineIndexes: the alert and fault lists of
// a city read each of the city's machines' rows from the covering
// per-machine indexes (migration 0027), never the tables themselves.
func TestQueryPlans_CityListsFromMachineIndexes(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	plans := map[string][2]any{}
	for _, f := range []AlertFilter{{City: "c1"}, {City: "c1", Type: "LOW_STOCK"}, {City: "c1", Status: "CLOSED"}} {
		q, args := alertsSQL(f)
		plans[fmt.Sprintf("alerts %+v", f)] = [2]any{q, args}
	}
	for _, f := range []FaultFilter{{City: "c1"}, {City: "c1", Status: "RESOLVED"}} {
		q, args := faultsSQL(f)
		plans[fmt.Sprintf("faults %+v", f)] = [2]any{q, args}
	}
	for name, p := range plans {
		rows, err := s.db.R.QueryContext(ctx, "EXPLAIN QUERY PLAN "+p[0].(string), p[1].([]any)...)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		rows.Close()
		plan := strings.Join(lines, "\n")
		want := "COVERING INDEX alerts_machine_list"
		if strings.HasPrefix(name, "faults") {
			want = "COVERING INDEX faults_machine_list"
		}
		if !strings.Contains(plan, want) {
			t.Errorf("%s: plan does not read %s:\n%s", name, want, plan)
		}
	}
}
