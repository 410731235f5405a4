package readmodel

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// dex_days and cash_days (migration 0022) hold the DEX reconciliations and
// cash collections summed per UTC day and per site or driver, kept on
// apply. The fleet's reports grouped by site or driver read them for the
// whole days of the range and the raw rows (the old query) only for the
// partial days at its edges. Grouped by machine or city (a machine's
// current city), or for one site (a key range of the raw rows), they read
// the raw rows as before.

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
	return nil
}

const (
	selectDEXDays = `SELECT key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents,
		missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at
		FROM dex_days WHERE grp = ? AND day >= ? AND day < ?`
	selectCashDays = `SELECT key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at
		FROM cash_days WHERE grp = ? AND day >= ? AND day < ?`
)

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
	if grp == "" || !ok {
		return s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, q.Site != ""), q.Site, from, to)
	}
	sums := map[string]*ReconciliationRow{}
	add := func(r ReconciliationRow) {
		p := sums[r.Key]
		if p == nil {
			r.Site = ""
			if grp == "site" {
				r.Site = r.Key
			}
			sums[r.Key] = &r
			return
		}
		p.Reconciliations += r.Reconciliations
		p.MachineCount += r.MachineCount
		p.MachineCents += r.MachineCents
		p.LedgerCount += r.LedgerCount
		p.LedgerCents += r.LedgerCents
		p.UnreportedCount += r.UnreportedCount
		p.UnreportedCents += r.UnreportedCents
		p.MissingCount += r.MissingCount
		p.MissingCents += r.MissingCents
		p.PriceMismatches += r.PriceMismatches
		p.TestVends += r.TestVends
		p.FreeVends += r.FreeVends
		p.Alerts += r.Alerts
		if r.LastReadAt.After(p.LastReadAt) {
			p.LastReadAt = r.LastReadAt
		}
	}
	rows, err := s.db.R.QueryContext(ctx, selectDEXDays, grp, a, b)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r ReconciliationRow
		var last int64
		if err := rows.Scan(&r.Key, &r.Reconciliations, &r.MachineCount, &r.MachineCents, &r.LedgerCount, &r.LedgerCents,
			&r.UnreportedCount, &r.UnreportedCents, &r.MissingCount, &r.MissingCents, &r.PriceMismatches, &r.TestVends, &r.FreeVends,
			&r.Alerts, &last); err != nil {
			rows.Close()
			return nil, err
		}
		r.LastReadAt = time.UnixMilli(last).UTC()
		add(r)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, e := range [2][2]int64{{from, a}, {b, to}} {
		if e[0] >= e[1] {
			continue
		}
		edge, err := s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, false), "", e[0], e[1])
		if err != nil {
			return nil, err
		}
		for _, r := range edge {
			add(r)
		}
	}
	if len(sums) == 0 {
		return nil, nil // as the raw query answers
	}
	out := make([]ReconciliationRow, 0, len(sums))
	for _, r := range sums {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ReconciliationRow) int {
		return cmp.Or(cmp.Compare(b.UnreportedCents, a.UnreportedCents), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// cash answers CashReport's rows as reconciliations does ReconciliationReport's.
func (s *Store) cash(ctx context.Context, q DEXQuery, site, machine, key string, from, to int64) ([]CashRow, error) {
	grp := daysGroup(q)
	a, b, ok := wholeDays(from, to)
	if grp == "" || !ok {
		return s.cashRows(ctx, cashSQL(site, machine, key, q.Site != ""), q.Site, from, to)
	}
	sums := map[string]*CashRow{}
	add := func(r CashRow) {
		p := sums[r.Key]
		if p == nil {
			r.Site = ""
			if grp == "site" {
				r.Site = r.Key
			}
			sums[r.Key] = &r
			return
		}
		p.Collections += r.Collections
		p.Counted += r.Counted
		p.ExpectedLedger += r.ExpectedLedger
		p.ExpectedDEX += r.ExpectedDEX
		p.CountedWithDEX += r.CountedWithDEX
		p.DEXCollections += r.DEXCollections
		if r.LastCollectedAt.After(p.LastCollectedAt) {
			p.LastCollectedAt = r.LastCollectedAt
		}
	}
	rows, err := s.db.R.QueryContext(ctx, selectCashDays, grp, a, b)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r CashRow
		var last int64
		if err := rows.Scan(&r.Key, &r.Collections, &r.Counted, &r.ExpectedLedger, &r.ExpectedDEX, &r.CountedWithDEX,
			&r.DEXCollections, &last); err != nil {
			rows.Close()
			return nil, err
		}
		r.LastCollectedAt = time.UnixMilli(last).UTC()
		add(r)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, e := range [2][2]int64{{from, a}, {b, to}} {
		if e[0] >= e[1] {
			continue
		}
		edge, err := s.cashRows(ctx, cashSQL(site, machine, key, false), "", e[0], e[1])
		if err != nil {
			return nil, err
		}
		for _, r := range edge {
			add(r)
		}
	}
	if len(sums) == 0 {
		return nil, nil
	}
	out := make([]CashRow, 0, len(sums))
	for _, r := range sums {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b CashRow) int {
		return cmp.Or(cmp.Compare(a.Counted-a.ExpectedLedger, b.Counted-b.ExpectedLedger), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}
