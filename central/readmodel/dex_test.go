package readmodel

import (
	"context"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// TestApply_DEXFacts: reconciliations, visits and cash collections land
// in their tables once, however often their batch is delivered, and the
// reports group them by machine, site, city and driver.
func TestApply_DEXFacts(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	dexp := int64(900)
	b := mkBatch(t, "s1", "UTC", 1,
		ev{envelope.KindMachine, at, envelope.Machine{MachineID: "M1", City: "Lyon", Status: "ACTIVE", Action: "REGISTERED"}},
		ev{envelope.KindReconciliation, at, envelope.Reconciliation{ID: 7, MachineID: "M1", FromReadID: 6, ToReadID: 7, From: at.Add(-time.Hour), To: at,
			MachineCount: 10, MachineValue: 1500, LedgerCount: 8, LedgerValue: 1200, UnreportedCount: 2, UnreportedValue: 300,
			PriceMismatches: 1, FreeVends: 1, Alerted: false, By: "drv"}},
		ev{envelope.KindVisit, at, envelope.Visit{VisitID: "v1", MachineID: "M1", ArrivedAt: at.Add(-time.Minute), LeftAt: at, Driver: "Asha", Actions: []string{"CLEANED"}}},
		ev{envelope.KindCash, at, envelope.CashCollection{CollectionID: "c1", MachineID: "M1", CollectedAt: at, AmountCents: 1000, Driver: "Asha",
			ExpectedLedger: 1200, ExpectedDEX: &dexp}},
	)
	mustApply(t, s, 1, b)
	mustApply(t, s, 2, b) // redelivered: nothing changes
	for table, want := range map[string]int64{"dex_reconciliations": 1, "visits": 1, "cash_collections": 1} {
		var n int64
		if err := s.db.R.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil || n != want {
			t.Fatalf("%s: %d rows (%v), want %d", table, n, err, want)
		}
	}
	ctx := context.Background()
	for _, g := range []DEXGroup{DEXByMachine, DEXBySite, DEXByCity, DEXByDriver} {
		rep, err := s.ReconciliationReport(ctx, DEXQuery{GroupBy: g})
		if err != nil {
			t.Fatal(err)
		}
		want := map[DEXGroup]string{DEXByMachine: "M1", DEXBySite: "s1", DEXByCity: "Lyon", DEXByDriver: "drv"}[g]
		if len(rep.Rows) != 1 || rep.Rows[0].Key != want || rep.Rows[0].UnreportedCents != 300 || rep.Rows[0].PriceMismatches != 1 {
			t.Fatalf("by %s: %+v", g, rep.Rows)
		}
	}
	cash, err := s.CashReport(ctx, DEXQuery{GroupBy: DEXByDriver})
	if err != nil {
		t.Fatal(err)
	}
	if len(cash.Rows) != 1 || cash.Rows[0].Key != "Asha" || cash.Rows[0].Counted != 1000 || cash.Rows[0].ExpectedLedger != 1200 ||
		cash.Rows[0].ExpectedDEX != 900 || cash.Rows[0].DEXCollections != 1 {
		t.Fatalf("cash by driver: %+v", cash.Rows)
	}
	if rep, err := s.ReconciliationReport(ctx, DEXQuery{From: at.Add(time.Hour)}); err != nil || len(rep.Rows) != 0 {
		t.Fatalf("after the range: %+v, %v", rep.Rows, err)
	}
	if _, err := s.CashReport(ctx, DEXQuery{GroupBy: "route"}); err == nil {
		t.Fatal("groupBy route accepted")
	}
	// One site: its rows, none of another's.
	for site, want := range map[string]int{"s1": 1, "s2": 0} {
		rep, err := s.ReconciliationReport(ctx, DEXQuery{Site: site})
		if err != nil || len(rep.Rows) != want {
			t.Fatalf("reconciliations of %s: %+v, %v; want %d rows", site, rep.Rows, err, want)
		}
		cash, err := s.CashReport(ctx, DEXQuery{Site: site})
		if err != nil || len(cash.Rows) != want {
			t.Fatalf("cash of %s: %+v, %v; want %d rows", site, cash.Rows, err, want)
		}
	}
}

// TestApply_ReconciliationRevisions: a reconciliation revised at the site
// (late sales) replaces the stored one when its revision is higher; a
// redelivered or older revision changes nothing.
func TestApply_ReconciliationRevisions(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rec := func(revision, ledger, unreported int64) envelope.Reconciliation {
		return envelope.Reconciliation{ID: 7, MachineID: "M1", FromReadID: 6, ToReadID: 7, From: at.Add(-time.Hour), To: at,
			MachineCount: 10, MachineValue: 1000, LedgerCount: ledger, LedgerValue: ledger * 100, UnreportedCount: unreported,
			UnreportedValue: unreported * 100, Alerted: unreported > 5, By: "drv", Revision: revision}
	}
	unreported := func() (n, cents int64) {
		t.Helper()
		if err := s.db.R.QueryRow(`SELECT unreported_count, unreported_cents FROM dex_reconciliations`).Scan(&n, &cents); err != nil {
			t.Fatal(err)
		}
		return n, cents
	}
	mustApply(t, s, 1, mkBatch(t, "s1", "UTC", 1, ev{envelope.KindReconciliation, at, rec(0, 4, 6)}))
	mustApply(t, s, 2, mkBatch(t, "s1", "UTC", 2, ev{envelope.KindReconciliation, at, rec(3, 9, 1)}))
	if n, c := unreported(); n != 1 || c != 100 {
		t.Fatalf("after revision 3: unreported %d (%d cents), want 1 (100)", n, c)
	}
	mustApply(t, s, 3, mkBatch(t, "s1", "UTC", 3, ev{envelope.KindReconciliation, at, rec(2, 7, 3)})) // older, late
	mustApply(t, s, 4, mkBatch(t, "s1", "UTC", 2, ev{envelope.KindReconciliation, at, rec(3, 9, 1)})) // redelivered
	if n, c := unreported(); n != 1 || c != 100 {
		t.Fatalf("after an older revision and a redelivery: unreported %d (%d cents), want 1 (100)", n, c)
	}
	var rows int64
	if err := s.db.R.QueryRow(`SELECT COUNT(*) FROM dex_reconciliations`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d rows (%v), want 1", rows, err)
	}
}
