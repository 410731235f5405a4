package store

import (
	"context"
	"fmt"
	"time"
)

// The site's stock ledger as GET /stock-movements reads it: the movements
// of restock visits (stock_movements: restock, expired, damaged,
// count_adjustment) and the sales (sales_events) as sale movements. Zero
// movements (a visit that only touched an expiry date) are left out.
const edgeLedger = `
	SELECT movement_id || ':' || line AS key, machine_id, product_id,
		CASE reason WHEN 'RESTOCK' THEN 'restock' WHEN 'EXPIRED' THEN 'expired' WHEN 'DAMAGED' THEN 'damaged'
			WHEN 'COUNT' THEN 'count_adjustment' ELSE lower(reason) END AS type,
		delta AS quantity, after, performed_by, performed_at, COALESCE(van_id, '') AS van_id, seq
	FROM stock_movements
	WHERE delta <> 0 AND (?1 = '' OR machine_id = ?1) AND (?2 = '' OR product_id = ?2)
		AND performed_at >= ?4 AND performed_at < ?5
	UNION ALL
	SELECT 'sale:' || transaction_id, machine_id, product_id, 'sale', -quantity, NULL, 'machine:' || machine_id, event_time, '', seq
	FROM sales_events
	WHERE (?1 = '' OR machine_id = ?1) AND (?2 = '' OR product_id = ?2) AND ?3 IN ('', 'sale')
		AND event_time >= ?4 AND event_time < ?5`

// StockMovement is one movement of a machine's stock at the site.
// After is the slot's count after it (nil for a sale).
type StockMovement struct {
	Key         string
	MachineID   string
	ProductID   string
	Type        string
	Quantity    int64
	After       *int64
	PerformedBy string
	PerformedAt time.Time
	VanID       string
	Seq         uint64
}

// MovementFilter selects movements; empty fields match all, zero times
// leave the range open. Limit+Offset page through them, oldest first.
type MovementFilter struct {
	MachineID, ProductID, Type string
	From, To                   time.Time
	Limit, Offset              int
}

// StockMovements lists the site's movements matching f, oldest first;
// more is true when rows follow the page.
func (s *Store) StockMovements(ctx context.Context, f MovementFilter) (out []StockMovement, more bool, err error) {
	from, to := int64(-1<<62), int64(1<<62)
	if !f.From.IsZero() {
		from = f.From.UnixMilli()
	}
	if !f.To.IsZero() {
		to = f.To.UnixMilli()
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT * FROM (`+edgeLedger+`) WHERE ?3 = '' OR type = ?3
		ORDER BY performed_at, key LIMIT ?6 OFFSET ?7`, f.MachineID, f.ProductID, f.Type, from, to, f.Limit+1, f.Offset)
	if err != nil {
		return nil, false, fmt.Errorf("list stock movements: %w", err)
	}
	defer rows.Close()
	out = []StockMovement{}
	for rows.Next() {
		var m StockMovement
		var at, seq int64
		if err := rows.Scan(&m.Key, &m.MachineID, &m.ProductID, &m.Type, &m.Quantity, &m.After, &m.PerformedBy, &at, &m.VanID, &seq); err != nil {
			return nil, false, fmt.Errorf("list stock movements: %w", err)
		}
		m.PerformedAt, m.Seq = time.UnixMilli(at).UTC(), uint64(seq)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list stock movements: %w", err)
	}
	if len(out) > f.Limit {
		return out[:f.Limit], true, nil
	}
	return out, false, nil
}
