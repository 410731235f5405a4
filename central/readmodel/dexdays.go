package readmodel

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/sync/envelope"
)

// dex_days and cash_days (migration 0022) hold the DEX reconciliations and
// cash collections summed per UTC day and per site or driver, kept on
// apply, and dex_spans and cash_spans (0026) the same per aligned block of
// days (dexspans.go). The fleet's reports grouped by site or driver read
// them for the whole days of the range and the raw rows (the old query) only for the
// partial days at its edges. Grouped by city (a machine's current city),
// they read the per-site rows and give each site's sums to its city
// (dexcity.go). Grouped by machine, or for one site (a key range of the
// raw rows), they read the raw rows as before.

const dayMS = 86400000

const (
	selectReconciliationOld = `SELECT to_at, uploaded_by, revision, machine_count, machine_cents, ledger_count, ledger_cents,
		unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted
		FROM dex_reconciliations WHERE site = ? AND reconciliation_id = ?`
	upsertDEXDay = `INSERT INTO dex_days (grp, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents,
		unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (grp, day, key) DO UPDATE SET n = n + excluded.n,
			machine_count = machine_count + excluded.machine_count, machine_cents = machine_cents + excluded.machine_cents,
			ledger_count = ledger_count + excluded.ledger_count, ledger_cents = ledger_cents + excluded.ledger_cents,
			unreported_count = unreported_count + excluded.unreported_count, unreported_cents = unreported_cents + excluded.unreported_cents,
			missing_count = missing_count + excluded.missing_count, missing_cents = missing_cents + excluded.missing_cents,
			price_mismatches = price_mismatches + excluded.price_mismatches, test_vends = test_vends + excluded.test_vends,
			free_vends = free_vends + excluded.free_vends, alerted = alerted + excluded.alerted, last_at = MAX(last_at, excluded.last_at)`
	selectCashSeen = `SELECT EXISTS (SELECT 1 FROM cash_collections WHERE site = ? AND collection_id = ?)`
	upsertCashDay  = `INSERT INTO cash_days (grp, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
		VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (grp, day, key) DO UPDATE SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents,
			expected_ledger = expected_ledger + excluded.expected_ledger, expected_dex = expected_dex + excluded.expected_dex,
			counted_with_dex = counted_with_dex + excluded.counted_with_dex, dex_n = dex_n + excluded.dex_n,
			last_at = MAX(last_at, excluded.last_at)`
)

// rollupReconciliation adds d to dex_days as the insert that follows
// changes dex_reconciliations: a new one adds its sums, a higher revision
// the difference to the row it replaces (whose time and uploader stay), a
// redelivered or older one nothing. It runs before that insert.
func (k *sqliteSink) rollupReconciliation(ctx context.Context, site string, d *envelope.Reconciliation) error {
	v := [12]int64{d.MachineCount, d.MachineValue, d.LedgerCount, d.LedgerValue, d.UnreportedCount, d.UnreportedValue,
		d.MissingCount, d.MissingValue, d.PriceMismatches, d.TestVends, d.FreeVends, 0}
	if d.Alerted {
		v[11] = 1
	}
	var old [12]int64
	var at, rev int64
	var by string
	err := k.s.queryRow(ctx, selectReconciliationOld, site, d.ID).Scan(&at, &by, &rev, &old[0], &old[1], &old[2], &old[3],
		&old[4], &old[5], &old[6], &old[7], &old[8], &old[9], &old[10], &old[11])
	n := int64(0)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		at, by, n = ms(d.To), d.By, 1
	case err != nil:
		return fmt.Errorf("read reconciliation: %w", err)
	case d.Revision <= rev:
		return nil
	default:
		for i := range v {
			v[i] -= old[i]
		}
	}
	for _, g := range [2][2]string{{"site", site}, {"driver", by}} {
		if err := k.s.exec(ctx, upsertDEXDay, g[0], at-at%dayMS, g[1], n, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
			v[8], v[9], v[10], v[11], at); err != nil {
			return fmt.Errorf("count reconciliation: %w", err)
		}
	}
	if err := k.s.exec(ctx, upsertDEXSpans, site, by, at-at%dayMS, n, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
		v[8], v[9], v[10], v[11], at); err != nil {
		return fmt.Errorf("count reconciliation: %w", err)
	}
	return nil
}

// rollupCash adds d to cash_days when it is a new collection. It runs
// before the insert.
func (k *sqliteSink) rollupCash(ctx context.Context, site string, d *envelope.CashCollection) error {
	var seen bool
	if err := k.s.queryRow(ctx, selectCashSeen, site, d.CollectionID).Scan(&seen); err != nil {
		return fmt.Errorf("read cash collection: %w", err)
	}
	if seen {
		return nil
	}
	var dex, withDEX, dexN int64
	if d.ExpectedDEX != nil {
		dex, withDEX, dexN = *d.ExpectedDEX, d.AmountCents, 1
	}
	at := ms(d.CollectedAt)
	for _, g := range [2][2]string{{"site", site}, {"driver", d.Driver}} {
		if err := k.s.exec(ctx, upsertCashDay, g[0], at-at%dayMS, g[1], d.AmountCents, d.ExpectedLedger, dex, withDEX, dexN, at); err != nil {
			return fmt.Errorf("count cash collection: %w", err)
		}
	}
	if err := k.s.exec(ctx, upsertCashSpans, site, d.Driver, at-at%dayMS, 1, d.AmountCents, d.ExpectedLedger, dex, withDEX, dexN, at); err != nil {
		return fmt.Errorf("count cash collection: %w", err)
	}
	return nil
}

