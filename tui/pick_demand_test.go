package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// TestBuildPickList_FillsForDemand: a slot central sent a fill target for
// is planned for demand until the next visit and says so; a slot without
// one is planned to par as before.
func TestBuildPickList_FillsForDemand(t *testing.T) {
	perDay := 2.0
	cands := []hqapi.Candidate{{Site: "s1", Machines: []hqapi.RouteMachine{{MachineID: "M1", Slots: []hqapi.Slot{
		{ProductID: "P1", Name: "Cola", Quantity: 2, ParLevel: 40, DemandPerDay: &perDay, FillTarget: 21, FillRule: hqapi.FillDemand},
		{ProductID: "P2", Name: "Chips", Quantity: 5, ParLevel: 20},
	}}}}}
	pl := BuildPickList(cands, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	want := []PlannedSlot{
		{Site: "s1", MachineID: "M1", ProductID: "P1", Name: "Cola", Units: 19, Rule: hqapi.FillDemand},
		{Site: "s1", MachineID: "M1", ProductID: "P2", Name: "Chips", Units: 15, Rule: hqapi.FillPar},
	}
	if len(pl.Slots) != len(want) {
		t.Fatalf("slots = %+v, want %+v", pl.Slots, want)
	}
	for i := range want {
		if pl.Slots[i] != want[i] {
			t.Fatalf("slot %d = %+v, want %+v", i, pl.Slots[i], want[i])
		}
	}
	if got, want := pl.Lines[0].Machines[0], "M1×19 (demand)"; got != want {
		t.Fatalf("P1 machines = %q, want %q", got, want)
	}
	if got, want := pl.Lines[1].Machines[0], "M1×15"; got != want {
		t.Fatalf("P2 machines = %q, want %q", got, want)
	}
	if text := string(pl.Text()); !strings.Contains(text, "filled for: demand until the next visit for 1 slots, par for 1\n") {
		t.Fatalf("text does not say which rules planned it:\n%s", text)
	}
}
