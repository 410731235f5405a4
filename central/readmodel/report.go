package readmodel

import (
	"cmp"
	"context"
	"database/sql"
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
// cities at once, in one or two reads grouped here (issue 14, wave 10).

const (
	// selectFleetSitesCities reads the fleet's sites in window ?1, buckets
	// [?2, ?3) from site_sales_fleet (migration 0028: a site's sums over
	// its cities), each with every city it sold in: a row per city, one
	// after the other (NULL for a site with no scope).
	selectFleetSitesCities = `SELECT f.bucket, f.site, f.tx_count, f.quantity, f.revenue_cents, f.discount_cents, sc.city
		FROM site_sales_fleet f LEFT JOIN sales_scopes sc ON sc.site = f.site
		WHERE f.win = ?1 AND f.bucket >= ?2 AND f.bucket < ?3`
	// selectScopeSites reads every scope's site rows in window ?1, buckets
	// [?2, ?3), with the scope's city.
	selectScopeSites = `SELECT sc.city, a.bucket, a.key, a.tx_count, a.quantity, a.revenue_cents, a.discount_cents
		FROM sales_scopes sc CROSS JOIN sales_agg a
		WHERE a.dim = '` + aggregate.DimSite + `' AND a.win = ?1 AND a.site = sc.site AND a.city = sc.city AND a.bucket >= ?2 AND a.bucket < ?3`
	// selectCityTopHead and selectCityTopTail read the product rows of
	// every city scope ('*', city) and of the fleet ('**', '') in the
	// spans ?1.. (the rows topSQL sums and ranks, for every scope at
	// once), a scope's rows one after the other.
	selectCityTopHead = `WITH c(site, city) AS (SELECT DISTINCT '` + aggregate.ScopeCity + `', city FROM sales_scopes UNION ALL SELECT '` + aggregate.ScopeFleet + `', ''),
		sp(win, lo, hi) AS (VALUES `
	// selectFleetTopHead is selectCityTopHead for the fleet's scope only
	// (the cities' come from city_top).
	selectFleetTopHead = `WITH c(site, city) AS (SELECT '` + aggregate.ScopeFleet + `', ''),
		sp(win, lo, hi) AS (VALUES `
	selectCityTopTail = `)
		SELECT a.site, a.city, a.key, a.tx_count, a.quantity, a.revenue_cents
		FROM c CROSS JOIN sp CROSS JOIN sales_agg a
		WHERE a.dim = '` + aggregate.DimProduct + `' AND a.win = sp.win AND a.site = c.site AND a.city = c.city
			AND a.bucket >= sp.lo AND a.bucket < sp.hi`
)

// SitesByCity answers, for every city with sales (a key of the map), the
// rows that Sales grouped by site with that City filter answers, without
// the freshness: each site's totals per bucket of win in [from, to),
// ordered by bucket then site. The rows of city "" are the whole fleet's,
// as Sales with City "" answers them.
//
// Days, weeks and months are one range of site_sales_fleet (migration
// 0028) with each site's cities: a site that sold in one city is that
// city's; only the sites that sold in several are read per scope from
// sales_agg. Hours (site_sales_fleet holds none) are read per scope.
func (s *Store) SitesByCity(ctx context.Context, win bucket.Window, from, to time.Time) (map[string][]SalesRow, error) {
	if _, err := bucket.ParseWindow(string(win)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	lo, hi := bucket.Start(win, from).Unix(), to.UTC().Unix()
	var out map[string][]SalesRow
	var err error
	if win == bucket.Hour {
		out, err = s.sitesByCityPerScope(ctx, win, lo, hi)
	} else {
		out, err = s.sitesByCityFleet(ctx, win, lo, hi)
	}
	if err != nil {
		return nil, fmt.Errorf("query sales by site and city: %w", err)
	}
	for city, rs := range out {
		slices.SortFunc(rs, func(a, b SalesRow) int {
			return cmp.Or(a.Bucket.Compare(b.Bucket), strings.Compare(a.Key, b.Key))
		})
		out[city] = rs
	}
	return out, nil
}

// sitesByCityFleet answers SitesByCity from site_sales_fleet, unsorted.
//
// The fleet's rows and the cities' are each one array (a city's rows a
// part of it, with no room past its end), sized from the last answer: a
// map of slices grown row by row was most of what a daily report
// allocated (BENCHMARKS.md, wave 13).
func (s *Store) sitesByCityFleet(ctx context.Context, win bucket.Window, lo, hi int64) (map[string][]SalesRow, error) {
	rows, err := s.db.Query(ctx, selectFleetSitesCities, string(win), lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hint := min(4096, int(s.sitesHint.Load()))
	fleet := make([]SalesRow, 0, hint)
	type cityRow struct {
		city string
		row  int // in fleet
	}
	single := make([]cityRow, 0, hint)
	type scope struct{ site, city string }
	var multi []scope
	// A site's row comes once per city it sold in: its cities are the
	// group's, and it is the city's when it is the only one.
	var group []string
	flush := func() {
		switch {
		case len(group) == 1:
			if group[0] != "" {
				single = append(single, cityRow{group[0], len(fleet) - 1})
			}
		case len(group) > 1:
			last := fleet[len(fleet)-1]
			for _, city := range group {
				if city != "" && !slices.Contains(multi, scope{last.Key, city}) {
					multi = append(multi, scope{last.Key, city})
				}
			}
		}
		group = group[:0]
	}
	var r SalesRow
	var b int64
	var city sql.NullString
	dest := []any{&b, &r.Key, &r.TxCount, &r.Quantity, &r.RevenueCents, &r.DiscountCents, &city}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		r.Bucket = time.Unix(b, 0).UTC()
		if len(fleet) == 0 || r.Key != fleet[len(fleet)-1].Key || !r.Bucket.Equal(fleet[len(fleet)-1].Bucket) {
			flush()
			fleet = append(fleet, r) // the fleet's, once
		}
		if city.Valid {
			group = append(group, city.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	flush()
	s.sitesHint.Store(int64(len(fleet)))
	out := map[string][]SalesRow{}
	if len(fleet) > 0 {
		out[""] = fleet
	}
	// Each city's rows, in the order they came: counted, then placed.
	type span struct{ start, n int }
	spans := map[string]span{}
	for _, c := range single {
		sp := spans[c.city]
		sp.n++
		spans[c.city] = sp
	}
	at := 0
	for c, sp := range spans {
		spans[c] = span{start: at}
		at += sp.n
	}
	cities := make([]SalesRow, len(single))
	for _, c := range single {
		sp := spans[c.city]
		cities[sp.start+sp.n] = fleet[c.row]
		sp.n++
		spans[c.city] = sp
	}
	for c, sp := range spans {
		out[c] = cities[sp.start : sp.start+sp.n : sp.start+sp.n]
	}
	for _, sc := range multi {
		rs, err := s.salesRows(ctx, nil, SalesQuery{GroupBy: BySite, Window: win, From: time.Unix(lo, 0).UTC(), To: time.Unix(hi, 0).UTC(), Site: sc.site, City: sc.city})
		if err != nil {
			return nil, err
		}
		out[sc.city] = append(out[sc.city], rs...)
	}
	return out, nil
}

// sitesByCityPerScope answers SitesByCity from every scope's rows in
// sales_agg, unsorted.
func (s *Store) sitesByCityPerScope(ctx context.Context, win bucket.Window, lo, hi int64) (map[string][]SalesRow, error) {
	rows, err := s.db.Query(ctx, selectScopeSites, string(win), lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]SalesRow{}
	type key struct {
		b    int64
		site string
	}
	fleet := map[key]int{}
	for rows.Next() {
		var r SalesRow
		var b int64
		var city string
		if err := rows.Scan(&city, &b, &r.Key, &r.TxCount, &r.Quantity, &r.RevenueCents, &r.DiscountCents); err != nil {
			return nil, err
		}
		r.Bucket = time.Unix(b, 0).UTC()
		if city != "" {
			out[city] = append(out[city], r)
		}
		if i, ok := fleet[key{b, r.Key}]; ok {
			f := &out[""][i]
			f.TxCount += r.TxCount
			f.Quantity += r.Quantity
			f.RevenueCents += r.RevenueCents
			f.DiscountCents += r.DiscountCents
			continue
		}
		fleet[key{b, r.Key}] = len(out[""])
		out[""] = append(out[""], r)
	}
	return out, rows.Err()
}

// TopProductsByCity answers, for every city with sales in [from, to) (a
// key of the map), the products that TopProducts with that City filter
// answers, without the freshness: the first limit (0: 10) by revenue, then
// quantity, then product id. The products of city "" are the whole
// fleet's, as TopProducts with City "" answers them. One query sums and
// ranks every city's and the fleet's product rows in the spans TopProducts
// reads.
func (s *Store) TopProductsByCity(ctx context.Context, from, to time.Time, limit int) (map[string][]ProductTotal, error) {
	spans := bucket.Cover(from.UTC(), to.UTC())
	if len(spans) == 0 {
		return nil, fmt.Errorf("%w: from must be at least an hour before to", ErrInvalidQuery)
	}
	if limit <= 0 {
		limit = 10
	}
	return s.topProductsByCity(ctx, spans, limit, true)
}

// topProductsByCity answers TopProductsByCity over spans, from city_top
// when rollup allows it and spans are one whole day or month.
func (s *Store) topProductsByCity(ctx context.Context, spans []bucket.Span, limit int, rollup bool) (map[string][]ProductTotal, error) {
	var q strings.Builder
	win, key, rolled := siteTopBucket(spans)
	rolled = rolled && rollup && limit <= siteTopN
	if rolled {
		q.WriteString(selectFleetTopHead)
	} else {
		q.WriteString(selectCityTopHead)
	}
	args := make([]any, 0, 3*len(spans))
	for i, sp := range spans {
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "(?%d, ?%d, ?%d)", len(args)+1, len(args)+2, len(args)+3)
		args = append(args, string(sp.Window), sp.From, sp.To)
	}
	q.WriteString(selectCityTopTail)
	rows, err := s.db.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("query top products by city: %w", err)
	}
	defer rows.Close()
	out := map[string][]ProductTotal{}
	// A scope's rows come one after the other: they are summed per
	// product and ranked when the next scope begins.
	var scope, city string
	var ps []ProductTotal
	rank := func() {
		if len(ps) == 0 || (scope == aggregate.ScopeCity && city == "") {
			return // city "" answers the fleet's
		}
		slices.SortFunc(ps, func(a, b ProductTotal) int { return strings.Compare(a.ProductID, b.ProductID) })
		sums := ps[:1]
		for _, p := range ps[1:] {
			if t := &sums[len(sums)-1]; t.ProductID == p.ProductID {
				t.TxCount += p.TxCount
				t.Quantity += p.Quantity
				t.RevenueCents += p.RevenueCents
				continue
			}
			sums = append(sums, p)
		}
		slices.SortFunc(sums, rankProducts)
		n := min(limit, len(sums))
		out[city] = slices.Clone(sums[:n])
	}
	for rows.Next() {
		var sc, c string
		var p ProductTotal
		if err := rows.Scan(&sc, &c, &p.ProductID, &p.TxCount, &p.Quantity, &p.RevenueCents); err != nil {
			return nil, fmt.Errorf("query top products by city: %w", err)
		}
		if sc != scope || c != city {
			rank()
			scope, city, ps = sc, c, ps[:0]
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query top products by city: %w", err)
	}
	rank()
	if rolled {
		// One whole day or month: every city's first products are kept
		// ranked in city_top (migration 0030).
		if err := s.cityTopFromRollup(ctx, win, key, limit, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cityTopFromRollup adds to out the first limit products of every city
// but "" in window win, bucket key, from city_top.
func (s *Store) cityTopFromRollup(ctx context.Context, win bucket.Window, key int64, limit int, out map[string][]ProductTotal) error {
	rows, err := s.db.Query(ctx, selectCityTop, string(win), key, limit)
	if err != nil {
		return fmt.Errorf("query top products by city: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var city string
		var p ProductTotal
		if err := rows.Scan(&city, &p.ProductID, &p.TxCount, &p.Quantity, &p.RevenueCents); err != nil {
			return fmt.Errorf("query top products by city: %w", err)
		}
		if city != "" { // city "" answers the fleet's
			out[city] = append(out[city], p)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query top products by city: %w", err)
	}
	return nil
}
