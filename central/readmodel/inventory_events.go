package readmodel

import (
	"context"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
)

// Site stock events become machine movements in the ledger; a RESTOCK
// that names a van also takes its units out of the van. Both are keyed by
// the event (site and sequence), so a redelivered or rebuilt event records
// nothing twice, however late an offline site sends it.

// movementTypeOf maps an edge stock reason to its ledger type; ok is
// false for reasons that move nothing (a VISIT).
func movementTypeOf(reason string) (MovementType, bool) {
	switch reason {
	case "RESTOCK":
		return MoveRestock, true
	case "EXPIRED":
		return MoveExpired, true
	case "DAMAGED":
		return MoveDamaged, true
	case "COUNT":
		return MoveCountAdjustment, true
	}
	return "", false
}

// ledgerFromEvent records the movements of a site's stock event. The
// caller holds s.mu inside the apply transaction.
func (k *sqliteSink) ledgerFromEvent(ctx context.Context, site string, f aggregate.Fact, c *aggregate.StockCount) error {
	mv := c.Movement
	if mv == nil || mv.Delta == 0 {
		return nil
	}
	typ, ok := movementTypeOf(mv.Reason)
	if !ok {
		return nil
	}
	tx := &InventoryTx{s: k.s, now: time.UnixMilli(k.now)}
	by := mv.By
	if by == "" {
		by = "site:" + site
	}
	key := fmt.Sprintf("evt:%s:%d", site, f.Seq)
	ref := mv.MovementID
	if mv.VanID != "" {
		ref = "van:" + mv.VanID + " " + ref
	}
	if _, _, err := tx.insert(ctx, MovementIn{Key: key, Kind: LocationMachine, LocationID: mv.MachineID, ProductID: mv.ProductID,
		Type: typ, Quantity: mv.Delta, Ref: ref, By: by, At: f.Time}, site); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if mv.VanID == "" || typ != MoveRestock || mv.Delta < 0 {
		return nil
	}
	// The units are in the machine already: the van gives them up even
	// when central thought it held fewer (the balance then shows the gap).
	if _, _, err := tx.insert(ctx, MovementIn{Key: key + ":van", Kind: LocationVan, LocationID: mv.VanID, ProductID: mv.ProductID,
		Type: MoveTransferOut, Quantity: -mv.Delta, Ref: fmt.Sprintf("%s:%d", site, f.Seq),
		Reason: "restock of machine " + mv.MachineID + " at site " + site, By: by, At: f.Time, AllowNegative: true}, ""); err != nil {
		return fmt.Errorf("ledger: van: %w", err)
	}
	return nil
}
