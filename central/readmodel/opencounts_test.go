package readmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// openCountsAsBefore fails unless OpenCounts (open_counts, kept by
// migration 0029's triggers) answers what the count at read time answers,
// and returns how many rows it answered.
func openCountsAsBefore(t *testing.T, s *Store, step string) int {
	t.Helper()
	ctx := context.Background()
	got, err := s.OpenCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.openCounts(ctx, selectOpenCountsAtReadTime)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: open counts kept\n%v\ncounted at read time\n%v", step, got, want)
	}
	return len(want)
}

// openCountsChurn changes alerts, faults and machines at random as any
// writer could: alerts and faults open, close, change machine (to one
// central does not know, too) and go; machines appear, move city, go;
// events applied through the sink (seq-guarded upserts, older ones
// ignored). After each step the kept counts are checked.
func openCountsChurn(t *testing.T, s *Store, rng *rand.Rand, steps int) {
	t.Helper()
	ctx := context.Background()
	cities := []string{"Lyon", "Paris", "Nice", ""}
	d0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	seq := map[string]uint64{}
	for i := range steps {
		site, machine := fmt.Sprintf("s%d", 1+rng.IntN(5)), fmt.Sprintf("M%d", rng.IntN(6))
		var q string
		switch rng.IntN(11) {
		case 0:
			q = fmt.Sprintf(`UPDATE alerts SET status = '%s' WHERE site = '%s' AND alert_id = %d`, []string{"OPEN", "CLOSED"}[rng.IntN(2)], site, rng.IntN(300))
		case 1:
			q = fmt.Sprintf(`UPDATE alerts SET machine_id = '%s' WHERE site = '%s' AND alert_id = %d`, machine, site, rng.IntN(300))
		case 2:
			q = fmt.Sprintf(`DELETE FROM alerts WHERE site = '%s' AND alert_id = %d`, site, rng.IntN(300))
		case 3:
			q = fmt.Sprintf(`UPDATE faults SET status = '%s', machine_id = '%s' WHERE site = '%s' AND fault_id = %d`,
				[]string{"OPEN", "RESOLVED"}[rng.IntN(2)], machine, site, rng.IntN(300))
		case 4:
			q = fmt.Sprintf(`DELETE FROM faults WHERE site = '%s' AND fault_id = %d`, site, rng.IntN(300))
		case 5:
			q = fmt.Sprintf(`UPDATE machines SET city = '%s' WHERE site = '%s' AND machine_id = '%s'`, cities[rng.IntN(len(cities))], site, machine)
		case 6:
			q = fmt.Sprintf(`DELETE FROM machines WHERE site = '%s' AND machine_id = '%s'`, site, machine)
		case 7:
			q = fmt.Sprintf(`UPDATE alerts SET site = '%s' WHERE site = '%s' AND alert_id = %d`, fmt.Sprintf("s%d", 6+rng.IntN(2)), site, rng.IntN(300))
		case 8, 9:
			// A machine event through the sink: it appears or moves (an
			// older seq changes nothing).
			n := seq[site] + 1
			if rng.IntN(4) == 0 && n > 1 {
				n-- // a repeat
			}
			seq[site] = n
			mustApply(t, s, uint64(1000+i), mkBatch(t, site, "UTC", n+100, ev{envelope.KindMachine, d0.Add(time.Duration(i) * time.Minute),
				envelope.Machine{MachineID: machine, City: cities[rng.IntN(3)], Status: "ACTIVE", Action: "REGISTERED"}}))
		default:
			id := 300 + i
			q = fmt.Sprintf(`INSERT INTO alerts (site, alert_id, machine_id, product_id, alert_type, status, detail, opened_at, seq, event_time)
				VALUES ('%s', %d, '%s', 'P1', 'LOW_STOCK', '%s', 'd', 1, 1, 1);
				INSERT INTO faults (site, fault_id, machine_id, fault_type, description, status, reported_at, seq, event_time)
				VALUES ('%s', %d, '%s', 'JAM', 'x', '%s', 1, 1, 1)`, site, id, machine, []string{"OPEN", "CLOSED"}[rng.IntN(2)],
				site, id, machine, []string{"OPEN", "RESOLVED"}[rng.IntN(2)])
		}
		if q != "" {
			if _, err := s.w.ExecContext(ctx, q); err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
		}
		openCountsAsBefore(t, s, fmt.Sprintf("step %d: %s", i, q))
	}
}

