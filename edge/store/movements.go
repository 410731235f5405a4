package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/arraypool"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/internal/tiebreak"
)

// The site's stock ledger as GET /stock-movements reads it: the movements
// of restock visits (stock_movements: restock, expired, damaged,
// count_adjustment) and the sales (sales_events) as sale movements. Zero
// movements (a visit that only touched an expiry date) are left out. Each
// side is read in (performed_at, key) order up to the end of the page, and
// StockMovements merges them: a sort of every sale is never needed. The
// visits come by time alone (stock_movements_time, migration 0026, which
// holds every column read since 0027: the table is never visited) and
// their reader orders each millisecond's lines by key (internal/tiebreak).
const visitMovements = `
	SELECT * FROM (SELECT movement_id || ':' || line AS key, machine_id, product_id,
		CASE reason WHEN 'RESTOCK' THEN 'restock' WHEN 'EXPIRED' THEN 'expired' WHEN 'DAMAGED' THEN 'damaged'
			WHEN 'COUNT' THEN 'count_adjustment' ELSE lower(reason) END AS type,
		delta AS quantity, after, performed_by, performed_at, COALESCE(van_id, '') AS van_id, seq
	FROM stock_movements
	WHERE delta <> 0 AND (?1 = '' OR machine_id = ?1) AND (?2 = '' OR product_id = ?2)
		AND performed_at >= ?4 AND performed_at < ?5)
	WHERE ?3 = '' OR type = ?3 ORDER BY performed_at`

// saleMovements reads the sales in (event_time, transaction_id) order,
// which is (performed_at, key) order for keys "sale:<transactionId>": by
// sales_events_machine_time for one machine (and its product), by
// sales_events_time otherwise ("+" keeps the planner off any other index,
// which would need a sort of all the product's sales).
func saleMovements(machine, product bool) string {
	where := "event_time >= ? AND event_time < ?"
	switch {
	case machine && product:
		where += " AND machine_id = ? AND product_id = ?"
	case machine:
		where += " AND machine_id = ?"
	case product:
		where += " AND +product_id = ?"
	}
	return `SELECT 'sale:' || transaction_id, machine_id, product_id, 'sale', -quantity, NULL, 'machine:' || machine_id, event_time, '', seq
	FROM sales_events WHERE ` + where + ` ORDER BY event_time, transaction_id LIMIT ?`
}

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
	return s.AppendStockMovements(ctx, nil, f)
}

// sideBufs keep the arrays each side of the ledger is read into before
// the merge: without them a 500-row page left ~1,000 rows of garbage.
var sideBufs arraypool.Pool[StockMovement]

// AppendStockMovements is StockMovements appending to dst (as
// AppendFaults).
func (s *Store) AppendStockMovements(ctx context.Context, dst []StockMovement, f MovementFilter) (out []StockMovement, more bool, err error) {
	from, to := int64(-1<<62), int64(1<<62)
	if !f.From.IsZero() {
		from = f.From.UnixMilli()
	}
	if !f.To.IsZero() {
		to = f.To.UnixMilli()
	}
	end := f.Offset + f.Limit + 1 // rows of the merged ledger up to the page's end, and one more
	visits, sales := sideBufs.Get(), sideBufs.Get()
	read := [2][]StockMovement{visits, sales} // the arrays as read: the merge below moves visits and sales on
	defer func() { sideBufs.Put(read[0]); sideBufs.Put(read[1]) }()
	if f.Type == "" || f.Type == "sale" {
		args := []any{from, to}
		if f.MachineID != "" {
			args = append(args, f.MachineID)
		}
		if f.ProductID != "" {
			args = append(args, f.ProductID)
		}
		if sales, err = s.movements(ctx, sales, end, saleMovements(f.MachineID != "", f.ProductID != ""), append(args, end)...); err != nil {
			return nil, false, err
		}
		read[1] = sales
	}
	if f.Type != "sale" {
		vto := to
		if len(sales) == end {
			// The page ends at or before the last sale read: a visit after
			// that millisecond cannot be on it. Sales outnumber visits, and
			// this spares reading (and sorting) the visits past the page.
			vto = min(to, sales[end-1].PerformedAt.UnixMilli()+1)
		}
		if visits, err = s.readVisits(ctx, visits, end, f.MachineID, f.ProductID, f.Type, from, vto); err != nil {
			return nil, false, err
		}
		read[0] = visits
	}
	out = dst
	if out == nil {
		out = make([]StockMovement, 0, min(end, len(visits)+len(sales)))
	}
	base := len(out)
	for len(out)-base < end && (len(visits) > 0 || len(sales) > 0) {
		if len(sales) == 0 || len(visits) > 0 && !laterMovement(visits[0], sales[0]) {
			out, visits = append(out, visits[0]), visits[1:]
		} else {
			out, sales = append(out, sales[0]), sales[1:]
		}
	}
	skip := min(f.Offset, len(out)-base)
	page := out[base+skip:]
	more = len(page) > f.Limit
	page = page[:min(f.Limit, len(page))]
	if skip == 0 {
		return out[:base+len(page)], more, nil
	}
	// The page right after dst's rows, so that the array the caller gave
	// holds the answer from its start.
	n := copy(out[base:], page)
	clear(out[base+n:]) // the rows left behind: no strings kept alive
	return out[:base+n], more, nil
}

