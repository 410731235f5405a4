package readmodel

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// The fleet's DEX and cash reports by city group each row by its
// machine's *current* city (a join at read time), so a city rollup kept on
// apply would have to move sums whenever a machine changes city. Instead
// they read the per-site rows of dex_days and cash_days for the whole days
// of the range and give each site's sums to its city, read at query time
// (site_cities, migration 0027, kept on apply from the machine rows):
// exact when every machine of the site stands in one city and central
// knows them all. A site whose machines stand in several cities, or that
// has a reconciliation or collection of a machine central has no row for
// (dex_unknown_machines, migration 0025; such rows count in city ''), is
// read from its raw rows, and so are the partial days at the range's
// edges.

// insertDEXUnknownMachine records a reconciliation's or collection's
// machine when central has no row for it yet.
const insertDEXUnknownMachine = `INSERT INTO dex_unknown_machines (site, machine_id)
	SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM machines WHERE site = ?1 AND machine_id = ?2)
	ON CONFLICT DO NOTHING`

// noteDEXMachine records machine of site in dex_unknown_machines when the
// read model does not know it: the by-city reports then read that site's
// raw rows. It runs on apply beside the reconciliation or collection.
func (k *sqliteSink) noteDEXMachine(ctx context.Context, site, machine string) error {
	if err := k.s.exec(ctx, insertDEXUnknownMachine, site, machine); err != nil {
		return fmt.Errorf("note machine: %w", err)
	}
	return nil
}

// selectPlacedSites lists the sites whose sums go to one city: those
// central knows every machine of (no row in dex_unknown_machines that
// machines does not hold) and whose machines all stand in one city
// (site_cities, migration 0027).
const selectPlacedSites = `SELECT c.site, c.city FROM site_cities c
	WHERE c.city IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dex_unknown_machines u WHERE u.site = c.site
		AND NOT EXISTS (SELECT 1 FROM machines m WHERE m.site = u.site AND m.machine_id = u.machine_id))`

// citySums answers a fleet-wide report by city over [from, to) = r[0]..r[3]:
// the per-site sums of the whole days [r[1], r[2]) (pieceSums of the
// rollup tables days and spans, cols their columns, dests a row's Scan
// destinations), each given to its site's city (selectPlacedSites), plus
// the raw rows (raw reads one site, "" every site, over a range, grouped
// by city) of the sites that cannot be placed so and of the partial days
// at both ends; summed per city and ordered by order. Nothing found is a
// nil answer, as the raw query's.
func citySums[T any, P dayRow[T]](ctx context.Context, s *Store, days, spans, cols string, r [4]int64,
	dests func(P, any, *int64) []any, raw func(site string, from, to int64) ([]T, error),
	order func(a, b T) int) ([]T, error) {
	sites, err := pieceSums(ctx, s, days, spans, cols, "site", r[1], r[2], dests)
	if err != nil {
		return nil, err
	}
	cities := make(map[string]string, len(sites))
	if len(sites) > 0 {
		rows, err := s.db.Query(ctx, selectPlacedSites)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var site, city string
			if err := rows.Scan(&site, &city); err != nil {
				rows.Close()
				return nil, err
			}
			cities[site] = city
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	sums := map[string]P{}
	var unplaced []string
	for site, row := range sites {
		city, ok := cities[site]
		if !ok {
			unplaced = append(unplaced, site)
			continue
		}
		row.setKey(city)
		addSum(sums, row, "")
	}
	slices.Sort(unplaced) // the raw reads in a stable order
	type span struct {
		site     string
		from, to int64
	}
	reads := []span{{"", r[0], r[1]}, {"", r[2], r[3]}}
	for _, site := range unplaced {
		reads = append(reads, span{site, r[1], r[2]})
	}
	for _, e := range reads {
		if e.from >= e.to {
			continue
		}
		rs, err := raw(e.site, e.from, e.to)
		if err != nil {
			return nil, err
		}
		for i := range rs {
			addSum(sums, P(&rs[i]), "")
		}
	}
	return sortedSums(sums, order), nil
}

// reconciliationsByCity answers ReconciliationReport's rows of the fleet
// by city over r (see citySums); site, machine and key are the grouping's
// columns (groupCols).
func (s *Store) reconciliationsByCity(ctx context.Context, site, machine, key string, r [4]int64) ([]ReconciliationRow, error) {
	return citySums(ctx, s, "dex_days", "dex_spans", dexSumCols, r, reconciliationSums, func(one string, from, to int64) ([]ReconciliationRow, error) {
		return s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, one != ""), one, from, to)
	}, func(a, b ReconciliationRow) int {
		return cmp.Or(cmp.Compare(b.UnreportedCents, a.UnreportedCents), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
}

// cashByCity answers CashReport's rows of the fleet by city over r as
// reconciliationsByCity does ReconciliationReport's.
func (s *Store) cashByCity(ctx context.Context, site, machine, key string, r [4]int64) ([]CashRow, error) {
	return citySums(ctx, s, "cash_days", "cash_spans", cashSumCols, r, cashSums, func(one string, from, to int64) ([]CashRow, error) {
		return s.cashRows(ctx, cashSQL(site, machine, key, one != ""), one, from, to)
	}, func(a, b CashRow) int {
		return cmp.Or(cmp.Compare(a.Counted-a.ExpectedLedger, b.Counted-b.ExpectedLedger), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
}
