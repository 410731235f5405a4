package stock

import (
	"fmt"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// ReasonRefund is the reason of a stock movement that puts back the units
// of a refunded sale whose goods were never dispensed.
const ReasonRefund = "REFUND"

// Return puts qty units of product back into machine for a refunded sale
// whose goods never left it (ref names the refund), inside t: the count
// goes up (at most to wire.MaxQuantity), the movement goes up to central
// and the stock alerts follow. It returns the count after, and false when
// the machine no longer stocks the product (nothing to put back into).
func (r *Rules) Return(t *ingest.Tx, machineID, productID string, qty int64, ref, by string) (int64, bool, error) {
	s := r.slots[slotKey{machineID, productID}]
	if s == nil || qty <= 0 {
		return 0, false, nil
	}
	after := min(s.Qty+qty, wire.MaxQuantity)
	delta := after - s.Qty
	if _, err := t.Exec(r.setQty, after, t.Now().UnixMilli(), machineID, productID); err != nil {
		return 0, false, fmt.Errorf("update stock: %w", err)
	}
	s.Qty = after
	// The movement goes up as an event; the site's stock_movements table
	// holds restock visits only (its reasons are fixed by 0003), so the
	// refund itself (payment_history) is the local record.
	if _, err := t.Emit(envelope.KindStock, t.Now(), envelope.StockMovement{MovementID: ref, MachineID: machineID, ProductID: productID,
		Reason: ReasonRefund, Delta: delta, After: after, By: by}); err != nil {
		return 0, false, err
	}
	if err := t.Audit("inventory", machineID+"/"+productID, "REFUND_RETURN", by,
		map[string]any{"refund": ref, "returned": delta, "after": after}); err != nil {
		return 0, false, err
	}
	return after, true, r.alerts.CheckStock(t, s.alertSlot(), "REFUND")
}
