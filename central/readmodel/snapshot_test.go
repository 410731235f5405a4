package readmodel

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

func TestSiteSnapshot_HoldsTheSiteAsOfItsWatermark(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seven := int64(7)
	resolved := t0.Add(time.Hour)
	sale := saleEv("t1", "m1", "p1", "Paris", 3, 300, t0)
	sd := sale.data.(envelope.Sale)
	sd.StockAfter = &seven
	sale.data = sd
	mustApply(t, s, 1, mkBatch(t, "s1", "Europe/Paris", 1,
		ev{envelope.KindMachine, t0, envelope.Machine{MachineID: "m1", City: "Paris", Building: "A", PaymentMethods: []string{"CARD"}, Status: "ACTIVE", Action: "REGISTERED"}},
		ev{envelope.KindInventory, t0, envelope.Inventory{MachineID: "m1", ProductID: "p1", Name: "Cola", PriceCents: 100, Quantity: 10, LowStockLimit: 2, Action: "ADDED"}},
		sale,
		ev{envelope.KindAlert, t0, envelope.Alert{AlertID: 9, MachineID: "m1", ProductID: "p1", Type: "LOW_STOCK", Status: "OPEN", OpenedAt: t0}},
		ev{envelope.KindAlert, t0, envelope.Alert{AlertID: 10, MachineID: "m1", Type: "DOOR_OPEN", Status: "CLOSED", OpenedAt: t0, ClosedAt: &resolved}},
		ev{envelope.KindFault, t0, envelope.Fault{FaultID: 3, MachineID: "m1", FaultType: "JAM", Status: "OPEN", ReportedAt: t0}},
		ev{envelope.KindFault, t0, envelope.Fault{FaultID: 4, MachineID: "m1", FaultType: "COIN", Status: "RESOLVED", ReportedAt: t0, ResolvedAt: &resolved}},
	))
	mustApply(t, s, 2, mkBatch(t, "s2", "UTC", 1,
		ev{envelope.KindMachine, t0, envelope.Machine{MachineID: "m9", City: "Lyon", Status: "ACTIVE", Action: "REGISTERED"}}))
	// Seq 9 arrives above a gap at 8.
	mustApply(t, s, 3, mkBatch(t, "s1", "Europe/Paris", 9, saleEv("t2", "m1", "p1", "Paris", 1, 100, t0)))

	snap, err := s.SiteSnapshot(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Freshness; got.Contiguous != 7 || got.MaxSeen != 9 {
		t.Fatalf("freshness %+v, want watermark 7, max seen 9", got)
	}
	if len(snap.Machines) != 1 || snap.Machines[0].MachineID != "m1" || len(snap.Machines[0].Products) != 1 {
		t.Fatalf("machines %+v, want m1 with one product", snap.Machines)
	}
	if p := snap.Machines[0].Products[0]; p.Quantity != 7 || p.PriceCents != 100 || p.Name != "Cola" || p.LowStockLimit != 2 {
		t.Fatalf("product %+v, want Cola at 1.00, 7 left", p)
	}
	if len(snap.Alerts) != 1 || snap.Alerts[0].AlertID != 9 || len(snap.Faults) != 1 || snap.Faults[0].FaultID != 3 {
		t.Fatalf("open alerts %+v, faults %+v; want alert 9 and fault 3", snap.Alerts, snap.Faults)
	}
	if snap.MaxAlertID != 10 || snap.MaxFaultID != 4 {
		t.Fatalf("max ids alert %d fault %d, want 10 and 4", snap.MaxAlertID, snap.MaxFaultID)
	}

	// A rebuilt site fills the gap with events of a kind central does not
	// aggregate: they count toward the watermark and change no figure.
	before := dumpAgg(t, s)
	mustApply(t, s, 4, mkBatch(t, "s1", "Europe/Paris", 8, ev{envelope.Kind("lost"), t0, map[string]string{"reason": "replaced"}}))
	if w, err := s.Watermark(context.Background(), "s1"); err != nil || w.Contiguous != 9 {
		t.Fatalf("watermark after the gap is filled: %+v, %v; want 9", w, err)
	}
	sameAgg(t, dumpAgg(t, s), before)

	if _, err := s.SiteSnapshot(context.Background(), "nowhere"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("snapshot of an unknown site: %v, want ErrNotFound", err)
	}
}
