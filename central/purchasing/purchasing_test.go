package purchasing_test

import (
	"testing"

	"github.com/vendsync/vendsync/central/purchasing"
	"github.com/vendsync/vendsync/internal/errs"
)

// Three lots received in order: 10 at 1.00, 20 at 1.20, 5 at 1.50 (35
// units, 4150 cents; average 118.5714… cents).
var lots = []purchasing.Layer{{Quantity: 10, UnitCost: 100}, {Quantity: 20, UnitCost: 120}, {Quantity: 5, UnitCost: 150}}

func TestFIFO_ValuesTheNewestLotsLeft(t *testing.T) {
	tests := []struct {
		name   string
		onHand int64
		layers []purchasing.Layer
		want   purchasing.Value
	}{
		{"all on hand", 35, lots, purchasing.Value{Cents: 10*100 + 20*120 + 5*150}},
		{"newest lot only", 5, lots, purchasing.Value{Cents: 5 * 150}},
		{"across two lots", 12, lots, purchasing.Value{Cents: 5*150 + 7*120}}, // 23 sold: all of lot 1, 13 of lot 2
		{"across three lots", 30, lots, purchasing.Value{Cents: 5*150 + 20*120 + 5*100}},
		{"more than received", 40, lots, purchasing.Value{Cents: 4150, Uncosted: 5}},
		{"nothing on hand", 0, lots, purchasing.Value{}},
		{"no lots", 7, nil, purchasing.Value{Uncosted: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := purchasing.FIFO(tt.onHand, tt.layers); got != tt.want {
				t.Fatalf("FIFO(%d) = %+v, want %+v", tt.onHand, got, tt.want)
			}
		})
	}
}

func TestWeightedAverage_ValuesAtTheMeanCost(t *testing.T) {
	tests := []struct {
		name   string
		onHand int64
		want   purchasing.Value
	}{
		{"all", 35, purchasing.Value{Cents: 4150}},
		{"seven", 7, purchasing.Value{Cents: 830}},    // 7 × 4150/35 = 830
		{"twelve", 12, purchasing.Value{Cents: 1423}}, // 12 × 118.5714 = 1422.86 → 1423
		{"more than received", 36, purchasing.Value{Cents: 4150, Uncosted: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := purchasing.WeightedAverage(tt.onHand, lots); got != tt.want {
				t.Fatalf("WeightedAverage(%d) = %+v, want %+v", tt.onHand, got, tt.want)
			}
		})
	}
}

func TestSuggest_DemandOverLeadTimeRoundedToCases(t *testing.T) {
	tests := []struct {
		name string
		need purchasing.Need
		want int64
	}{
		{"covers lead time and safety", purchasing.Need{DailyDemand: 2, LeadTimeDays: 7, SafetyDays: 3, CasePack: 1}, 20},
		{"less on hand and on order", purchasing.Need{DailyDemand: 2, LeadTimeDays: 7, SafetyDays: 3, OnHand: 5, OnOrder: 6, CasePack: 1}, 9},
		{"rounded up to a case", purchasing.Need{DailyDemand: 2, LeadTimeDays: 7, SafetyDays: 3, OnHand: 5, OnOrder: 6, CasePack: 12}, 12},
		{"fraction rounds up", purchasing.Need{DailyDemand: 0.15, LeadTimeDays: 5, CasePack: 1}, 1},
		{"enough already", purchasing.Need{DailyDemand: 2, LeadTimeDays: 7, SafetyDays: 3, OnHand: 20, CasePack: 6}, 0},
		{"no demand", purchasing.Need{LeadTimeDays: 7, CasePack: 6}, 0},
		{"two cases", purchasing.Need{DailyDemand: 3, LeadTimeDays: 4, CasePack: 6}, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := purchasing.Suggest(tt.need); got != tt.want {
				t.Fatalf("Suggest(%+v) = %d, want %d", tt.need, got, tt.want)
			}
		})
	}
}

func TestTransitions_NameTheState(t *testing.T) {
	type step func(string, purchasing.Status) (purchasing.Status, error)
	tests := []struct {
		name string
		do   step
		from purchasing.Status
		to   purchasing.Status
		ok   bool
	}{
		{"send draft", purchasing.Send, purchasing.Draft, purchasing.Sent, true},
		{"send sent", purchasing.Send, purchasing.Sent, purchasing.Sent, false},
		{"cancel draft", purchasing.Cancel, purchasing.Draft, purchasing.Cancelled, true},
		{"cancel partial", purchasing.Cancel, purchasing.PartiallyReceived, purchasing.Cancelled, true},
		{"cancel received", purchasing.Cancel, purchasing.Received, purchasing.Received, false},
		{"cancel cancelled", purchasing.Cancel, purchasing.Cancelled, purchasing.Cancelled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.do("PO-1", tt.from)
			if got != tt.to || (err == nil) != tt.ok {
				t.Fatalf("= %s, %v; want %s, ok %v", got, err, tt.to, tt.ok)
			}
			if err != nil {
				e, _ := errs.As(err)
				if e.Code != purchasing.CodeState || e.Kind != errs.Conflict {
					t.Fatalf("error %+v", e)
				}
			}
		})
	}
	if err := purchasing.CanReceive("PO-1", purchasing.Draft); err == nil {
		t.Fatal("a draft can be received")
	}
	if got := purchasing.AfterReceipt([]purchasing.Line{{Quantity: 5, Received: 5}, {Quantity: 3, Received: 1}}); got != purchasing.PartiallyReceived {
		t.Fatalf("AfterReceipt partial = %s", got)
	}
	if got := purchasing.AfterReceipt([]purchasing.Line{{Quantity: 5, Received: 5}}); got != purchasing.Received {
		t.Fatalf("AfterReceipt full = %s", got)
	}
}