// TestOpenCounts_AnswerAsBefore: the open alerts and faults per city and
// site, kept in open_counts by migration 0029's triggers, answer what the
// count at read time answered, through random changes of alerts, faults
// and machines (machines moving city, unknown machines, items moving
// between machines and sites, deletes); the kept rows are what the
// migration's fill computes.
func TestOpenCounts_AnswerAsBefore(t *testing.T) {
	for _, seed := range []uint64{31, 32, 33} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			s := cityListsFixture(t, seed)
			if n := openCountsAsBefore(t, s, "fixture"); n < 10 {
				t.Fatalf("only %d open counts: the fixture tests too little", n)
			}
			openCountsChurn(t, s, rand.New(rand.NewPCG(seed, 29)), 400)
			kept := dumpOpenCounts(t, s)
			if _, err := s.w.ExecContext(ctx, `DELETE FROM open_counts`); err != nil {
				t.Fatal(err)
			}
			for _, q := range migrationStatements(t, 29, "INSERT OR REPLACE INTO open_counts") {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			filled := dumpOpenCounts(t, s)
			if !slices.Equal(kept, filled) {
				t.Fatalf("kept (non-zero rows):\n%v\nfilled by the migration:\n%v", kept, filled)
			}
		})
	}
}

// dumpOpenCounts lists open_counts' rows that are not zero.
func dumpOpenCounts(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT city, site, alerts, faults FROM open_counts WHERE alerts <> 0 OR faults <> 0 ORDER BY city, site`)
	if err != nil {
		t.Fatal(err)
	}
	return dumpRows(t, rows)
}

// TestMigration0029_FillsOpenCounts: a read model written before migration
// 0029 (open alerts and faults, no open_counts) gets the counts, and its
// triggers keep them from then on.
func TestMigration0029_FillsOpenCounts(t *testing.T) {
	ctx := context.Background()
	s := cityListsFixture(t, 34)
	kept := dumpOpenCounts(t, s)
	// The read model as it was at 0028.
	for _, q := range []string{`DROP TABLE open_counts`, `DELETE FROM schema_migrations WHERE version = 29`,
		`DROP TRIGGER open_counts_alert_insert`, `DROP TRIGGER open_counts_alert_update`, `DROP TRIGGER open_counts_alert_delete`,
		`DROP TRIGGER open_counts_fault_insert`, `DROP TRIGGER open_counts_fault_update`, `DROP TRIGGER open_counts_fault_delete`,
		`DROP TRIGGER open_counts_machine_insert`, `DROP TRIGGER open_counts_machine_update`, `DROP TRIGGER open_counts_machine_delete`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var triggers int
	if err := s.db.R.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'`).Scan(&triggers); err != nil || triggers != 0 {
		t.Fatalf("%d triggers left at 0028 (%v)", triggers, err)
	}
	// Changes made at 0028: the migration must count them too.
	if _, err := s.w.ExecContext(ctx, `UPDATE alerts SET status = 'OPEN' WHERE alert_id % 7 = 0;
		UPDATE machines SET city = 'Oslo' WHERE machine_id = 'M1'`); err != nil {
		t.Fatal(err)
	}
	runMigration(t, s, 29)
	if filled := dumpOpenCounts(t, s); len(kept) < 10 || slices.Equal(kept, filled) {
		t.Fatalf("kept at 0029: %d rows; filled after the changes at 0028 must differ: %v", len(kept), filled)
	}
	if n := openCountsAsBefore(t, s, "migrated"); n < 10 {
		t.Fatalf("only %d open counts", n)
	}
	openCountsChurn(t, s, rand.New(rand.NewPCG(34, 29)), 200)
}
