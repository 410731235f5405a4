package readmodel

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
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

// siteCitiesSQL sums the per-site rows of a rollup over pieces (days and
// spans the tables, cols and sums their columns, see piecesSQL) per site,
// then per city for the sites it can place there: those central knows
// every machine of and whose machines all stand in one city (site_cities,
// migration 0027). A row is a site (empty for a city's row), its city
// (NULL for a site it cannot place), whether it cannot place it, then the
// sums: a city's row for each city, a row for each site left, so ~50 rows
// reach Go instead of one per site.
func siteCitiesSQL(days, spans, cols, sums string, pieces []rollupPiece) (string, []any) {
	src, args := piecesSQL(days, spans, cols, "site", pieces)
	var perSite strings.Builder
	for i, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		if i > 0 {
			perSite.WriteString(", ")
		}
		if c == "last_at" {
			fmt.Fprintf(&perSite, "MAX(%s) AS %s", c, c)
		} else {
			fmt.Fprintf(&perSite, "SUM(%s) AS %s", c, c)
		}
	}
	return `SELECT CASE WHEN p.placed THEN '' ELSE p.key END, CASE WHEN p.placed THEN p.city END, NOT p.placed, ` + sums + `
	FROM (SELECT d.*, c.city, (c.city IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dex_unknown_machines u WHERE u.site = d.key
			AND NOT EXISTS (SELECT 1 FROM machines m WHERE m.site = u.site AND m.machine_id = u.machine_id))) AS placed
		FROM (SELECT key, ` + perSite.String() + ` FROM (` + src + `) GROUP BY key) d LEFT JOIN site_cities c ON c.site = d.key) p
	GROUP BY 1, 2`, args
}

// cityRow is a report row that per-site sums move to their city's key.
type cityRow[T any] interface {
	dayRow[T]
	setKey(string)
}

// citySums answers a fleet-wide report by city over [from, to) = r[0]..r[3]:
// the sums of the whole days [r[1], r[2]) that sitesSQL reads per city
// and per site it cannot place (scan reads one after its key, city and
// unknown columns), plus the raw rows (raw reads one site, "" every site,
// over a range, grouped by city) of the sites that cannot be placed so and
// of the partial days at both ends; summed per city and ordered by order.
// Nothing found is a nil answer, as the raw query's.
func citySums[T any, P cityRow[T]](ctx context.Context, s *Store, days string, sitesSQL func([]rollupPiece) (string, []any), r [4]int64,
	scan func(*sqlite.Rows, *string, *sql.NullString, *bool) (P, error), raw func(site string, from, to int64) ([]T, error),
	order func(a, b T) int) ([]T, error) {
	sums := map[string]P{}
	add := func(row P) {
		if p := sums[row.key()]; p != nil {
			p.merge(*row)
			return
		}
		row.setSite("")
		sums[row.key()] = row
	}
	pieces, err := s.dataPieces(ctx, days, "site", r[1], r[2])
	if err != nil {
		return nil, err
	}
	q, args := sitesSQL(pieces)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var unplaced []string
	for rows.Next() {
		var site string
		var city sql.NullString
		var unknown bool
		row, err := scan(rows, &site, &city, &unknown)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if !city.Valid || unknown {
			unplaced = append(unplaced, site)
			continue
		}
		row.setKey(city.String)
		add(row)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	type span struct {
		site     string
		from, to int64
	}
	spans := []span{{"", r[0], r[1]}, {"", r[2], r[3]}}
	for _, site := range unplaced {
		spans = append(spans, span{site, r[1], r[2]})
	}
	for _, e := range spans {
		if e.from >= e.to {
			continue
		}
		rs, err := raw(e.site, e.from, e.to)
		if err != nil {
			return nil, err
		}
		for i := range rs {
			add(P(&rs[i]))
		}
	}
	return sortedSums(sums, order), nil
}

func (r *ReconciliationRow) setKey(k string) { r.Key = k }
func (r *CashRow) setKey(k string)           { r.Key = k }

// reconciliationsByCity answers ReconciliationReport's rows of the fleet
// by city over r (see citySums); site, machine and key are the grouping's
// columns (groupCols).
func (s *Store) reconciliationsByCity(ctx context.Context, site, machine, key string, r [4]int64) ([]ReconciliationRow, error) {
	return citySums(ctx, s, "dex_days", func(p []rollupPiece) (string, []any) {
		return siteCitiesSQL("dex_days", "dex_spans", dexSumCols, dexSums, p)
	}, r, func(rows *sqlite.Rows, k *string, city *sql.NullString, unknown *bool) (*ReconciliationRow, error) {
		var row ReconciliationRow
		var last int64
		err := rows.Scan(k, city, unknown, &row.Reconciliations, &row.MachineCount, &row.MachineCents, &row.LedgerCount, &row.LedgerCents,
			&row.UnreportedCount, &row.UnreportedCents, &row.MissingCount, &row.MissingCents, &row.PriceMismatches, &row.TestVends,
			&row.FreeVends, &row.Alerts, &last)
		row.LastReadAt = time.UnixMilli(last).UTC()
		return &row, err
	}, func(one string, from, to int64) ([]ReconciliationRow, error) {
		return s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, one != ""), one, from, to)
	}, func(a, b ReconciliationRow) int {
		return cmp.Or(cmp.Compare(b.UnreportedCents, a.UnreportedCents), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
}

// cashByCity answers CashReport's rows of the fleet by city over r as
// reconciliationsByCity does ReconciliationReport's.
func (s *Store) cashByCity(ctx context.Context, site, machine, key string, r [4]int64) ([]CashRow, error) {
	return citySums(ctx, s, "cash_days", func(p []rollupPiece) (string, []any) {
		return siteCitiesSQL("cash_days", "cash_spans", cashSumCols, cashSums, p)
	}, r, func(rows *sqlite.Rows, k *string, city *sql.NullString, unknown *bool) (*CashRow, error) {
		var row CashRow
		var last int64
		err := rows.Scan(k, city, unknown, &row.Collections, &row.Counted, &row.ExpectedLedger, &row.ExpectedDEX, &row.CountedWithDEX,
			&row.DEXCollections, &last)
		row.LastCollectedAt = time.UnixMilli(last).UTC()
		return &row, err
	}, func(one string, from, to int64) ([]CashRow, error) {
		return s.cashRows(ctx, cashSQL(site, machine, key, one != ""), one, from, to)
	}, func(a, b CashRow) int {
		return cmp.Or(cmp.Compare(a.Counted-a.ExpectedLedger, b.Counted-b.ExpectedLedger), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
}
