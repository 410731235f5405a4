package readmodel

import (
	"context"
	"fmt"
	"time"
)

// The ledger as queries see it: central's movements (depots, vans and the
// machine movements the sites reported) and, for machines, their sales as
// sale movements read from the sales table. Filters apply inside each part
// so a query over one location or period reads only its rows.
const ledgerUnion = `
	SELECT movement_id AS id, idem_key, location_kind, location_id, site, product_id, COALESCE(sku, '') AS sku, type, quantity,
		unit_cost_cents, COALESCE(lot_id, '') AS lot_id, ref, reason, performed_by, performed_at, recorded_at
	FROM inventory_movements
	WHERE (?1 = '' OR location_kind = ?1) AND (?2 = '' OR location_id = ?2) AND (?3 = '' OR site = ?3)
		AND (?4 = '' OR product_id = ?4) AND (?5 = '' OR type = ?5) AND performed_at < ?7
	UNION ALL
	SELECT 0, 'sale:' || site || ':' || machine_id || ':' || transaction_id, 'machine', machine_id, site, product_id, '', 'sale', -quantity,
		NULL, '', transaction_id, '', 'machine:' || machine_id, event_time, event_time
	FROM sales
	WHERE ?1 IN ('', 'machine') AND (?2 = '' OR machine_id = ?2) AND (?3 = '' OR site = ?3)
		AND (?4 = '' OR product_id = ?4) AND ?5 IN ('', 'sale') AND event_time < ?7`

// ledgerCity is the city of a ledger row's location: its machine's, its
// depot's, or its van's depot's.
const ledgerCity = `COALESCE(CASE l.location_kind
		WHEN 'machine' THEN (SELECT m.city FROM machines m WHERE m.site = l.site AND m.machine_id = l.location_id)
		WHEN 'depot' THEN (SELECT d.city FROM depots d WHERE d.depot_id = l.location_id)
		WHEN 'van' THEN (SELECT d.city FROM vans v JOIN depots d ON d.depot_id = v.depot_id WHERE v.van_id = l.location_id)
	END, '')`

// MovementQuery filters the ledger; empty fields match everything, zero
// times leave the range open. Limit (default 100, at most 1000) and Offset
// page through rows ordered by time.
type MovementQuery struct {
	Kind       LocationKind
	LocationID string
	Site       string
	City       string
	ProductID  string
	Type       MovementType
	From, To   time.Time
	Limit      int
	Offset     int
}

// MaxMovementPage bounds one page of movements.
const MaxMovementPage = 1000

func (q MovementQuery) check() error {
	switch q.Kind {
	case "", LocationDepot, LocationVan, LocationMachine:
	default:
		return fmt.Errorf("%w: locationKind %q: want depot, van or machine", ErrInvalidQuery, q.Kind)
	}
	if q.Type != "" && !q.Type.Valid() {
		return fmt.Errorf("%w: type %q: want one of %v", ErrInvalidQuery, q.Type, MovementTypes)
	}
	if q.Limit < 0 || q.Limit > MaxMovementPage {
		return fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalidQuery, q.Limit, MaxMovementPage)
	}
	if q.Offset < 0 {
		return fmt.Errorf("%w: offset must not be negative", ErrInvalidQuery)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	return nil
}

