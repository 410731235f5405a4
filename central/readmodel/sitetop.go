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

// site_top (migration 0022) holds every site's first siteTopN products per
// day and month, and city_top (0030) every city's, kept on apply: after a batch's totals are added, each
// day and month bucket of its site that the batch touched is ranked again
// from the site's product rows. TopProductsBySite reads it when its range
// is one whole day or month (the daily and monthly reports).

// siteTopN is how many products site_top keeps per site and bucket.
const siteTopN = 10

const (
	// selectSiteProducts sums site ?3's product rows of window ?1, bucket ?2
	// over its city scopes.
	selectSiteProducts = `SELECT a.key, SUM(a.tx_count), SUM(a.quantity), SUM(a.revenue_cents)
		FROM sales_scopes sc CROSS JOIN sales_agg a
		WHERE sc.site = ?3 AND a.dim = '` + aggregate.DimProduct + `' AND a.win = ?1 AND a.site = sc.site AND a.city = sc.city AND a.bucket = ?2
		GROUP BY a.key`
	upsertSiteTop = `INSERT INTO site_top (win, bucket, rank, site, product_id, tx_count, quantity, revenue_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (win, bucket, rank, site) DO UPDATE SET product_id = excluded.product_id, tx_count = excluded.tx_count,
			quantity = excluded.quantity, revenue_cents = excluded.revenue_cents`
	deleteSiteTop = `DELETE FROM site_top WHERE win = ? AND bucket = ? AND rank = ? AND site = ?`
	// selectCityProducts reads city ?3's product rows (scope '*') of
	// window ?1, bucket ?2.
	selectCityProducts = `SELECT key, tx_count, quantity, revenue_cents FROM sales_agg
		WHERE dim = '` + aggregate.DimProduct + `' AND win = ?1 AND site = '` + aggregate.ScopeCity + `' AND city = ?3 AND bucket = ?2`
	upsertCityTop = `INSERT INTO city_top (win, bucket, rank, city, product_id, tx_count, quantity, revenue_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (win, bucket, rank, city) DO UPDATE SET product_id = excluded.product_id, tx_count = excluded.tx_count,
			quantity = excluded.quantity, revenue_cents = excluded.revenue_cents`
	deleteCityTop = `DELETE FROM city_top WHERE win = ? AND bucket = ? AND rank = ? AND city = ?`
	// selectCityTop reads the first ?3 products of every city in window
	// ?1, bucket ?2.
	selectCityTop = `SELECT city, product_id, tx_count, quantity, revenue_cents FROM city_top
		WHERE win = ?1 AND bucket = ?2 AND rank < ?3 ORDER BY rank`
	// selectSiteTop reads the first ?3 products of every site in window ?1,
	// bucket ?2.
	selectSiteTop = `SELECT site, product_id, tx_count, quantity, revenue_cents FROM site_top
		WHERE win = ?1 AND bucket = ?2 AND rank < ?3 ORDER BY rank`
)

// topSink is what a Sink implements to keep site_top on apply.
type topSink interface {
	rankSiteTop(ctx context.Context, d *aggregate.Deltas) error
}

var _ topSink = (*sqliteSink)(nil)

// addTopRollups ranks again the site buckets whose product totals d added to.
func addTopRollups(ctx context.Context, sink Sink, d *aggregate.Deltas) error {
	if ts, ok := sink.(topSink); ok {
		if err := ts.rankSiteTop(ctx, d); err != nil {
			return fmt.Errorf("rank site products: %w", err)
		}
	}
	return nil
}

func (k *sqliteSink) rankSiteTop(ctx context.Context, d *aggregate.Deltas) error {
	if k.held != nil {
		// In a group the totals are written just before the commit
		// (ApplyGroup), so sales_agg does not hold them yet: the group
		// ranks once, after writing them, every bucket its items touched.
		return nil
	}
	type siteBucket struct {
		win, site string
		bucket    int64
	}
	touched := map[siteBucket]bool{}
	cities := map[siteBucket]bool{} // site is the city
	for r, v := range d.Rows {
		if v.Tx == 0 || r.Dim != aggregate.DimProduct || (r.Win != string(bucket.Day) && r.Win != string(bucket.Month)) ||
			r.Site == aggregate.ScopeFleet {
			continue
		}
		if r.Site == aggregate.ScopeCity {
			cities[siteBucket{r.Win, r.City, r.Bucket}] = true
			continue
		}
		touched[siteBucket{r.Win, r.Site, r.Bucket}] = true
	}
	for cb := range cities {
		if err := k.rankTop(ctx, selectCityProducts, upsertCityTop, deleteCityTop, cb.win, cb.bucket, cb.site); err != nil {
			return err
		}
	}
	for sb := range touched {
		if err := k.rankTop(ctx, selectSiteProducts, upsertSiteTop, deleteSiteTop, sb.win, sb.bucket, sb.site); err != nil {
			return err
		}
	}
	return nil
}

