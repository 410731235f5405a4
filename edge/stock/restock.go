package stock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// RestockIn is one restock visit to one machine (POST /machines/{id}/restock).
// MovementID is chosen by the client and is the visit's idempotency key.
// SiteID, when given, must be this edge's site: a visit queued at one site
// is never applied to another site's machine of the same id. PerformedAt
// (RFC 3339, default: when the edge receives it) is when the driver did the
// visit; a count is applied as of that time.
type RestockIn struct {
	MovementID  string        `json:"movementId"`
	SiteID      string        `json:"siteId,omitempty"`
	PerformedAt string        `json:"performedAt,omitempty"`
	Items       []RestockItem `json:"items"`
	// VanID, when given, is the driver's van the added units came from:
	// central deducts them from the van when the restock reaches it.
	VanID string `json:"vanId,omitempty"`
}

// RestockItem is what a driver did to one product of the machine. Removals
// apply first, then the units added; CountedQuantity, when given, is the shelf
// count after the visit and corrects the stock last.
type RestockItem struct {
	ProductID       string `json:"productId"`
	Added           *int64 `json:"added,omitempty"`
	RemovedExpired  *int64 `json:"removedExpired,omitempty"`
	RemovedDamaged  *int64 `json:"removedDamaged,omitempty"`
	CountedQuantity *int64 `json:"countedQuantity,omitempty"`
	// ExpiryDate (YYYY-MM-DD) is the expiry of the units added.
	ExpiryDate string `json:"expiryDate,omitempty"`
}

// Stock movement reasons.
const (
	ReasonRestock = "RESTOCK"
	ReasonExpired = "EXPIRED"
	ReasonDamaged = "DAMAGED"
	ReasonCount   = "COUNT"
	// ReasonVisit records an item the driver touched without changing its
	// count (say, only its expiry date), so the visit's id is remembered.
	ReasonVisit = "VISIT"
)

// StockLine is one recorded stock movement of a restock.
type StockLine struct {
	Line      int    `json:"line"`
	ProductID string `json:"productId"`
	Reason    string `json:"reason"`
	Delta     int64  `json:"delta"`
	After     int64  `json:"after"`
	Sequence  uint64 `json:"sequence"`
}

// RestockResult is the answer to a restock; a replay gets the same one.
type RestockResult struct {
	MovementID string      `json:"movementId"`
	MachineID  string      `json:"machineId"`
	Lines      []StockLine `json:"lines"`
	Replayed   bool        `json:"-"`
}

// MaxRestockItems bounds the products in one restock.
const MaxRestockItems = 1000

// visit is a checked restock: its body hash and when it was performed.
type visit struct {
	hash []byte
	at   time.Time
	// asOf is set when the client gave performedAt: counts are then
	// applied as of that time.
	asOf bool
}

func (r *Rules) checkRestock(machineID string, in RestockIn) (visit, error) {
	var v visit
	if err := check.ID("movementId", in.MovementID); err != nil {
		return v, err
	}
	if in.SiteID != "" {
		if err := check.ID("siteId", in.SiteID); err != nil {
			return v, err
		}
		if site := r.w.Site().ID; in.SiteID != site {
			return v, errs.Errorf(errs.Conflict, "SITE_MISMATCH", "siteId",
				"this visit was recorded for site %q; this edge is site %q", in.SiteID, site)
		}
	}
	now := r.w.Now()
	v.at = now
	if in.PerformedAt != "" {
		at, err := check.Timestamp("performedAt", in.PerformedAt, now, r.cfg.MaxClockSkew)
		if err != nil {
			return v, err
		}
		if at.Before(now.Add(-r.cfg.MaxVisitAge)) {
			return v, errs.Invalidf("performedAt", "performedAt %s is more than %s before the edge's clock; record the visit again with a new count",
				in.PerformedAt, r.cfg.MaxVisitAge)
		}
		v.at, v.asOf = at, true
	}
	if len(in.Items) == 0 {
		return v, errs.Invalidf("items", "items must hold at least one product")
	}
	if len(in.Items) > MaxRestockItems {
		return v, errs.Invalidf("items", "items holds %d products; at most %d per restock", len(in.Items), MaxRestockItems)
	}
	if in.VanID != "" {
		if err := check.ID("vanId", in.VanID); err != nil {
			return v, err
		}
	}
	seen := map[string]bool{}
	for i, it := range in.Items {
		f := func(name string) string { return fmt.Sprintf("items[%d].%s", i, name) }
		if err := check.ID(f("productId"), it.ProductID); err != nil {
			return v, err
		}
		if seen[it.ProductID] {
			return v, errs.Invalidf(f("productId"), "product %q appears twice; give one line per product", it.ProductID)
		}
		seen[it.ProductID] = true
		if err := check.First(check.Count(f("added"), it.Added, wire.MaxQuantity), check.Count(f("removedExpired"), it.RemovedExpired, wire.MaxQuantity),
			check.Count(f("removedDamaged"), it.RemovedDamaged, wire.MaxQuantity), check.Count(f("countedQuantity"), it.CountedQuantity, wire.MaxQuantity),
			check.Date(f("expiryDate"), it.ExpiryDate)); err != nil {
			return v, err
		}
		if val(it.Added) == 0 && val(it.RemovedExpired) == 0 && val(it.RemovedDamaged) == 0 && it.CountedQuantity == nil && it.ExpiryDate == "" {
			return v, errs.Invalidf(f("productId"), "nothing to record for product %q: give added, removedExpired, removedDamaged, countedQuantity or expiryDate", it.ProductID)
		}
	}
	// The hash covers the machine and the normalized body: the same key for
	// another machine or other quantities is a conflict, not a replay. The
	// site and time are left out when absent, so a visit recorded before
	// they existed still replays.
	b, _ := json.Marshal(struct {
		M string
		I []RestockItem
		S string `json:",omitempty"`
		P string `json:",omitempty"`
		V string `json:",omitempty"`
	}{machineID, in.Items, in.SiteID, in.PerformedAt, in.VanID})
	h := sha256.Sum256(b)
	v.hash = h[:]
	return v, nil
}

