package order_test

import (
	"reflect"
	"testing"

	"github.com/vendsync/vendsync/edge/order"
	"github.com/vendsync/vendsync/sync/envelope"
)

// shelf is a machine's free units, substitutes and prices.
func shelf(free map[string]int64, subs map[string][]string) order.Shelf {
	return order.Shelf{
		Free: func(p string) (int64, bool) {
			n, ok := free[p]
			return n, ok
		},
		Substitutes: func(p string) []string { return subs[p] },
		Price:       func(string) int64 { return 150 },
	}
}

func TestPlanOffer(t *testing.T) {
	cola := func(q, amt int64) envelope.OrderLine {
		return envelope.OrderLine{ProductID: "cola", Quantity: q, AmountCents: amt}
	}
	subs := map[string][]string{"cola": {"zero", "pepsi"}}
	tests := []struct {
		name   string
		lines  []envelope.OrderLine
		free   map[string]int64
		subs   map[string][]string
		offers []envelope.SubstituteOffer
		reject string
	}{
		{name: "enough of the product: no offer", lines: []envelope.OrderLine{cola(2, 400)},
			free: map[string]int64{"cola": 2, "zero": 5}, subs: subs},
		{name: "out: the first substitute with enough", lines: []envelope.OrderLine{cola(2, 400)},
			free: map[string]int64{"cola": 0, "zero": 5, "pepsi": 5}, subs: subs,
			offers: []envelope.SubstituteOffer{{Line: 0, ProductID: "cola", SubstituteID: "zero", Quantity: 2, AmountCents: 400, ListPriceCents: 300}}},
		{name: "first substitute short: the next", lines: []envelope.OrderLine{cola(2, 400)},
			free: map[string]int64{"cola": 0, "zero": 1, "pepsi": 2}, subs: subs,
			offers: []envelope.SubstituteOffer{{Line: 0, ProductID: "cola", SubstituteID: "pepsi", Quantity: 2, AmountCents: 400, ListPriceCents: 300}}},
		{name: "not stocked at all: a substitute", lines: []envelope.OrderLine{cola(1, 200)},
			free: map[string]int64{"pepsi": 2}, subs: subs,
			offers: []envelope.SubstituteOffer{{Line: 0, ProductID: "cola", SubstituteID: "pepsi", Quantity: 1, AmountCents: 200, ListPriceCents: 150}}},
		{name: "partial: the missing units only, paid share rounded to the substitute", lines: []envelope.OrderLine{cola(3, 500)},
			free: map[string]int64{"cola": 1, "zero": 2}, subs: subs,
			offers: []envelope.SubstituteOffer{{Line: 0, ProductID: "cola", SubstituteID: "zero", Quantity: 2, KeptQuantity: 1, AmountCents: 334, ListPriceCents: 300}}},
		{name: "no substitute configured", lines: []envelope.OrderLine{cola(2, 400)},
			free: map[string]int64{"cola": 1, "zero": 5}, reject: "OUT_OF_STOCK: 1 of cola free in machine M1, 2 ordered"},
		{name: "every substitute short", lines: []envelope.OrderLine{cola(3, 600)},
			free: map[string]int64{"cola": 0, "zero": 2, "pepsi": 1}, subs: subs, reject: "OUT_OF_STOCK: 0 of cola free in machine M1, 3 ordered"},
		{name: "not stocked, no substitute", lines: []envelope.OrderLine{cola(1, 200)},
			free: map[string]int64{}, subs: subs, reject: "OUT_OF_STOCK: cola is not stocked in machine M1"},
		{name: "a substitute already in the order is skipped", lines: []envelope.OrderLine{cola(1, 200), {ProductID: "zero", Quantity: 1, AmountCents: 200}},
			free: map[string]int64{"cola": 0, "zero": 5, "pepsi": 1}, subs: subs,
			offers: []envelope.SubstituteOffer{{Line: 0, ProductID: "cola", SubstituteID: "pepsi", Quantity: 1, AmountCents: 200, ListPriceCents: 150}}},
		{name: "one substitute serves one line only", lines: []envelope.OrderLine{cola(1, 200), {ProductID: "fanta", Quantity: 1, AmountCents: 200}},
			free: map[string]int64{"zero": 5}, subs: map[string][]string{"cola": {"zero"}, "fanta": {"zero"}},
			reject: "OUT_OF_STOCK: fanta is not stocked in machine M1"},
		{name: "a short line with no substitute rejects the whole order", lines: []envelope.OrderLine{cola(1, 200), {ProductID: "chips", Quantity: 2, AmountCents: 300}},
			free: map[string]int64{"zero": 5, "chips": 1}, subs: subs, reject: "OUT_OF_STOCK: 1 of chips free in machine M1, 2 ordered"},
		{name: "negative free counts as none", lines: []envelope.OrderLine{cola(1, 200)},
			free: map[string]int64{"cola": -2, "zero": 1}, subs: subs,
			offers: []envelope.SubstituteOffer{{Line: 0, ProductID: "cola", SubstituteID: "zero", Quantity: 1, AmountCents: 200, ListPriceCents: 150}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			offers, reject := order.PlanOffer("M1", tc.lines, shelf(tc.free, tc.subs))
			if reject != tc.reject {
				t.Fatalf("reject %q, want %q", reject, tc.reject)
			}
			if !reflect.DeepEqual(offers, tc.offers) {
				t.Fatalf("offers %+v, want %+v", offers, tc.offers)
			}
		})
	}
}

func TestSubstituted(t *testing.T) {
	lines := []envelope.OrderLine{{ProductID: "chips", Quantity: 1, AmountCents: 100}, {ProductID: "cola", Quantity: 3, AmountCents: 500}}
	s := &envelope.Substitution{Lines: []envelope.SubstituteOffer{{Line: 1, ProductID: "cola", SubstituteID: "zero", Quantity: 2, KeptQuantity: 1, AmountCents: 334}}}
	got, refund := order.Substituted(lines, s, true)
	want := []envelope.OrderLine{lines[0], {ProductID: "cola", Quantity: 1, AmountCents: 166}, {ProductID: "zero", Quantity: 2, AmountCents: 334}}
	if !reflect.DeepEqual(got, want) || refund != 0 {
		t.Fatalf("accepted: %+v refund %d, want %+v and 0", got, refund, want)
	}
	got, refund = order.Substituted(lines, s, false)
	want = []envelope.OrderLine{lines[0], {ProductID: "cola", Quantity: 1, AmountCents: 166}}
	if !reflect.DeepEqual(got, want) || refund != 334 {
		t.Fatalf("refused: %+v refund %d, want %+v and 334", got, refund, want)
	}
	whole := &envelope.Substitution{Lines: []envelope.SubstituteOffer{{Line: 0, ProductID: "chips", SubstituteID: "nuts", Quantity: 1, AmountCents: 100}}}
	if got, refund := order.Substituted(lines[:1], whole, false); len(got) != 0 || refund != 100 {
		t.Fatalf("refused whole line: %+v refund %d, want no line and 100", got, refund)
	}
}