// rankTop ranks the products that sel reads for window win, bucket b and
// key (a site or a city) and writes the first siteTopN with upsert, clearing
// the ranks beyond with del (site_top or city_top).
func (k *sqliteSink) rankTop(ctx context.Context, sel, upsert, del string, win string, b int64, key string) error {
	rows, err := k.s.query(ctx, sel, win, b, key)
	if err != nil {
		return err
	}
	var ps []ProductTotal
	for rows.Next() {
		var p ProductTotal
		if err := rows.Scan(&p.ProductID, &p.TxCount, &p.Quantity, &p.RevenueCents); err != nil {
			rows.Close()
			return err
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	slices.SortFunc(ps, rankProducts)
	for i := range siteTopN {
		if i >= len(ps) {
			// A bucket's products only grow between rebuilds; this
			// clears what a smaller ranking would leave.
			if err := k.s.exec(ctx, del, win, b, i, key); err != nil {
				return err
			}
			continue
		}
		p := ps[i]
		if err := k.s.exec(ctx, upsert, win, b, i, key, p.ProductID, p.TxCount, p.Quantity, p.RevenueCents); err != nil {
			return err
		}
	}
	return nil
}

// rankProducts orders products as the top-products answers rank them.
func rankProducts(a, b ProductTotal) int {
	return cmp.Or(cmp.Compare(b.RevenueCents, a.RevenueCents), cmp.Compare(b.Quantity, a.Quantity), strings.Compare(a.ProductID, b.ProductID))
}

// siteTopBucket returns the site_top window and bucket of spans when they
// are one whole day or month.
func siteTopBucket(spans []bucket.Span) (bucket.Window, int64, bool) {
	if len(spans) != 1 {
		return "", 0, false
	}
	sp := spans[0]
	if (sp.Window != bucket.Day && sp.Window != bucket.Month) || bucket.Next(sp.Window, time.Unix(sp.From, 0).UTC()).Unix() != sp.To {
		return "", 0, false
	}
	return sp.Window, sp.From, true
}

// topBySiteFromRollup answers TopProductsBySite from site_top.
func (s *Store) topBySiteFromRollup(ctx context.Context, win bucket.Window, key int64, limit int) (map[string][]ProductTotal, error) {
	rows, err := s.db.Query(ctx, selectSiteTop, string(win), key, limit)
	if err != nil {
		return nil, fmt.Errorf("query top products by site: %w", err)
	}
	defer rows.Close()
	out := map[string][]ProductTotal{}
	// A site has at most limit rows (rank < limit), and they come ranked,
	// not by site: each site's slice is limit places of one shared array,
	// made a chunk of sites at a time, instead of growing by appends.
	var chunk []ProductTotal
	var site string
	var p ProductTotal
	dest := []any{&site, &p.ProductID, &p.TxCount, &p.Quantity, &p.RevenueCents}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("query top products by site: %w", err)
		}
		ps, ok := out[site]
		if !ok {
			if len(chunk) < limit {
				chunk = make([]ProductTotal, 256*limit)
			}
			ps, chunk = chunk[:0:limit], chunk[limit:]
		}
		out[site] = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query top products by site: %w", err)
	}
	return out, nil
}

// fillSiteTop recomputes site_top from sales_agg (the statement of
// migration 0022). The caller holds s.mu and a transaction.
func (s *Store) fillSiteTop(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM site_top`); err != nil {
		return fmt.Errorf("rank site products: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, fillSiteTopSQL); err != nil {
		return fmt.Errorf("rank site products: %w", err)
	}
	return nil
}

// fillCityTop recomputes city_top from sales_agg (the statement of
// migration 0030). The caller holds s.mu and a transaction.
func (s *Store) fillCityTop(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM city_top`); err != nil {
		return fmt.Errorf("rank city products: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, fillCityTopSQL); err != nil {
		return fmt.Errorf("rank city products: %w", err)
	}
	return nil
}

// fillCityTopSQL ranks every city's products of every day and month (as
// migration 0030 does).
const fillCityTopSQL = `INSERT INTO city_top (win, bucket, rank, city, product_id, tx_count, quantity, revenue_cents)
    SELECT win, bucket, rn - 1, city, key, tx_count, quantity, revenue_cents FROM (
        SELECT win, bucket, city, key, tx_count, quantity, revenue_cents,
            ROW_NUMBER() OVER (PARTITION BY win, bucket, city ORDER BY revenue_cents DESC, quantity DESC, key) AS rn
        FROM sales_agg
        WHERE dim = 'product' AND win IN ('day', 'month') AND site = '*')
    WHERE rn <= 10`

// fillSiteTopSQL ranks every site's products of every day and month (as
// migration 0022 does).
const fillSiteTopSQL = `INSERT INTO site_top (win, bucket, rank, site, product_id, tx_count, quantity, revenue_cents)
    SELECT win, bucket, rn - 1, site, key, tx, qty, rev FROM (
        SELECT win, bucket, site, key, tx, qty, rev,
            ROW_NUMBER() OVER (PARTITION BY win, bucket, site ORDER BY rev DESC, qty DESC, key) AS rn
        FROM (SELECT a.win, a.bucket, a.site, a.key, SUM(a.tx_count) AS tx, SUM(a.quantity) AS qty, SUM(a.revenue_cents) AS rev
            FROM sales_scopes sc CROSS JOIN sales_agg a
            WHERE a.dim = 'product' AND a.win IN ('day', 'month') AND a.site = sc.site AND a.city = sc.city
                AND sc.site NOT IN ('*', '**')
            GROUP BY a.win, a.bucket, a.site, a.key))
    WHERE rn <= 10`
