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

// The daily and monthly reports (GET /reports/daily, /reports/monthly)
// list every city's sites and top products. They were a Sales by site and a
// TopProducts query per city (about 100 queries for 50 cities, each with
// its city's freshness list); SitesByCity and TopProductsByCity answer all
// cities at once, in a few range reads grouped here (issue 14, wave 10).

const (
	// selectScopes lists every (site, city) scope with sales.
	selectScopes = `SELECT site, city FROM sales_scopes`
	// selectCityProducts reads the product rows of every city scope
	// ('*', city) in the spans ?1.. (as topSQL's city scope does for one
	// city).
	selectCityProductsHead = `WITH c(city) AS (SELECT DISTINCT city FROM sales_scopes), sp(win, lo, hi) AS (VALUES `
	selectCityProductsTail = `)
		SELECT a.city, a.key, a.tx_count, a.quantity, a.revenue_cents
		FROM c CROSS JOIN sp CROSS JOIN sales_agg a
		WHERE a.dim = '` + aggregate.DimProduct + `' AND a.win = sp.win AND a.site = '` + aggregate.ScopeCity + `' AND a.city = c.city
			AND a.bucket >= sp.lo AND a.bucket < sp.hi`
)

// SitesByCity answers, for every city with sales (a key of the map), the
// rows that Sales grouped by site with that City filter answers, without
// the freshness: each site's totals per bucket of win in [From, To),
// ordered by bucket then site. City "" is left out: Sales with City ""
// answers the whole fleet.
//
// A site whose sales lie in one city (its only scope in sales_scopes) is
// read from site_sales_fleet, one range for the whole fleet (migration
// 0028: the same sums, summed over the site's cities); only the sites with
// sales in several cities are read per scope from sales_agg. Hours are
// read from sales_agg (site_sales_fleet holds none).
func (s *Store) SitesByCity(ctx context.Context, win bucket.Window, from, to time.Time) (map[string][]SalesRow, error) {
	if _, err := bucket.ParseWindow(string(win)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	rows, err := s.db.Query(ctx, selectScopes)
	if err != nil {
		return nil, fmt.Errorf("query sales by site and city: %w", err)
	}
	// cityOf is each site's one city; a site with several is in multi.
	cityOf := map[string]string{}
	multi := map[string][]string{}
	for rows.Next() {
		var site, city string
		if err := rows.Scan(&site, &city); err != nil {
			rows.Close()
			return nil, fmt.Errorf("query sales by site and city: %w", err)
		}
		if c, ok := cityOf[site]; ok {
			multi[site] = append(multi[site], c, city)
			delete(cityOf, site)
			continue
		}
		if m, ok := multi[site]; ok {
			multi[site] = append(m, city)
			continue
		}
		cityOf[site] = city
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("query sales by site and city: %w", err)
	}
	rows.Close()
	out := map[string][]SalesRow{}
	add := func(city string, r SalesRow) {
		if city != "" {
			out[city] = append(out[city], r)
		}
	}
	q := SalesQuery{GroupBy: BySite, Window: win, From: from, To: to}
	if win == bucket.Hour {
		// Every scope's rows, read per scope (site_sales_fleet holds no
		// hours).
		for site, city := range cityOf {
			multi[site] = []string{city}
		}
	} else {
		query, args := salesSQL(q) // site_sales_fleet
		fleet, err := s.sumSalesRows(ctx, query, args)
		if err != nil {
			return nil, fmt.Errorf("query sales by site and city: %w", err)
		}
		for _, r := range fleet {
			if city, ok := cityOf[r.Key]; ok {
				add(city, r)
			}
		}
	}
	for site, cities := range multi {
		for _, city := range cities {
			q.Site, q.City = site, city
			rs, err := s.salesRows(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("query sales by site and city: %w", err)
			}
			for _, r := range rs {
				add(city, r)
			}
		}
	}
	for city, rs := range out {
		slices.SortFunc(rs, func(a, b SalesRow) int {
			return cmp.Or(a.Bucket.Compare(b.Bucket), strings.Compare(a.Key, b.Key))
		})
		out[city] = rs
	}
	return out, nil
}

// TopProductsByCity answers, for every city with sales in [From, To) (a
// key of the map), the products that TopProducts with that City filter
// answers, without the freshness: the first limit (0: 10) by revenue, then
// quantity, then product id. City "" is left out: TopProducts with City ""
// answers the whole fleet. It reads the product rows of every city's scope
// in the same spans as TopProducts, in one query, and ranks them here.
func (s *Store) TopProductsByCity(ctx context.Context, from, to time.Time, limit int) (map[string][]ProductTotal, error) {
	spans := bucket.Cover(from.UTC(), to.UTC())
	if len(spans) == 0 {
		return nil, fmt.Errorf("%w: from must be at least an hour before to", ErrInvalidQuery)
	}
	if limit <= 0 {
		limit = 10
	}
	var q strings.Builder
	q.WriteString(selectCityProductsHead)
	args := make([]any, 0, 3*len(spans))
	for i, sp := range spans {
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "(?%d, ?%d, ?%d)", len(args)+1, len(args)+2, len(args)+3)
		args = append(args, string(sp.Window), sp.From, sp.To)
	}
	q.WriteString(selectCityProductsTail)
	rows, err := s.db.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("query top products by city: %w", err)
	}
	defer rows.Close()
	type key struct{ city, product string }
	sums := map[key]*ProductTotal{}
	byCity := map[string][]*ProductTotal{}
	for rows.Next() {
		var k key
		var tx, qty, rev int64
		if err := rows.Scan(&k.city, &k.product, &tx, &qty, &rev); err != nil {
			return nil, fmt.Errorf("query top products by city: %w", err)
		}
		p := sums[k]
		if p == nil {
			p = &ProductTotal{ProductID: k.product}
			sums[k] = p
			byCity[k.city] = append(byCity[k.city], p)
		}
		p.TxCount += tx
		p.Quantity += qty
		p.RevenueCents += rev
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query top products by city: %w", err)
	}
	out := make(map[string][]ProductTotal, len(byCity))
	for city, ps := range byCity {
		if city == "" {
			continue
		}
		all := make([]ProductTotal, len(ps))
		for i, p := range ps {
			all[i] = *p
		}
		slices.SortFunc(all, rankProducts)
		out[city] = all[:min(limit, len(all)):min(limit, len(all))]
	}
	return out, nil
}
