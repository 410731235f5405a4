package readmodel

import (
	"context"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
)

// ChannelChange is one sale or stock change an external sales channel
// reports at a location. ChannelID is the channel's own id for it: the
// movement is recorded once per (channel, ChannelID).
type ChannelChange struct {
	ChannelID string
	ProductID string
	Type      MovementType
	Quantity  int64
	At        time.Time
}

// ChannelStock is the stock a channel says it holds of a product at the
// location.
type ChannelStock struct {
	ProductID string
	Quantity  int64
}

// ChannelSyncIn is one POST /integration/sync.
type ChannelSyncIn struct {
	Channel    string
	Kind       LocationKind
	LocationID string
	Changes    []ChannelChange
	Stock      []ChannelStock
	By         string
}

// ChannelSync records a channel's changes as movements through the same
// rules as every other (a sale is refused with INSUFFICIENT_STOCK when the
// location holds too little, like any request: a channel's order is not a
// fact until it is fulfilled), each line on its own, idempotent by
// (channel, ChannelID), and keeps the channel's reported stock levels for
// reconciliation. Lines[i] is Changes[i]'s outcome.
func (s *Store) ChannelSync(ctx context.Context, in ChannelSyncIn) (BulkResult, error) {
	if err := checkID("channel", in.Channel); err != nil {
		return BulkResult{}, err
	}
	if len(in.Changes)+len(in.Stock) == 0 || len(in.Changes) > MaxTransferLines || len(in.Stock) > MaxTransferLines {
		return BulkResult{}, errs.Invalidf("changes", "changes and stock must hold 1 to %d lines together", 2*MaxTransferLines)
	}
	for i, st := range in.Stock {
		if err := checkID(fmt.Sprintf("stock[%d].productId", i), st.ProductID); err != nil {
			return BulkResult{}, err
		}
		if st.Quantity < 0 {
			return BulkResult{}, errs.Invalidf(fmt.Sprintf("stock[%d].quantity", i), "quantity must not be negative")
		}
	}
	res := BulkResult{RequestKey: in.Channel}
	err := s.Inventory(ctx, func(tx *InventoryTx) error {
		if err := tx.LocationExists(ctx, in.Kind, in.LocationID); err != nil {
			return err
		}
		for i, c := range in.Changes {
			o, err := tx.inLine(ctx, i, func() (LineOutcome, error) {
				if err := checkID("channelId", c.ChannelID); err != nil {
					return LineOutcome{}, err
				}
				switch c.Type {
				case MoveSale, MoveReturn, MoveCountAdjustment, MoveDamaged, MoveSpoilage, MoveExpired, MoveReceipt, MoveReservation, MoveRelease:
				default:
					return LineOutcome{}, errs.Invalidf("type", "type %q is not a channel change", c.Type)
				}
				return tx.recordLine(ctx, MovementIn{Key: "chan:" + in.Channel + ":" + c.ChannelID, Kind: in.Kind, LocationID: in.LocationID,
					ProductID: c.ProductID, Type: c.Type, Quantity: c.Quantity, Ref: "channel:" + in.Channel + ":" + c.ChannelID,
					Reason: "channel " + in.Channel, By: in.By, At: c.At})
			})
			if err != nil {
				return err
			}
			res.add(o)
		}
		for _, st := range in.Stock {
			if _, err := tx.Exec(ctx, `INSERT INTO channel_stock (channel, location_kind, location_id, product_id, quantity, reported_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, location_kind, location_id, product_id) DO UPDATE SET
				quantity = excluded.quantity, reported_at = excluded.reported_at`,
				in.Channel, string(in.Kind), in.LocationID, st.ProductID, st.Quantity, tx.now.UnixMilli()); err != nil {
				return fmt.Errorf("record channel stock: %w", err)
			}
		}
		return nil
	})
	return res, err
}

// ReconciliationLine compares what a channel last reported with the
// ledger's balance of the same product at the same location.
type ReconciliationLine struct {
	Kind       LocationKind
	LocationID string
	ProductID  string
	Channel    int64
	Ours       int64
	Difference int64 // Channel - Ours
	ReportedAt time.Time
}

// ChannelReconciliation lists, for every stock level channel reported,
// its difference from ours, differences first.
func (s *Store) ChannelReconciliation(ctx context.Context, channel string) ([]ReconciliationLine, error) {
	if err := checkID("channel", channel); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT c.location_kind, c.location_id, c.product_id, c.quantity, COALESCE(i.quantity, 0), c.reported_at
		FROM channel_stock c LEFT JOIN inventory_stock i
			ON i.location_kind = c.location_kind AND i.location_id = c.location_id AND i.product_id = c.product_id
		WHERE c.channel = ?
		ORDER BY c.quantity = COALESCE(i.quantity, 0), 1, 2, 3`, channel)
	if err != nil {
		return nil, fmt.Errorf("reconcile channel: %w", err)
	}
	defer rows.Close()
	out := []ReconciliationLine{}
	for rows.Next() {
		var l ReconciliationLine
		var k string
		var at int64
		if err := rows.Scan(&k, &l.LocationID, &l.ProductID, &l.Channel, &l.Ours, &at); err != nil {
			return nil, fmt.Errorf("reconcile channel: %w", err)
		}
		l.Kind, l.Difference, l.ReportedAt = LocationKind(k), l.Channel-l.Ours, time.UnixMilli(at).UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}
