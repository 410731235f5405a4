package readmodel

import (
	"context"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
)

const (
	selectSiteZones = `SELECT site, tz FROM sites`
	selectSalesPage = `SELECT site, machine_id, transaction_id, product_id, city, quantity, amount_cents, event_time, discount_cents
		FROM sales WHERE (site, machine_id, transaction_id) > (?, ?, ?) ORDER BY site, machine_id, transaction_id LIMIT ?`
	deletePending = `DELETE FROM rebuild_pending`
	selectPending = `SELECT count(*) FROM rebuild_pending`
)

// rebuildPage is how many sales Rebuild reads per query; rebuildFlush is how
// many distinct aggregate rows it holds in memory before writing them.
const (
	rebuildPage  = 5000
	rebuildFlush = 200_000
)

// Rebuild recomputes every sales aggregate from the raw sales in one
// transaction, bucketing each sale in its site's current timezone, and
// returns how many sales it counted. Queries keep seeing the old aggregates
// until it commits.
func (s *Store) Rebuild(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	n, err := s.rebuild(ctx)
	if err != nil {
		s.rollback()
		return 0, err
	}
	if err := s.commit(ctx); err != nil {
		return 0, err
	}
	s.log.Info().Int64("sales", n).Msg("aggregates rebuilt")
	return n, nil
}

func (s *Store) rebuild(ctx context.Context) (int64, error) {
	for _, q := range []string{`DELETE FROM sales_agg`, `DELETE FROM site_sales_fleet`, `DELETE FROM machine_sales_fleet`, `DELETE FROM sales_scopes`, deletePending} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("clear: %w", err)
		}
	}
	zones := map[string]*time.Location{}
	rows, err := s.query(ctx, selectSiteZones)
	if err != nil {
		return 0, fmt.Errorf("read sites: %w", err)
	}
	for rows.Next() {
		var site, tz string
		if err := rows.Scan(&site, &tz); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read sites: %w", err)
		}
		loc, err := aggregate.Location(tz)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("site %s timezone %q: %w", site, tz, err)
		}
		zones[site] = loc
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, fmt.Errorf("read sites: %w", err)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("read sites: %w", err)
	}

	if err := s.fillPromoDays(ctx); err != nil {
		return 0, err
	}
	sink := &sqliteSink{s: s}
	d := aggregate.NewDeltas()
	// Discounts of the rows in d, for sales_agg's discount column (bucketed
	// like the totals, in the site's current timezone).
	disc := map[aggregate.Row]int64{}
	var n int64
	var afterSite, afterMachine, afterTx string
	for {
		rows, err := s.query(ctx, selectSalesPage, afterSite, afterMachine, afterTx, rebuildPage)
		if err != nil {
			return 0, fmt.Errorf("read sales: %w", err)
		}
		page := 0
		for rows.Next() {
			var id, site, machine, product, city string
			var qty, rev, at, discount int64
			if err := rows.Scan(&site, &machine, &id, &product, &city, &qty, &rev, &at, &discount); err != nil {
				rows.Close()
				return 0, fmt.Errorf("read sales: %w", err)
			}
			loc := zones[site]
			if loc == nil {
				loc = time.UTC
			}
			sale := aggregate.Sale{Site: site, City: city, Machine: machine, Product: product, Quantity: qty, Revenue: rev, At: time.UnixMilli(at)}
			d.AddSale(sale, loc)
			if discount > 0 {
				for _, r := range aggregate.SaleRows(sale, loc) {
					disc[r] += discount
				}
			}
			afterSite, afterMachine, afterTx = site, machine, id
			page++
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read sales: %w", err)
		}
		if err := rows.Close(); err != nil {
			return 0, fmt.Errorf("read sales: %w", err)
		}
		n += int64(page)
		if len(d.Rows) >= rebuildFlush || page < rebuildPage {
			sink.disc = disc
			if err := sink.AddTotals(ctx, d); err != nil {
				return 0, fmt.Errorf("upsert aggregates: %w", err)
			}
			d, disc = aggregate.NewDeltas(), map[aggregate.Row]int64{}
		}
		if page < rebuildPage {
			break
		}
	}
	if err := s.fillSiteTop(ctx); err != nil {
		return 0, err
	}
	if err := s.fillCityTop(ctx); err != nil {
		return 0, err
	}
	return n, nil
}
