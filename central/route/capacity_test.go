package route_test

import (
	"context"
	"testing"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// TestCandidates_FillNeverBeyondCapacity: a slot's capacity reaches the
// candidate; its demand target and its par fill stay within it.
func TestCandidates_FillNeverBeyondCapacity(t *testing.T) {
	src := withDemand{
		data: data{sites: []readmodel.Freshness{site("a")},
			alerts: []readmodel.Alert{open("a", "m1", "p1", route.LowStock)},
			machines: map[string]readmodel.Machine{"m1": machine("a", "m1",
				readmodel.MachineProduct{ProductID: "p1", Quantity: 2, ParLevel: ptr(40), LowStockLimit: 3, Capacity: ptr(15)},
				readmodel.MachineProduct{ProductID: "p2", Quantity: 5, ParLevel: ptr(20), LowStockLimit: 2, Capacity: ptr(12)},
				readmodel.MachineProduct{ProductID: "p3", Quantity: 5, ParLevel: ptr(20), LowStockLimit: 2})}},
		demand: map[string]map[forecast.SlotKey]float64{"a": {{Machine: "m1", Product: "p1"}: 2}},
	}
	cs, err := route.CandidatesAt(context.Background(), src, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || len(cs[0].Machines) != 1 || len(cs[0].Machines[0].Slots) != 3 {
		t.Fatalf("candidates = %+v, want site a with m1's three slots", cs)
	}
	p1, p2, p3 := cs[0].Machines[0].Slots[0], cs[0].Machines[0].Slots[1], cs[0].Machines[0].Slots[2]
	// Demand alone would fill p1 to 21 (see TestCandidates_FillForDemand).
	if p1.Capacity != 15 || p1.FillTarget != 15 || p1.FillRule != hqapi.FillDemand {
		t.Fatalf("p1 = %+v, want capacity 15, target 15, rule DEMAND", p1)
	}
	if n, _ := p1.FillNeed(); n != 13 {
		t.Fatalf("p1 fill need %d, want 13", n)
	}
	if n, rule := p2.FillNeed(); p2.Capacity != 12 || n != 7 || rule != hqapi.FillPar || p2.Need() != 7 {
		t.Fatalf("p2 fill need %d %s, need %d (%+v), want 7 PAR within capacity 12", n, rule, p2.Need(), p2)
	}
	if n, _ := p3.FillNeed(); p3.Capacity != 0 || n != 15 {
		t.Fatalf("p3 without capacity: fill need %d (%+v), want 15", n, p3)
	}
}
