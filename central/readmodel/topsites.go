package readmodel

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/bucket"
)

// topBySiteSQL selects, over the spans in sp, every site's product rows:
// site, product, totals (a product has a row per scope and bucket).
const topBySiteSQL = `
		SELECT a.site, a.key, a.tx_count, a.quantity, a.revenue_cents
		FROM sales_scopes sc CROSS JOIN sp CROSS JOIN sales_agg a
		WHERE a.dim = '` + aggregate.DimProduct + `' AND a.win = sp.win AND a.site = sc.site AND a.city = sc.city
			AND a.bucket >= sp.lo AND a.bucket < sp.hi`

// TopProductsBySite answers TopProducts with Site set, for every site at
// once: per site id, its best-selling products over [from, to), the first
// limit (0: 10), ranked as TopProducts ranks them. A site that sold nothing
// in the range is not in the map. It reads each site's rows once and sums
// and ranks them here, where a query per site would cost a thousand
// queries for a fleet's daily report (and ranking in SQL, two sorts of
// every row). Over one whole day or month (the daily and monthly reports)
// with limit at most 10 it reads the first products of every site that
// site_top keeps on apply, and answers sites only (not the city and fleet
// scopes "*" and "**"). It returns an error wrapping ErrInvalidQuery when
// the range is empty.
func (s *Store) TopProductsBySite(ctx context.Context, from, to time.Time, limit int) (map[string][]ProductTotal, error) {
	spans := bucket.Cover(from.UTC(), to.UTC())
	if len(spans) == 0 {
		return nil, fmt.Errorf("%w: from must be at least an hour before to", ErrInvalidQuery)
	}
	if limit <= 0 {
		limit = 10
	}
	if win, key, ok := siteTopBucket(spans); ok && limit <= siteTopN {
		return s.topBySiteFromRollup(ctx, win, key, limit)
	}
	return s.topBySiteScan(ctx, spans, limit)
}

// topBySiteScan answers TopProductsBySite from every site's product rows
// of spans.
func (s *Store) topBySiteScan(ctx context.Context, spans []bucket.Span, limit int) (map[string][]ProductTotal, error) {
	var vals strings.Builder
	var args []any
	for i, sp := range spans {
		if i > 0 {
			vals.WriteByte(',')
		}
		fmt.Fprintf(&vals, "(?%d, ?%d, ?%d)", len(args)+1, len(args)+2, len(args)+3)
		args = append(args, string(sp.Window), sp.From, sp.To)
	}
	rows, err := s.db.Query(ctx, `WITH sp(win, lo, hi) AS (VALUES `+vals.String()+`)`+topBySiteSQL, args...)
	if err != nil {
		return nil, fmt.Errorf("query top products by site: %w", err)
	}
	defer rows.Close()
	type siteProduct struct{ site, product string }
	sums := map[siteProduct]*ProductTotal{}
	bySite := map[string][]*ProductTotal{}
	var site, product string
	for rows.Next() {
		var tx, qty, rev int64
		if err := rows.Scan(&site, &product, &tx, &qty, &rev); err != nil {
			return nil, fmt.Errorf("query top products by site: %w", err)
		}
		k := siteProduct{site, product}
		p := sums[k]
		if p == nil {
			p = &ProductTotal{ProductID: product}
			sums[k] = p
			bySite[site] = append(bySite[site], p)
		}
		p.TxCount += tx
		p.Quantity += qty
		p.RevenueCents += rev
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query top products by site: %w", err)
	}
	out := make(map[string][]ProductTotal, len(bySite))
	for site, ps := range bySite {
		slices.SortFunc(ps, func(a, b *ProductTotal) int {
			if c := cmp.Compare(b.RevenueCents, a.RevenueCents); c != 0 {
				return c
			}
			if c := cmp.Compare(b.Quantity, a.Quantity); c != 0 {
				return c
			}
			return strings.Compare(a.ProductID, b.ProductID)
		})
		top := make([]ProductTotal, 0, min(limit, len(ps)))
		for _, p := range ps[:min(limit, len(ps))] {
			top = append(top, *p)
		}
		out[site] = top
	}
	return out, nil
}
