package restore_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/restore"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/wire"
)

func snapshot() hqapi.SiteSnapshot {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	par := int64(20)
	return hqapi.SiteSnapshot{
		Site:      hqapi.Site{ID: "blr-1", Name: "Tech Park", City: "Bangalore", Timezone: "Asia/Kolkata"},
		Freshness: hqapi.Freshness{SiteID: "blr-1", Known: true, Watermark: 40, LastSeq: 42},
		Machines: []hqapi.SnapshotMachine{{
			MachineID: "M1", Location: hqapi.Location{City: "Bangalore", Building: "A"}, PaymentMethods: []string{"CASH", "CARD"},
			Status: "ACTIVE", UpdatedAt: now,
			Products: []hqapi.MachineProduct{
				{ProductID: "COLA", Name: "Cola", Price: wire.Money(250), Quantity: 7, LowStockLimit: 5, ParLevel: &par, UpdatedAt: now},
				{ProductID: "CHIPS", Name: "Chips", Price: wire.Money(120), Quantity: 0, ExpiryDate: "2027-01-01", UpdatedAt: now},
			},
		}},
		Faults:     []hqapi.Fault{{SiteID: "blr-1", FaultID: 3, MachineID: "M1", FaultType: "JAM", Status: "OPEN", ReportedAt: now}},
		Alerts:     []hqapi.Alert{{SiteID: "blr-1", AlertID: 9, MachineID: "M1", ProductID: "CHIPS", Type: "OUT_OF_STOCK", Status: "OPEN", OpenedAt: now}},
		MaxFaultID: 5, MaxAlertID: 11,
		TakenAt: now,
	}
}

func TestFromSnapshot_RebuildsTheSite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	res, err := restore.FromSnapshot(t.Context(), dir, snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if res.Machines != 1 || res.Products != 2 || res.Slots != 2 || res.Faults != 1 || res.Alerts != 1 || res.Lost != 2 {
		t.Fatalf("result %+v", res)
	}
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, want := st.Site.Timezone, "Asia/Kolkata"; got != want {
		t.Fatalf("timezone %q, want %q", got, want)
	}
	inv, err := st.Inventory(t.Context(), "M1")
	if err != nil {
		t.Fatal(err)
	}
	qty := map[string]int64{}
	for _, it := range inv {
		qty[it.ProductID] = it.Quantity
	}
	if qty["COLA"] != 7 || qty["CHIPS"] != 0 || len(qty) != 2 {
		t.Fatalf("inventory %+v", inv)
	}
	var last, acked, outbox, minSeq, maxSeq int64
	q := func(query string, dst ...any) {
		t.Helper()
		if err := st.DB.R.QueryRow(query).Scan(dst...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	q(`SELECT last_seq, acked_seq FROM sync_state`, &last, &acked)
	q(`SELECT count(*), min(seq), max(seq) FROM outbox WHERE kind = 'lost'`, &outbox, &minSeq, &maxSeq)
	if last != 42 || acked != 40 || outbox != 2 || minSeq != 41 || maxSeq != 42 {
		t.Fatalf("sync state last %d acked %d, lost rows %d (%d..%d); want 42, 40, 2 (41..42)", last, acked, outbox, minSeq, maxSeq)
	}
	// New alerts and faults are numbered after central's highest ids.
	var nextAlert, nextFault int64
	q(`SELECT seq FROM sqlite_sequence WHERE name = 'alerts'`, &nextAlert)
	q(`SELECT seq FROM sqlite_sequence WHERE name = 'fault_events'`, &nextFault)
	if nextAlert != 11 || nextFault != 5 {
		t.Fatalf("id sequences alerts %d faults %d, want 11 and 5", nextAlert, nextFault)
	}
	var open int
	q(`SELECT count(*) FROM alerts WHERE status = 'OPEN' AND alert_id = 9`, &open)
	if open != 1 {
		t.Fatal("open alert 9 not restored")
	}

	// A second restore into the same directory is refused.
	if _, err := restore.FromSnapshot(t.Context(), dir, snapshot()); !errors.Is(err, restore.ErrExists) {
		t.Fatalf("restore into a directory with a site: %v, want ErrExists", err)
	}
}

func TestContinueAfter_SkipsNumbersCentralHolds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := restore.FromSnapshot(t.Context(), dir, snapshot()); err != nil {
		t.Fatal(err)
	}
	// Central has seen up to 50 (the site synced after its backup).
	n, err := restore.ContinueAfter(t.Context(), dir, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Fatalf("skipped %d numbers, want 8 (43..50)", n)
	}
	if n, err := restore.ContinueAfter(t.Context(), dir, 45, time.Now()); err != nil || n != 0 {
		t.Fatalf("ContinueAfter below the site's sequence: %d, %v; want nothing done", n, err)
	}
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var last, rows, maxSeq int64
	if err := st.DB.R.QueryRow(`SELECT (SELECT last_seq FROM sync_state), count(*), max(seq) FROM outbox`).Scan(&last, &rows, &maxSeq); err != nil {
		t.Fatal(err)
	}
	// The outbox stays gap-free from central's watermark (40) up.
	if last != 50 || rows != 10 || maxSeq != 50 {
		t.Fatalf("last_seq %d, outbox rows %d up to %d; want 50, 10 (41..50), 50", last, rows, maxSeq)
	}
}