// laterMovement reports whether a comes after b in (performed_at, key) order.
func laterMovement(a, b StockMovement) bool {
	if !a.PerformedAt.Equal(b.PerformedAt) {
		return a.PerformedAt.After(b.PerformedAt)
	}
	return a.Key > b.Key
}

// movements runs one side of the ledger, of at most n rows, appending
// them to dst.
func (s *Store) movements(ctx context.Context, dst []StockMovement, n int, query string, args ...any) ([]StockMovement, error) {
	rows, err := s.DB.Query(ctx, query, args...)
	return scanMovements(rows, err, dst, n)
}

// readVisits reads the visits' side of the ledger (visitMovements'
// arguments), its first n movements in (performed_at, key) order,
// appending them to dst.
func (s *Store) readVisits(ctx context.Context, dst []StockMovement, n int, args ...any) ([]StockMovement, error) {
	rows, err := s.DB.Query(ctx, visitMovements, args...)
	start := len(dst)
	out, err := scanMovementsUntil(rows, err, dst, n, func(page []StockMovement, next *StockMovement) bool {
		return tiebreak.Full(page[start:], next, n, sameMillisecond)
	})
	if err != nil {
		return nil, err
	}
	return out[:start+len(tiebreak.Finish(out[start:], n, sameMillisecond, func(a, b StockMovement) int {
		return strings.Compare(a.Key, b.Key)
	}))], nil
}

func sameMillisecond(a, b *StockMovement) bool { return a.PerformedAt.Equal(b.PerformedAt) }

// scanMovements reads the movements of a query, at most n, appending them
// to dst.
func scanMovements(rows *sqlite.Rows, err error, dst []StockMovement, n int) ([]StockMovement, error) {
	return scanMovementsUntil(rows, err, dst, n, nil)
}

// scanMovementsUntil is scanMovements stopping, when full is set, before
// the first row for which full(rows so far, row) is true.
func scanMovementsUntil(rows *sqlite.Rows, err error, dst []StockMovement, n int, full func([]StockMovement, *StockMovement) bool) ([]StockMovement, error) {
	if err != nil {
		return nil, fmt.Errorf("list stock movements: %w", err)
	}
	defer rows.Close()
	out := dst
	if cap(out)-len(out) < n {
		out = slices.Grow(out, min(max(n, 0), 1024)) // at the limit: no regrowth
	}
	// The scan's targets live across rows: each escapes to the heap
	// through Scan's ...any, once per query rather than once per row.
	var m StockMovement
	var at, seq int64
	var after sql.NullInt64 // not *int64: database/sql scans a pointer by reflection
	dest := []any{&m.Key, &m.MachineID, &m.ProductID, &m.Type, &m.Quantity, &after, &m.PerformedBy, &at, &m.VanID, &seq}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list stock movements: %w", err)
		}
		m.After = nil
		if after.Valid {
			a := after.Int64
			m.After = &a
		}
		m.PerformedAt, m.Seq = time.UnixMilli(at).UTC(), uint64(seq)
		if full != nil && full(out, &m) { // m, not a copy: a copy would escape for each row
			break
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list stock movements: %w", err)
	}
	return out, nil
}
