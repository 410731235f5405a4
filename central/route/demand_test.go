package route_test

import (
	"context"
	"testing"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// withDemand adds a demand forecast to data.
type withDemand struct {
	data
	demand map[string]map[forecast.SlotKey]float64
}

func (w withDemand) DemandPerDay(context.Context) (map[string]map[forecast.SlotKey]float64, error) {
	return w.demand, nil
}

func TestFillTarget(t *testing.T) {
	tests := []struct {
		name          string
		perDay        float64
		par, low, out int64
	}{
		{"a week of 2/day plus safety", 2, 40, 3, 21},      // 14 + 1.65·√14 = 20.2
		{"capped at par", 10, 30, 3, 30},                   // 70 + 13.8
		{"never below the low-stock limit", 0.1, 30, 5, 6}, // 0.7 + 1.4 = 2.1
		{"no demand still clears the alert", 0, 30, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := route.FillTarget(tt.perDay, tt.par, tt.low); got != tt.out {
				t.Fatalf("FillTarget(%v, %d, %d) = %d, want %d", tt.perDay, tt.par, tt.low, got, tt.out)
			}
		})
	}
}

// TestCandidates_FillForDemand: a slot with a forecast gets its demand and
// a fill target and says it fills for demand; a slot without one keeps the
// par rule, and its need is unchanged.
func TestCandidates_FillForDemand(t *testing.T) {
	src := withDemand{
		data: data{sites: []readmodel.Freshness{site("a")},
			alerts: []readmodel.Alert{open("a", "m1", "p1", route.LowStock)},
			machines: map[string]readmodel.Machine{"m1": machine("a", "m1",
				readmodel.MachineProduct{ProductID: "p1", Quantity: 2, ParLevel: ptr(40), LowStockLimit: 3},
				readmodel.MachineProduct{ProductID: "p2", Quantity: 5, ParLevel: ptr(20), LowStockLimit: 2})}},
		demand: map[string]map[forecast.SlotKey]float64{"a": {{Machine: "m1", Product: "p1"}: 2}},
	}
	cs, err := route.CandidatesAt(context.Background(), src, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || len(cs[0].Machines) != 1 || len(cs[0].Machines[0].Slots) != 2 {
		t.Fatalf("candidates = %+v, want site a with m1's two slots", cs)
	}
	p1, p2 := cs[0].Machines[0].Slots[0], cs[0].Machines[0].Slots[1]
	if p1.DemandPerDay == nil || *p1.DemandPerDay != 2 || p1.FillTarget != 21 || p1.FillRule != hqapi.FillDemand {
		t.Fatalf("p1 = %+v, want demand 2/day, target 21, rule DEMAND", p1)
	}
	if n, rule := p1.FillNeed(); n != 19 || rule != hqapi.FillDemand {
		t.Fatalf("p1 fill need = %d %s, want 19 DEMAND", n, rule)
	}
	if n, rule := p2.FillNeed(); n != 15 || rule != hqapi.FillPar || p2.DemandPerDay != nil {
		t.Fatalf("p2 fill need = %d %s (%+v), want 15 PAR without demand", n, rule, p2)
	}
}
