package sale

import (
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/wire"
)

// Reservations tells the sale rules how many units of a machine's product
// are held for pre-orders (edge/order). It is called inside the writer's
// transaction only.
type Reservations interface {
	Reserved(machineID, productID string) int64
}

// SetReservations makes walk-up sales respect res: units held for
// pre-orders are not sold to anyone else. Call it before the writer opens.
func (r *Rules) SetReservations(res Reservations) { r.reserved = res }

// checkReserved refuses a walk-up sale that would take units held for a
// pre-order: 409 STOCK_RESERVED, naming what is left to sell.
func (r *Rules) checkReserved(s *sale, slot *stock.Slot) error {
	if r.reserved == nil {
		return nil
	}
	held := r.reserved.Reserved(slot.MachineID, slot.ProductID)
	if held <= 0 {
		return nil
	}
	if free := max(0, slot.Qty-held); s.qty > free {
		return errs.Errorf(errs.Conflict, "STOCK_RESERVED", "quantity",
			"%d of the %d units of %q in machine %q are reserved for pre-orders; %d can be sold",
			held, slot.Qty, slot.ProductID, slot.MachineID, free)
	}
	return nil
}

// RecordPrepaid records a sale inside t for units handed over against a
// payment taken beforehand (a pre-order's pickup): the amount is what the
// customer paid, so it is not checked against the slot's price, and the
// units are the order's own reservation, already released by the caller.
// It returns the same errors as Record for a sale it refuses.
//
// Its payment method is PREPAID: the money was taken through the gateway
// at central (the order's payment, refunded there if the order is not
// picked up), so the site's payments ledger keeps no row for it and the
// machine's accepted methods do not apply.
func (r *Rules) RecordPrepaid(t *ingest.Tx, in In) (Result, error) {
	name := in.PaymentMethod
	in.PaymentMethod = string(wire.Cash) // passes the walk-up method checks, replaced below
	s, err := r.checkSale(in, t.Now())
	if err != nil {
		return Result{}, err
	}
	s.in.PaymentMethod, s.method, s.prepaid = name, wire.Gateway, true
	s.hash = hash(s.in.TransactionID, s.in.MachineID, s.in.ProductID, s.qty, s.amount, name, s.at)
	return r.record(t, &s)
}