func vanOf(v any) string {
	s, _ := v.(string)
	return s
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Restock records a restock visit to a machine in one transaction: per
// product, the units removed as expired or damaged, the units added and an
// optional shelf count, each as a stock movement (outbox event, audit row)
// with stock alerts re-evaluated; a count closes INVENTORY_MISMATCH.
//
// It returns an *errs.Error for bad input (Invalid, naming the field), an
// unknown machine (NOT_FOUND) or product (Unprocessable UNKNOWN_PRODUCT), a
// removal larger than the stock (Invalid), a decommissioned machine
// (Conflict MACHINE_DECOMMISSIONED), or a movementId already used with a
// different body (Conflict IDEMPOTENCY_CONFLICT). A replay of the same body
// returns the first result with Replayed set and changes nothing.
func (r *Rules) Restock(ctx context.Context, machineID string, in RestockIn, by string) (RestockResult, error) {
	if err := check.ID("machineId", machineID); err != nil {
		return RestockResult{}, err
	}
	v, err := r.checkRestock(machineID, in)
	if err != nil {
		return RestockResult{}, err
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (RestockResult, error) { return r.restock(t, machineID, in, v, by) })
}

const (
	findMovement = `SELECT line, machine_id, product_id, reason, delta, after, seq, body_hash FROM stock_movements
		WHERE movement_id = ? ORDER BY line`
	// soldSince is the units of a product a machine sold after a time.
	soldSince      = `SELECT COALESCE(SUM(quantity), 0) FROM sales_events WHERE machine_id = ? AND product_id = ? AND event_time > ?`
	insertMovement = `INSERT INTO stock_movements (movement_id, line, machine_id, product_id, reason, delta, after, performed_by, performed_at, body_hash, seq, van_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// findRestock answers a movement id seen before: the same body is a replay,
// a different one a conflict. ok is false for a new movement id.
func (r *Rules) findRestock(t *ingest.Tx, id string, hash []byte) (res RestockResult, ok bool, err error) {
	rows, err := t.Query(r.findMovement, id)
	if err != nil {
		return res, false, fmt.Errorf("find movement: %w", err)
	}
	defer rows.Close()
	res = RestockResult{MovementID: id, Lines: []StockLine{}, Replayed: true}
	for rows.Next() {
		var l StockLine
		var h []byte
		if err := rows.Scan(&l.Line, &res.MachineID, &l.ProductID, &l.Reason, &l.Delta, &l.After, &l.Sequence, &h); err != nil {
			return res, false, fmt.Errorf("find movement: %w", err)
		}
		if !bytes.Equal(h, hash) {
			return res, true, errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", "movementId",
				"movement %q was already recorded with a different body", id)
		}
		ok = true
		res.Lines = append(res.Lines, l)
	}
	if err := rows.Err(); err != nil {
		return res, false, fmt.Errorf("find movement: %w", err)
	}
	return res, ok, nil
}

type plannedLine struct {
	reason       string
	delta, after int64
}

func (r *Rules) restock(t *ingest.Tx, machineID string, in RestockIn, v visit, by string) (RestockResult, error) {
	hash := v.hash
	if prev, ok, err := r.findRestock(t, in.MovementID, hash); err != nil || ok {
		return prev, err
	}
	if _, err := r.machines.Find(machineID); err != nil {
		return RestockResult{}, err
	}
	// Plan every line against the current view before writing anything, so
	// a bad line rejects the whole visit.
	type planned struct {
		it        *Slot
		before    int64
		next      Slot
		lines     []plannedLine
		soldSince int64
	}
	plans := make([]planned, 0, len(in.Items))
	for i, ri := range in.Items {
		it := r.slots[slotKey{machineID, ri.ProductID}]
		if it == nil {
			return RestockResult{}, errs.Errorf(errs.Unprocessable, "UNKNOWN_PRODUCT", fmt.Sprintf("items[%d].productId", i),
				"machine %q has no product %q", machineID, ri.ProductID)
		}
		p := planned{it: it, before: it.Qty, next: *it}
		qty := it.Qty
		removed := val(ri.RemovedExpired) + val(ri.RemovedDamaged)
		if removed > qty {
			field := "removedExpired"
			if val(ri.RemovedDamaged) > 0 {
				field = "removedDamaged"
			}
			return RestockResult{}, errs.Invalidf(fmt.Sprintf("items[%d].%s", i, field),
				"cannot remove %d units of %q: the machine holds %d", removed, ri.ProductID, qty)
		}
		add := func(reason string, delta int64) {
			qty += delta
			p.lines = append(p.lines, plannedLine{reason: reason, delta: delta, after: qty})
		}
		if n := val(ri.RemovedExpired); n > 0 {
			add(ReasonExpired, -n)
		}
		if n := val(ri.RemovedDamaged); n > 0 {
			add(ReasonDamaged, -n)
		}
		if n := val(ri.Added); n > 0 {
			if qty+n > wire.MaxQuantity {
				return RestockResult{}, errs.Invalidf(fmt.Sprintf("items[%d].added", i), "adding %d units of %q would hold %d, more than %d", n, ri.ProductID, qty+n, wire.MaxQuantity)
			}
			add(ReasonRestock, n)
		}
		if ri.CountedQuantity != nil {
			// The count is the shelf at v.at: what the machine sold since
			// then has left the shelf too.
			counted := *ri.CountedQuantity
			if v.asOf {
				var sold int64
				if err := t.QueryRow(r.soldSince, machineID, ri.ProductID, v.at.UnixMilli()).Scan(&sold); err != nil {
					return RestockResult{}, fmt.Errorf("sales since the count: %w", err)
				}
				p.soldSince = sold
				counted = max(0, counted-sold)
			}
			add(ReasonCount, counted-qty)
		}
		if len(p.lines) == 0 {
			add(ReasonVisit, 0)
		}
		// The slot's expiry is its earliest one: new units' date unless
		// older units that expire sooner are still in it.
		if ri.ExpiryDate != "" {
			left := it.Qty - removed
			if left <= 0 || it.Expiry == "" || ri.ExpiryDate < it.Expiry {
				p.next.Expiry = ri.ExpiryDate
			}
		}
		p.next.Qty = qty
		plans = append(plans, p)
	}

	res := RestockResult{MovementID: in.MovementID, MachineID: machineID, Lines: []StockLine{}}
	line := 0
	for i, p := range plans {
		product := p.it.ProductID
		if _, err := t.Exec(r.restockSlot, p.next.Qty, nullable(p.next.Expiry), t.Now().UnixMilli(), machineID, product); err != nil {
			return RestockResult{}, fmt.Errorf("update stock: %w", err)
		}
		expiryChanged := p.next.Expiry != p.it.Expiry
		*p.it = p.next
		for _, l := range p.lines {
			line++
			mvID := fmt.Sprintf("%s:%d", in.MovementID, line)
			var van any // only added units come from the van
			if l.reason == ReasonRestock && in.VanID != "" {
				van = in.VanID
			}
			seq, err := t.Emit(envelope.KindStock, v.at, envelope.StockMovement{MovementID: mvID, MachineID: machineID, ProductID: product,
				Reason: l.reason, Delta: l.delta, After: l.after, By: by, VanID: vanOf(van)})
			if err != nil {
				return RestockResult{}, err
			}
			if _, err := t.Exec(r.insertMovement, in.MovementID, line, machineID, product, l.reason, l.delta, l.after,
				by, v.at.UnixMilli(), hash, seq, van); err != nil {
				return RestockResult{}, fmt.Errorf("insert stock movement: %w", err)
			}
			res.Lines = append(res.Lines, StockLine{Line: line, ProductID: product, Reason: l.reason, Delta: l.delta, After: l.after, Sequence: seq})
		}
		detail := map[string]any{"movementId": in.MovementID, "item": in.Items[i], "before": p.before, "after": p.next.Qty}
		if v.asOf {
			detail["performedAt"] = v.at.UTC().Format(time.RFC3339Nano)
			if in.Items[i].CountedQuantity != nil {
				detail["soldSinceCount"] = p.soldSince
			}
		}
		if err := t.Audit("inventory", machineID+"/"+product, "RESTOCK", by, detail); err != nil {
			return RestockResult{}, err
		}
		if expiryChanged {
			if err := r.inventoryEvent(t, p.it, "UPDATED", by); err != nil {
				return RestockResult{}, err
			}
		}
		if in.Items[i].CountedQuantity != nil {
			if err := alert.Counted(t, machineID, product); err != nil {
				return RestockResult{}, err
			}
		}
		if err := r.alerts.CheckStock(t, p.it.alertSlot(), ReasonRestock); err != nil {
			return RestockResult{}, err
		}
	}
	return res, nil
}
