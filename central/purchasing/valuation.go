package purchasing

// Layer is a quantity received at one unit cost, in the order received.
type Layer struct {
	Quantity int64
	UnitCost int64 // cents
}

// Value is a valued quantity: Cents for the part a cost layer covers, and
// Uncosted units no layer covers (valued by the caller at a standard cost).
type Value struct {
	Cents    int64
	Uncosted int64
}

// FIFO values onHand units first-in-first-out: the units sold or moved out
// were the oldest, so what is left is the newest layers. layers are oldest
// first.
func FIFO(onHand int64, layers []Layer) Value {
	left := onHand
	var v Value
	for i := len(layers) - 1; i >= 0 && left > 0; i-- {
		q := min(left, layers[i].Quantity)
		v.Cents += q * layers[i].UnitCost
		left -= q
	}
	v.Uncosted = max(left, 0)
	return v
}

// WeightedAverage values onHand units at the average unit cost of every
// layer received (rounded to the cent on the total).
func WeightedAverage(onHand int64, layers []Layer) Value {
	var qty, cost int64
	for _, l := range layers {
		qty += l.Quantity
		cost += l.Quantity * l.UnitCost
	}
	if qty == 0 || onHand <= 0 {
		return Value{Uncosted: max(onHand, 0)}
	}
	covered := min(onHand, qty)
	v := Value{Cents: (cost*covered*2 + qty) / (qty * 2), Uncosted: onHand - covered}
	return v
}
