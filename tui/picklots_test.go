package tui

import (
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/hqapi"
)

func TestPlanSlot_CountsOnlyUnitsGoodAtTheNextVisit(t *testing.T) {
	const today, next = "2026-06-10", "2026-06-17"
	lot := func(exp string, n int64, status string) hqapi.SlotLot {
		return hqapi.SlotLot{ExpiryDate: exp, Quantity: n, Status: status}
	}
	tests := []struct {
		name     string
		slot     hqapi.Slot
		fill     int64
		pullWant []Pull
	}{
		{name: "no lots: par minus the count, as before",
			slot: hqapi.Slot{ParLevel: 10, Quantity: 4, ExpiryDate: "2026-06-01"}, fill: 6},
		{name: "every lot good",
			slot: hqapi.Slot{ParLevel: 10, Quantity: 7, Lots: []hqapi.SlotLot{lot("2026-06-20", 3, "SELLABLE"), lot("", 4, "SELLABLE")}}, fill: 3},
		{name: "expired and at-risk units are pulled and refilled",
			slot: hqapi.Slot{ParLevel: 10, Quantity: 9, Lots: []hqapi.SlotLot{lot("2026-06-08", 2, "SELLABLE"), lot("2026-06-12", 3, "SELLABLE"), lot("2026-06-17", 4, "SELLABLE")}},
			fill: 6, pullWant: []Pull{{2, "2026-06-08", PullExpired}, {3, "2026-06-12", PullAtRisk}}},
		{name: "held units are pulled",
			slot: hqapi.Slot{ParLevel: 5, Quantity: 5, Lots: []hqapi.SlotLot{lot("2026-07-01", 5, "HOLD")}},
			fill: 5, pullWant: []Pull{{5, "2026-07-01", PullHold}}},
		{name: "more good units than par",
			slot: hqapi.Slot{ParLevel: 3, Quantity: 8, Lots: []hqapi.SlotLot{lot("2026-06-30", 8, "SELLABLE")}}, fill: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill, _, pull := PlanSlot(tt.slot, today, next)
			if fill != tt.fill {
				t.Fatalf("fill %d, want %d", fill, tt.fill)
			}
			if len(pull) != len(tt.pullWant) {
				t.Fatalf("pull %+v, want %+v", pull, tt.pullWant)
			}
			for i := range pull {
				if pull[i] != tt.pullWant[i] {
					t.Fatalf("pull %+v, want %+v", pull, tt.pullWant)
				}
			}
		})
	}
}

func TestBuildPickList_PullListPerMachineInSlotOrder(t *testing.T) {
	at := time.Date(2026, 6, 10, 8, 0, 0, 0, time.UTC)
	cands := []hqapi.Candidate{{Site: "s1", Machines: []hqapi.RouteMachine{
		{MachineID: "M1", Slots: []hqapi.Slot{
			{ProductID: "A", ParLevel: 6, Quantity: 4, Lots: []hqapi.SlotLot{{ExpiryDate: "2026-06-09", Quantity: 4, Status: "SELLABLE"}}},
			{ProductID: "B", ParLevel: 6, Quantity: 6, Lots: []hqapi.SlotLot{{ExpiryDate: "2026-06-14", Quantity: 2, Status: "SELLABLE"}, {ExpiryDate: "2026-07-01", Quantity: 4, Status: "SELLABLE"}}},
		}},
		{MachineID: "M2", Slots: []hqapi.Slot{{ProductID: "A", ParLevel: 5, Quantity: 1}}},
	}}}
	pl := BuildPickListUntil(cands, at, at.AddDate(0, 0, 7))
	if len(pl.Pull) != 2 || pl.Pull[0].ProductID != "A" || pl.Pull[0].Reason != PullExpired || pl.Pull[0].Units != 4 ||
		pl.Pull[1].ProductID != "B" || pl.Pull[1].Reason != PullAtRisk || pl.Pull[1].Units != 2 {
		t.Fatalf("pull %+v", pl.Pull)
	}
	// A: 6 for M1 (its 4 expired) + 4 for M2; B: 2 (its 2 at risk).
	want := map[string]int64{"A": 10, "B": 2}
	for _, l := range pl.Lines {
		if l.Need != want[l.ProductID] {
			t.Fatalf("line %s need %d, want %d", l.ProductID, l.Need, want[l.ProductID])
		}
	}
	if len(pl.Lines) != 2 {
		t.Fatalf("lines %+v", pl.Lines)
	}
}

// TestPlanSlot_NeverBeyondCapacity: a slot whose coil holds fewer units
// than its par level or its demand target is filled to its capacity.
func TestPlanSlot_NeverBeyondCapacity(t *testing.T) {
	const today, next = "2026-06-10", "2026-06-17"
	tests := []struct {
		name string
		slot hqapi.Slot
		fill int64
	}{
		{"par above capacity", hqapi.Slot{ParLevel: 30, Quantity: 4, Capacity: 20}, 16},
		{"demand above capacity", hqapi.Slot{ParLevel: 30, Quantity: 4, Capacity: 12, FillRule: hqapi.FillDemand, FillTarget: 25}, 8},
		{"capacity above par", hqapi.Slot{ParLevel: 10, Quantity: 4, Capacity: 40}, 6},
		{"lots counted against capacity", hqapi.Slot{ParLevel: 30, Quantity: 9, Capacity: 10,
			Lots: []hqapi.SlotLot{{ExpiryDate: "2026-06-30", Quantity: 9, Status: "SELLABLE"}}}, 1},
		{"already beyond capacity", hqapi.Slot{ParLevel: 30, Quantity: 25, Capacity: 20}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fill, _, _ := PlanSlot(tt.slot, today, next); fill != tt.fill {
				t.Fatalf("fill %d, want %d", fill, tt.fill)
			}
			if level, _ := tt.slot.FillLevel(); level > tt.slot.Capacity {
				t.Fatalf("fill level %d beyond capacity %d", level, tt.slot.Capacity)
			}
		})
	}
}
