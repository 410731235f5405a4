package stock

import (
	"context"
	"fmt"
	"strings"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/lot"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// ReleaseLots records a driver's check of a machine after a temperature
// lockout: action RELEASE makes its held lots (all, or those in lotIDs)
// sellable again, DISCARD removes them as spoiled (an EXPIRED stock
// movement per product, with the lots' costs); audited as done by by.
// TEMPERATURE_LOCKOUT closes when no held lot is left. It returns an
// errs.Invalid error for a bad action or lot id, 404 NOT_FOUND for an
// unknown machine, 409 MACHINE_DECOMMISSIONED.
func (r *Rules) ReleaseLots(ctx context.Context, machineID, action string, lotIDs []int64, notes, by string) ([]lot.Released, error) {
	action = strings.ToUpper(action)
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) ([]lot.Released, error) {
		if _, err := r.machines.Find(machineID); err != nil {
			return nil, err
		}
		out, err := r.lots.Release(t, machineID, action, lotIDs, by)
		if err != nil {
			return nil, err
		}
		if err := t.Audit("machine", machineID, "LOTS_"+action, by, map[string]any{"lots": out, "notes": notes}); err != nil {
			return nil, err
		}
		if action != lot.ActionDiscard {
			return out, nil
		}
		gone := map[string]int64{}
		var order []string
		for _, l := range out {
			if gone[l.ProductID] == 0 {
				order = append(order, l.ProductID)
			}
			gone[l.ProductID] += l.Qty
		}
		for _, pid := range order {
			s := r.slots[slotKey{machineID, pid}]
			if s == nil {
				return nil, errs.Errorf(errs.Internal, "NO_SLOT", "", "held lot of %q on %q without a slot", pid, machineID)
			}
			s.Qty = max(0, s.Qty-gone[pid])
			if _, err := t.Exec(r.setQty, s.Qty, t.Now().UnixMilli(), machineID, pid); err != nil {
				return nil, fmt.Errorf("update stock: %w", err)
			}
			if _, err := t.Emit(envelope.KindStock, t.Now(), envelope.StockMovement{MovementID: fmt.Sprintf("discard:%s:%d", machineID, t.Now().UnixMilli()),
				MachineID: machineID, ProductID: pid, Reason: ReasonExpired, Delta: -gone[pid], After: s.Qty, By: by}); err != nil {
				return nil, err
			}
			if err := r.deriveExpiry(t, s, s.Expiry, "DISCARD", by); err != nil {
				return nil, err
			}
			if err := r.alerts.CheckStock(t, s.alertSlot(), "DISCARD"); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}
