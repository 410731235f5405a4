package readmodel

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/purchasing"
)

// Valuation methods.
const (
	ValueFIFO    = "fifo"
	ValueAverage = "average"
)

// ValuationRow is one product's stock at one location and its value.
type ValuationRow struct {
	Kind       string // depot, van, machine
	LocationID string
	Site       string // machines
	City       string
	ProductID  string
	Quantity   int64
	ValueCents int64
	// LotQuantity is valued from lot costs; StandardQuantity at the
	// product's standard cost (no lot known for it); Unvalued has neither.
	LotQuantity, StandardQuantity, Unvalued int64
}

// StandardCosts returns each product's standard cost: the lowest unit cost
// a supplier sells it at (there is no catalog cost yet).
func (s *Store) StandardCosts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT product_id, MIN(unit_cost_cents) FROM supplier_products GROUP BY product_id`)
	if err != nil {
		return nil, fmt.Errorf("standard costs: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var c int64
		if err := rows.Scan(&p, &c); err != nil {
			return nil, fmt.Errorf("standard costs: %w", err)
		}
		out[p] = c
	}
	return out, rows.Err()
}

// Valuation values the stock at every depot and van (ledger balances) and
// every machine (the sites' counts), by method (ValueFIFO or
// ValueAverage). Depot stock is valued from the lots received there at
// cost, machine stock from the lots its site reports with a unit cost;
// what no lot covers, and van stock, at the standard cost. Rows are
// ordered by kind, location, product.
func (s *Store) Valuation(ctx context.Context, method string) ([]ValuationRow, error) {
	if method != ValueFIFO && method != ValueAverage {
		return nil, fmt.Errorf("%w: method %q: want fifo or average", ErrInvalidQuery, method)
	}
	std, err := s.StandardCosts(ctx)
	if err != nil {
		return nil, err
	}
	layers := map[[2]string][]purchasing.Layer{}
	lr, err := s.db.Query(ctx, `SELECT depot_id, product_id, quantity, unit_cost_cents FROM depot_lots ORDER BY received_at, lot_id`)
	if err != nil {
		return nil, fmt.Errorf("valuation lots: %w", err)
	}
	for lr.Next() {
		var d, p string
		var l purchasing.Layer
		if err := lr.Scan(&d, &p, &l.Quantity, &l.UnitCost); err != nil {
			lr.Close()
			return nil, fmt.Errorf("valuation lots: %w", err)
		}
		layers[[2]string{d, p}] = append(layers[[2]string{d, p}], l)
	}
	if err := lr.Close(); err != nil {
		return nil, err
	}
	// Machines: the lots the sites report, with their unit costs.
	mlots := map[[3]string][]purchasing.Layer{}
	mr, err := s.db.Query(ctx, `SELECT site, machine_id, product_id, quantity, unit_cost_cents FROM machine_lots
		WHERE quantity > 0 AND unit_cost_cents IS NOT NULL ORDER BY site, machine_id, product_id, expiry_date = '', expiry_date, lot_id`)
	if err != nil {
		return nil, fmt.Errorf("valuation machine lots: %w", err)
	}
	for mr.Next() {
		var k [3]string
		var l purchasing.Layer
		if err := mr.Scan(&k[0], &k[1], &k[2], &l.Quantity, &l.UnitCost); err != nil {
			mr.Close()
			return nil, fmt.Errorf("valuation machine lots: %w", err)
		}
		mlots[k] = append(mlots[k], l)
	}
	if err := mr.Close(); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `
		SELECT st.location_kind, st.location_id, '', COALESCE(d.city, dv.city, ''), st.product_id, st.quantity
		FROM inventory_stock st
		LEFT JOIN depots d ON st.location_kind = 'depot' AND d.depot_id = st.location_id
		LEFT JOIN vans v ON st.location_kind = 'van' AND v.van_id = st.location_id
		LEFT JOIN depots dv ON dv.depot_id = v.depot_id
		WHERE st.quantity <> 0
		UNION ALL
		SELECT 'machine', p.machine_id, p.site, COALESCE(m.city, ''), p.product_id, p.quantity
		FROM machine_products p LEFT JOIN machines m ON m.site = p.site AND m.machine_id = p.machine_id
		WHERE p.quantity <> 0 AND COALESCE(m.status, '') <> 'DECOMMISSIONED'
		ORDER BY 1, 2, 3, 5`)
	if err != nil {
		return nil, fmt.Errorf("valuation: %w", err)
	}
	defer rows.Close()
	var out []ValuationRow
	for rows.Next() {
		var r ValuationRow
		if err := rows.Scan(&r.Kind, &r.LocationID, &r.Site, &r.City, &r.ProductID, &r.Quantity); err != nil {
			return nil, fmt.Errorf("valuation: %w", err)
		}
		var v purchasing.Value
		var ls []purchasing.Layer
		switch r.Kind {
		case "depot":
			ls = layers[[2]string{r.LocationID, r.ProductID}]
		case "machine":
			// Earliest expiry first: FIFO values what is left at the lots
			// expiring last, which a FEFO machine keeps longest.
			ls = mlots[[3]string{r.Site, r.LocationID, r.ProductID}]
		}
		if method == ValueFIFO {
			v = purchasing.FIFO(r.Quantity, ls)
		} else {
			v = purchasing.WeightedAverage(r.Quantity, ls)
		}
		r.ValueCents, r.LotQuantity = v.Cents, max(r.Quantity, 0)-v.Uncosted
		if c, ok := std[r.ProductID]; ok {
			r.ValueCents += v.Uncosted * c
			r.StandardQuantity = v.Uncosted
		} else {
			r.Unvalued = v.Uncosted
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarginQuery selects sales for the margin report.
type MarginQuery struct {
	GroupBy  string // product, site, city, day, month
	From, To time.Time
	Site     string
}

// MarginRow is revenue, cost of goods sold and gross margin of one group.
type MarginRow struct {
	Key          string
	Quantity     int64
	RevenueCents int64
	COGSCents    int64
	// UncostedQuantity is sold units of products with no known cost: they
	// count in revenue but not in COGS.
	UncostedQuantity int64
	// LotQuantity is sold units costed from the lots they came out of; the
	// rest are at standard cost.
	LotQuantity int64
}

// Margin returns revenue, COGS and gross margin per group, largest revenue
// first. COGS is each sale's lot cost where its site reported the lots it
// took with a cost, and the standard cost (the lowest supplier unit cost)
// for the rest.
func (s *Store) Margin(ctx context.Context, q MarginQuery) ([]MarginRow, error) {
	var key string
	switch q.GroupBy {
	case "product", "":
		key = "s.product_id"
	case "site":
		key = "s.site"
	case "city":
		key = "s.city"
	case "day":
		key = "strftime('%Y-%m-%d', s.event_time / 1000, 'unixepoch')"
	case "month":
		key = "strftime('%Y-%m', s.event_time / 1000, 'unixepoch')"
	default:
		return nil, fmt.Errorf("%w: groupBy %q: want product, site, city, day or month", ErrInvalidQuery, q.GroupBy)
	}
	to := q.To
	if to.IsZero() {
		to = time.Unix(1<<40, 0)
	}
	// Per sale: the units its lots costed (sale_lot_uses, keyed by the
	// sale event) and the rest at standard cost.
	rows, err := s.db.Query(ctx, `WITH std AS (SELECT product_id, MIN(unit_cost_cents) AS c FROM supplier_products GROUP BY product_id),
		costed AS (
			SELECT s.site, s.city, s.product_id, s.event_time, s.quantity, s.amount_cents, std.c AS std_c,
				MIN(s.quantity, COALESCE((SELECT SUM(u.quantity) FROM sale_lot_uses u
					WHERE u.site = s.site AND u.seq = s.seq AND u.unit_cost_cents IS NOT NULL), 0)) AS lot_qty,
				COALESCE((SELECT SUM(u.quantity * u.unit_cost_cents) FROM sale_lot_uses u
					WHERE u.site = s.site AND u.seq = s.seq AND u.unit_cost_cents IS NOT NULL), 0) AS lot_cost
			FROM sales s LEFT JOIN std ON std.product_id = s.product_id
			WHERE s.event_time >= ? AND s.event_time < ? AND (? = '' OR s.site = ?))
		SELECT `+strings.ReplaceAll(key, "s.", "")+`, SUM(quantity), SUM(amount_cents),
			SUM(lot_cost + (quantity - lot_qty) * COALESCE(std_c, 0)),
			SUM(CASE WHEN std_c IS NULL THEN quantity - lot_qty ELSE 0 END), SUM(lot_qty)
		FROM costed GROUP BY 1 ORDER BY 3 DESC, 1`, ms(q.From), ms(to), q.Site, q.Site)
	if err != nil {
		return nil, fmt.Errorf("margin: %w", err)
	}
	defer rows.Close()
	var out []MarginRow
	for rows.Next() {
		var r MarginRow
		if err := rows.Scan(&r.Key, &r.Quantity, &r.RevenueCents, &r.COGSCents, &r.UncostedQuantity, &r.LotQuantity); err != nil {
			return nil, fmt.Errorf("margin: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ShrinkQuery selects losses for the shrink report.
type ShrinkQuery struct {
	GroupBy  string // site, route, machine, product
	From, To time.Time
}

// ShrinkRow is the stock one group lost, in units and at standard cost.
type ShrinkRow struct {
	Key string
	// Spoilage (expired), Damage, and CountLoss: units counted short of
	// what the ledger expected, net of units counted over.
	Spoilage, Damage, CountLoss                int64
	SpoilageCents, DamageCents, CountLossCents int64
}

// Shrink returns losses per group, largest value first: at machines from
// the sites' stock movements (EXPIRED, DAMAGED, COUNT), at depots and vans
// from the ledger (spoilage/expired, damaged, count_adjustment). A route is
// the driver who recorded the movement (machines) or drives the van.
func (s *Store) Shrink(ctx context.Context, q ShrinkQuery) ([]ShrinkRow, error) {
	var mk, lk string
	switch q.GroupBy {
	case "site", "":
		mk, lk = "r.site", "CASE m.location_kind WHEN 'van' THEN 'van:' ELSE 'depot:' END || m.location_id"
	case "route":
		mk, lk = "COALESCE(json_extract(CAST(r.body AS TEXT), '$.data.by'), '')", "COALESCE(v.driver, m.performed_by)"
	case "machine":
		mk, lk = "r.site || '/' || json_extract(CAST(r.body AS TEXT), '$.data.machineId')", "m.location_kind || ':' || m.location_id"
	case "product":
		mk, lk = "json_extract(CAST(r.body AS TEXT), '$.data.productId')", "m.product_id"
	default:
		return nil, fmt.Errorf("%w: groupBy %q: want site, route, machine or product", ErrInvalidQuery, q.GroupBy)
	}
	to := q.To
	if to.IsZero() {
		to = time.Unix(1<<40, 0)
	}
	rows, err := s.db.Query(ctx, `WITH std AS (SELECT product_id, MIN(unit_cost_cents) AS c FROM supplier_products GROUP BY product_id),
		losses AS (
			SELECT `+mk+` AS k, json_extract(CAST(r.body AS TEXT), '$.data.productId') AS product,
				CASE json_extract(CAST(r.body AS TEXT), '$.data.reason') WHEN 'EXPIRED' THEN 'spoilage' WHEN 'DAMAGED' THEN 'damage' ELSE 'count' END AS cause,
				-json_extract(CAST(r.body AS TEXT), '$.data.delta') AS lost
			FROM raw_events r
			WHERE r.kind = 'stock' AND json_extract(CAST(r.body AS TEXT), '$.data.reason') IN ('EXPIRED', 'DAMAGED', 'COUNT')
				AND r.event_time >= ? AND r.event_time < ?
			UNION ALL
			SELECT `+lk+`, m.product_id,
				CASE WHEN m.type IN ('spoilage', 'expired') THEN 'spoilage' WHEN m.type = 'damaged' THEN 'damage' ELSE 'count' END,
				-m.quantity
			FROM inventory_movements m LEFT JOIN vans v ON m.location_kind = 'van' AND v.van_id = m.location_id
			WHERE m.location_kind IN ('depot', 'van') AND m.type IN ('spoilage', 'expired', 'damaged', 'count_adjustment')
				AND m.performed_at >= ? AND m.performed_at < ?)
		SELECT l.k,
			SUM(CASE WHEN cause = 'spoilage' THEN lost ELSE 0 END),
			SUM(CASE WHEN cause = 'damage' THEN lost ELSE 0 END),
			SUM(CASE WHEN cause = 'count' THEN lost ELSE 0 END),
			SUM(CASE WHEN cause = 'spoilage' THEN lost * COALESCE(std.c, 0) ELSE 0 END) AS sc,
			SUM(CASE WHEN cause = 'damage' THEN lost * COALESCE(std.c, 0) ELSE 0 END) AS dc,
			SUM(CASE WHEN cause = 'count' THEN lost * COALESCE(std.c, 0) ELSE 0 END) AS cc
		FROM losses l LEFT JOIN std ON std.product_id = l.product
		GROUP BY 1 ORDER BY sc + dc + cc DESC, 1`, ms(q.From), ms(to), ms(q.From), ms(to))
	if err != nil {
		return nil, fmt.Errorf("shrink: %w", err)
	}
	defer rows.Close()
	var out []ShrinkRow
	for rows.Next() {
		var r ShrinkRow
		if err := rows.Scan(&r.Key, &r.Spoilage, &r.Damage, &r.CountLoss, &r.SpoilageCents, &r.DamageCents, &r.CountLossCents); err != nil {
			return nil, fmt.Errorf("shrink: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
