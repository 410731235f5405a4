package readmodel

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/bucket"
)

// topBySiteSQL is the query of TopProductsBySite over the spans in sp: each
// site's products summed over its scopes and the spans, ranked within the
// site as TopProducts ranks them, the first ?1 of each.
const topBySiteSQL = `, t(site, key, tx, qty, rev) AS (
			SELECT a.site, a.key, sum(a.tx_count), sum(a.quantity), sum(a.revenue_cents)
			FROM sales_scopes sc CROSS JOIN sp CROSS JOIN sales_agg a
			WHERE a.dim = '` + aggregate.DimProduct + `' AND a.win = sp.win AND a.site = sc.site AND a.city = sc.city
				AND a.bucket >= sp.lo AND a.bucket < sp.hi
			GROUP BY a.site, a.key)
		SELECT site, key, tx, qty, rev FROM (
			SELECT t.*, row_number() OVER (PARTITION BY site ORDER BY rev DESC, qty DESC, key) AS n FROM t)
		WHERE n <= ?1 ORDER BY site, n`

// TopProductsBySite answers TopProducts with Site set, for every site at
// once: per site id, its best-selling products over [from, to), the first
// limit (0: 10). A site that sold nothing in the range is not in the map.
// It reads each site's rows once, where a query per site would descend
// the index a thousand times for a fleet's daily report. It returns an
// error wrapping ErrInvalidQuery when the range is empty.
func (s *Store) TopProductsBySite(ctx context.Context, from, to time.Time, limit int) (map[string][]ProductTotal, error) {
	spans := bucket.Cover(from.UTC(), to.UTC())
	if len(spans) == 0 {
		return nil, fmt.Errorf("%w: from must be at least an hour before to", ErrInvalidQuery)
	}
	if limit <= 0 {
		limit = 10
	}
	var vals strings.Builder
	args := []any{limit}
	for i, sp := range spans {
		if i > 0 {
			vals.WriteByte(',')
		}
		fmt.Fprintf(&vals, "(?%d, ?%d, ?%d)", len(args)+1, len(args)+2, len(args)+3)
		args = append(args, string(sp.Window), sp.From, sp.To)
	}
	rows, err := s.db.R.QueryContext(ctx, `WITH sp(win, lo, hi) AS (VALUES `+vals.String()+`)`+topBySiteSQL, args...)
	if err != nil {
		return nil, fmt.Errorf("query top products by site: %w", err)
	}
	defer rows.Close()
	out := map[string][]ProductTotal{}
	for rows.Next() {
		var site string
		var p ProductTotal
		if err := rows.Scan(&site, &p.ProductID, &p.TxCount, &p.Quantity, &p.RevenueCents); err != nil {
			return nil, fmt.Errorf("query top products by site: %w", err)
		}
		out[site] = append(out[site], p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query top products by site: %w", err)
	}
	return out, nil
}