// daysGroup returns the dex_days / cash_days group that answers q, "" when
// q must read the raw rows.
func daysGroup(q DEXQuery) string {
	if q.Site != "" {
		return ""
	}
	switch q.GroupBy {
	case DEXBySite:
		return "site"
	case DEXByDriver:
		return "driver"
	}
	return ""
}

// wholeDays splits [from, to) (unix ms) into its whole UTC days [a, b) and
// the partial days before and after; ok is false when it holds no whole day.
func wholeDays(from, to int64) (a, b int64, ok bool) {
	a = from - from%dayMS
	if a < from {
		a += dayMS
	}
	b = to - to%dayMS
	return a, b, from >= 0 && a < b
}

// reconciliations answers ReconciliationReport's rows: from dex_days and
// the edges' raw rows when q is grouped by site or driver over the fleet,
// else from the raw rows.
func (s *Store) reconciliations(ctx context.Context, q DEXQuery, site, machine, key string, from, to int64) ([]ReconciliationRow, error) {
	grp := daysGroup(q)
	a, b, ok := wholeDays(from, to)
	if ok && q.Site == "" && q.GroupBy == DEXByCity {
		return s.reconciliationsByCity(ctx, site, machine, key, [4]int64{from, a, b, to})
	}
	if grp == "" || !ok {
		return s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, q.Site != ""), q.Site, from, to)
	}
	return daySums(ctx, s, "dex_days", "dex_spans", dexSumCols, grp, [4]int64{from, a, b, to}, reconciliationSums, func(from, to int64) ([]ReconciliationRow, error) {
		return s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, false), "", from, to)
	}, func(a, b ReconciliationRow) int {
		return cmp.Or(cmp.Compare(b.UnreportedCents, a.UnreportedCents), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
}

// cash answers CashReport's rows as reconciliations does ReconciliationReport's.
func (s *Store) cash(ctx context.Context, q DEXQuery, site, machine, key string, from, to int64) ([]CashRow, error) {
	grp := daysGroup(q)
	a, b, ok := wholeDays(from, to)
	if ok && q.Site == "" && q.GroupBy == DEXByCity {
		return s.cashByCity(ctx, site, machine, key, [4]int64{from, a, b, to})
	}
	if grp == "" || !ok {
		return s.cashRows(ctx, cashSQL(site, machine, key, q.Site != ""), q.Site, from, to)
	}
	return daySums(ctx, s, "cash_days", "cash_spans", cashSumCols, grp, [4]int64{from, a, b, to}, cashSums, func(from, to int64) ([]CashRow, error) {
		return s.cashRows(ctx, cashSQL(site, machine, key, false), "", from, to)
	}, func(a, b CashRow) int {
		return cmp.Or(cmp.Compare(a.Counted-a.ExpectedLedger, b.Counted-b.ExpectedLedger), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
}

// dayRow is a report row that per-day rollup rows and raw rows of the same
// key sum into.
type dayRow[T any] interface {
	*T
	key() string
	setKey(string)
	setLast(ms int64)
	setSite(string)
	merge(T)
}

// reconciliationSums are the Scan destinations of a row of dex_days or
// dex_spans (key, then dexSumCols): key, r's sums, last.
func reconciliationSums(r *ReconciliationRow, key any, last *int64) []any {
	return []any{key, &r.Reconciliations, &r.MachineCount, &r.MachineCents, &r.LedgerCount, &r.LedgerCents,
		&r.UnreportedCount, &r.UnreportedCents, &r.MissingCount, &r.MissingCents, &r.PriceMismatches, &r.TestVends, &r.FreeVends,
		&r.Alerts, last}
}

// cashSums are the Scan destinations of a row of cash_days or cash_spans
// (key, then cashSumCols): key, r's sums, last.
func cashSums(r *CashRow, key any, last *int64) []any {
	return []any{key, &r.Collections, &r.Counted, &r.ExpectedLedger, &r.ExpectedDEX, &r.CountedWithDEX, &r.DEXCollections, last}
}

// pieceSums sums per key the rows of group grp of the rollup tables days
// and spans that make up the whole days [a, b) (key and cols, see
// piecesSQL; dests gives the Scan destinations of a row: its key, a T's
// sums, its last time in unix ms). The rows are summed here as they come,
// not by SQL: a GROUP BY over the pieces' UNION ALL sorted all of them
// (~6,000 rows of 1,000 sites for 30 days) and ran SQLite's aggregate
// steps, over half of a fleet report's time. A row's key is read into one
// array and made a string only for a key not seen yet.
func pieceSums[T any, P dayRow[T]](ctx context.Context, s *Store, days, spans, cols, grp string, a, b int64,
	dests func(P, any, *int64) []any) (map[string]P, error) {
	pieces, err := s.dataPieces(ctx, days, grp, a, b)
	if err != nil {
		return nil, err
	}
	q, args := piecesSQL(days, spans, cols, grp, pieces)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sums := map[string]P{}
	var row T // the scan's targets: on the heap once per query, not per row
	var last int64
	var arena, key []byte
	dest := dests(&row, &sqlite.AppendBytes{Arena: &arena, Dst: &key}, &last)
	for rows.Next() {
		arena = arena[:0]
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		P(&row).setLast(last)
		if p := sums[string(key)]; p != nil { // no string made for the lookup
			p.merge(row)
			continue
		}
		p := P(new(T))
		*p = row
		p.setKey(string(key))
		sums[p.key()] = p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return sums, rows.Close()
}

// daySums answers a fleet-wide report grouped by grp (site or driver) over
// [from, to) = r[0]..r[3]: the sums per key of the whole days [r[1], r[2])
// (pieceSums), plus the raw rows of the partial days at both ends (edge
// reads a range), summed per key and ordered by order. Nothing found is a
// nil answer, as the raw query's.
func daySums[T any, P dayRow[T]](ctx context.Context, s *Store, days, spans, cols, grp string, r [4]int64,
	dests func(P, any, *int64) []any, edge func(from, to int64) ([]T, error), order func(a, b T) int) ([]T, error) {
	sums, err := pieceSums(ctx, s, days, spans, cols, grp, r[1], r[2], dests)
	if err != nil {
		return nil, err
	}
	if grp == "site" {
		for k, p := range sums {
			p.setSite(k)
		}
	}
	for _, e := range [2][2]int64{{r[0], r[1]}, {r[2], r[3]}} {
		if e[0] >= e[1] {
			continue
		}
		raw, err := edge(e[0], e[1])
		if err != nil {
			return nil, err
		}
		for i := range raw {
			site := ""
			if grp == "site" {
				site = P(&raw[i]).key()
			}
			addSum(sums, P(&raw[i]), site)
		}
	}
	return sortedSums(sums, order), nil
}

func (r *ReconciliationRow) key() string      { return r.Key }
func (r *ReconciliationRow) setKey(k string)  { r.Key = k }
func (r *ReconciliationRow) setLast(ms int64) { r.LastReadAt = time.UnixMilli(ms).UTC() }
func (r *ReconciliationRow) setSite(s string) { r.Site = s }
func (r *ReconciliationRow) merge(o ReconciliationRow) {
	r.Reconciliations += o.Reconciliations
	r.MachineCount += o.MachineCount
	r.MachineCents += o.MachineCents
	r.LedgerCount += o.LedgerCount
	r.LedgerCents += o.LedgerCents
	r.UnreportedCount += o.UnreportedCount
	r.UnreportedCents += o.UnreportedCents
	r.MissingCount += o.MissingCount
	r.MissingCents += o.MissingCents
	r.PriceMismatches += o.PriceMismatches
	r.TestVends += o.TestVends
	r.FreeVends += o.FreeVends
	r.Alerts += o.Alerts
	if o.LastReadAt.After(r.LastReadAt) {
		r.LastReadAt = o.LastReadAt
	}
}

func (r *CashRow) key() string      { return r.Key }
func (r *CashRow) setKey(k string)  { r.Key = k }
func (r *CashRow) setLast(ms int64) { r.LastCollectedAt = time.UnixMilli(ms).UTC() }
func (r *CashRow) setSite(s string) { r.Site = s }
func (r *CashRow) merge(o CashRow) {
	r.Collections += o.Collections
	r.Counted += o.Counted
	r.ExpectedLedger += o.ExpectedLedger
	r.ExpectedDEX += o.ExpectedDEX
	r.CountedWithDEX += o.CountedWithDEX
	r.DEXCollections += o.DEXCollections
	if o.LastCollectedAt.After(r.LastCollectedAt) {
		r.LastCollectedAt = o.LastCollectedAt
	}
}

// sortedSums is the rows of a rollup's sums in order, or nil for none.
// addSum merges row into its key's sums, or keeps it there as the first,
// of site (empty for a key that is not one site).
func addSum[T any, P dayRow[T]](sums map[string]P, row P, site string) {
	if p := sums[row.key()]; p != nil {
		p.merge(*row)
		return
	}
	row.setSite(site)
	sums[row.key()] = row
}

func sortedSums[T any, P interface{ *T }](sums map[string]P, order func(a, b T) int) []T {
	if len(sums) == 0 {
		return nil
	}
	out := make([]T, 0, len(sums))
	for _, p := range sums {
		out = append(out, *p)
	}
	slices.SortFunc(out, order)
	return out
}