func (q MovementQuery) bounds() (from, to int64) {
	from, to = -1<<62, 1<<62
	if !q.From.IsZero() {
		from = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	return from, to
}

// MovementPage is one page of the ledger; More is true when rows follow.
type MovementPage struct {
	Movements []Movement
	City      []string // City[i] is Movements[i]'s location's city
	More      bool
}

// Movements pages through the ledger. It returns an error wrapping
// ErrInvalidQuery for a bad filter.
func (s *Store) Movements(ctx context.Context, q MovementQuery) (MovementPage, error) {
	if err := q.check(); err != nil {
		return MovementPage{}, err
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	from, to := q.bounds()
	rows, err := s.db.Query(ctx, `SELECT l.*, `+ledgerCity+` AS city FROM (`+ledgerUnion+`) l
		WHERE l.performed_at >= ?6 AND (?8 = '' OR `+ledgerCity+` = ?8)
		ORDER BY l.performed_at, l.idem_key LIMIT ?9 OFFSET ?10`,
		string(q.Kind), q.LocationID, q.Site, q.ProductID, string(q.Type), from, to, q.City, q.Limit+1, q.Offset)
	if err != nil {
		return MovementPage{}, fmt.Errorf("query movements: %w", err)
	}
	defer rows.Close()
	var p MovementPage
	for rows.Next() {
		var city string
		m, err := scanMovement(scanExtra{rows, &city})
		if err != nil {
			return MovementPage{}, fmt.Errorf("query movements: %w", err)
		}
		p.Movements, p.City = append(p.Movements, m), append(p.City, city)
	}
	if err := rows.Err(); err != nil {
		return MovementPage{}, fmt.Errorf("query movements: %w", err)
	}
	if len(p.Movements) > q.Limit {
		p.Movements, p.City, p.More = p.Movements[:q.Limit], p.City[:q.Limit], true
	}
	return p, nil
}

// scanExtra scans a movement followed by one more column.
type scanExtra struct {
	r     interface{ Scan(...any) error }
	extra any
}

func (s scanExtra) Scan(dst ...any) error { return s.r.Scan(append(dst, s.extra)...) }

// MovementReportRow is one location's movements of one product over a
// period: its stock at the start (the sum of every earlier movement), the
// sum per type in the period, and its stock at the end.
type MovementReportRow struct {
	Kind       LocationKind
	LocationID string
	Site       string
	ProductID  string
	Opening    int64
	ByType     map[MovementType]int64
	In, Out    int64
	Closing    int64
}

// StockMovementReport sums the ledger per location and product over
// [q.From, q.To) (filters as in Movements; Limit and Offset are ignored).
// For a machine, opening and closing count only the movements its site
// reported and its sales: stock set up with the machine's inventory, before
// any movement, is not a movement.
func (s *Store) StockMovementReport(ctx context.Context, q MovementQuery) ([]MovementReportRow, error) {
	q.Limit, q.Offset = 0, 0
	if err := q.check(); err != nil {
		return nil, err
	}
	from, to := q.bounds()
	rows, err := s.db.Query(ctx, `SELECT l.location_kind, l.location_id, l.site, l.product_id, l.type,
			SUM(CASE WHEN l.performed_at < ?6 THEN l.quantity ELSE 0 END),
			SUM(CASE WHEN l.performed_at >= ?6 THEN l.quantity ELSE 0 END)
		FROM (`+ledgerUnion+`) l WHERE (?8 = '' OR `+ledgerCity+` = ?8)
		GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
		string(q.Kind), q.LocationID, q.Site, q.ProductID, string(q.Type), from, to, q.City)
	if err != nil {
		return nil, fmt.Errorf("stock movement report: %w", err)
	}
	defer rows.Close()
	out := []MovementReportRow{}
	for rows.Next() {
		var kind, loc, site, product, typ string
		var before, during int64
		if err := rows.Scan(&kind, &loc, &site, &product, &typ, &before, &during); err != nil {
			return nil, fmt.Errorf("stock movement report: %w", err)
		}
		n := len(out)
		if n == 0 || out[n-1].Kind != LocationKind(kind) || out[n-1].LocationID != loc || out[n-1].Site != site || out[n-1].ProductID != product {
			out = append(out, MovementReportRow{Kind: LocationKind(kind), LocationID: loc, Site: site, ProductID: product, ByType: map[MovementType]int64{}})
			n++
		}
		r := &out[n-1]
		r.Opening += before
		if during != 0 {
			r.ByType[MovementType(typ)] += during
		}
		r.Closing += before + during
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stock movement report: %w", err)
	}
	// In and Out need each movement's sign, not the per-type sums.
	if err := s.inOut(ctx, q, from, to, out); err != nil {
		return nil, err
	}
	return out, nil
}

// inOut fills In (units added) and Out (units removed, positive) of each
// report row.
func (s *Store) inOut(ctx context.Context, q MovementQuery, from, to int64, out []MovementReportRow) error {
	type key struct{ kind, loc, site, product string }
	idx := make(map[key]int, len(out))
	for i, r := range out {
		idx[key{string(r.Kind), r.LocationID, r.Site, r.ProductID}] = i
	}
	rows, err := s.db.Query(ctx, `SELECT l.location_kind, l.location_id, l.site, l.product_id,
			SUM(CASE WHEN l.quantity > 0 THEN l.quantity ELSE 0 END), SUM(CASE WHEN l.quantity < 0 THEN -l.quantity ELSE 0 END)
		FROM (`+ledgerUnion+`) l WHERE l.performed_at >= ?6 AND (?8 = '' OR `+ledgerCity+` = ?8) GROUP BY 1, 2, 3, 4`,
		string(q.Kind), q.LocationID, q.Site, q.ProductID, string(q.Type), from, to, q.City)
	if err != nil {
		return fmt.Errorf("stock movement report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k key
		var in, outQ int64
		if err := rows.Scan(&k.kind, &k.loc, &k.site, &k.product, &in, &outQ); err != nil {
			return fmt.Errorf("stock movement report: %w", err)
		}
		if i, ok := idx[k]; ok {
			out[i].In, out[i].Out = in, outQ
		}
	}
	return rows.Err()
}
