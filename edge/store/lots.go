package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// LotRow is a lot as stored (edge/lot).
type LotRow struct {
	LotID                int64
	MachineID, ProductID string
	Code, Expiry         string
	UnitCost             sql.NullInt64
	Qty                  int64
	Status               string
	ReceivedAt           int64
}

// LotFilter selects lots: machine, product, expiring before a date
// (exclusive), status (SELLABLE, HOLD, EXPIRED as of Today, EMPTY; "":
// every lot holding units). Empty fields match all.
type LotFilter struct {
	MachineID, ProductID, ExpiringBefore, Status, Today string
	Limit                                               int
}

// Lots lists lots, first expiry first (undated last), per machine and product.
func (s *Store) Lots(ctx context.Context, f LotFilter) ([]LotRow, error) {
	return s.AppendLots(ctx, nil, f)
}

// lotsQuery is the SQL of Lots for f, at most limit rows, and its
// arguments. Its order is lots_slot's (migration 0028): the list walks the
// index, no sort.
func lotsQuery(f LotFilter, limit int) (string, []any) {
	where := []string{"1 = 1"}
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.MachineID != "" {
		add("machine_id = ?", f.MachineID)
	}
	if f.ProductID != "" {
		add("product_id = ?", f.ProductID)
	}
	if f.ExpiringBefore != "" {
		add("expiry_date <> '' AND expiry_date < ?", f.ExpiringBefore)
	}
	switch f.Status {
	case "EMPTY":
		where = append(where, "quantity = 0")
	case "EXPIRED":
		where = append(where, "quantity > 0")
		add("expiry_date <> '' AND expiry_date < ?", f.Today)
	case "":
		where = append(where, "quantity > 0")
	default:
		where = append(where, "quantity > 0")
		add("status = ?", f.Status)
	}
	return `SELECT lot_id, machine_id, product_id, lot_code, expiry_date, unit_cost_cents, quantity, status, received_at FROM lots WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY machine_id, product_id, expiry_date = '', expiry_date, lot_id LIMIT ?`, append(args, limit)
}

// AppendLots is Lots appending to dst (as AppendFaults).
func (s *Store) AppendLots(ctx context.Context, dst []LotRow, f LotFilter) ([]LotRow, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q, args := lotsQuery(f, limit)
	rows, err := s.DB.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read lots: %w", err)
	}
	defer rows.Close()
	out := dst
	if out == nil {
		out = make([]LotRow, 0, min(limit, max(16, int(s.lotsHint.Load()))))
	}
	base := len(out)
	var l LotRow // the scan's target, once on the heap per query rather than per row
	dest := []any{&l.LotID, &l.MachineID, &l.ProductID, &l.Code, &l.Expiry, &l.UnitCost, &l.Qty, &l.Status, &l.ReceivedAt}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read lots: %w", err)
		}
		out = append(out, l)
	}
	s.lotsHint.Store(int64(len(out) - base))
	return out, rows.Err()
}
