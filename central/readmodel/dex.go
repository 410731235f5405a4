package readmodel

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Visits and cash collections are immutable facts: the first copy of an id
// is kept, a redelivered one changes nothing. A reconciliation is revised
// at the site when sales arrive late inside its period: a higher revision
// of an id replaces the row, a redelivered or older one changes nothing.
const (
	insertReconciliation = `INSERT INTO dex_reconciliations (site, reconciliation_id, machine_id, from_at, to_at,
		machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents,
		price_mismatches, test_vends, free_vends, alerted, uploaded_by, seq, revision)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, reconciliation_id) DO UPDATE SET
			machine_count = excluded.machine_count, machine_cents = excluded.machine_cents,
			ledger_count = excluded.ledger_count, ledger_cents = excluded.ledger_cents,
			unreported_count = excluded.unreported_count, unreported_cents = excluded.unreported_cents,
			missing_count = excluded.missing_count, missing_cents = excluded.missing_cents,
			price_mismatches = excluded.price_mismatches, test_vends = excluded.test_vends, free_vends = excluded.free_vends,
			alerted = excluded.alerted, seq = excluded.seq, revision = excluded.revision
		WHERE excluded.revision > dex_reconciliations.revision`
	insertVisit = `INSERT INTO visits (site, visit_id, machine_id, arrived_at, left_at, driver, notes, actions, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	insertCash = `INSERT INTO cash_collections (site, collection_id, machine_id, collected_at, amount_cents, currency, driver,
		expected_ledger, expected_dex, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
)

// upsertDEX records f when it is a DEX, visit or cash fact; ok is false
// for any other fact.
func (k *sqliteSink) upsertDEX(ctx context.Context, site string, f aggregate.Fact) (ok bool, err error) {
	seq := int64(f.Seq)
	switch d := f.Data.(type) {
	case *envelope.Reconciliation:
		if err := k.rollupReconciliation(ctx, site, d); err != nil {
			return true, err
		}
		if err := k.noteDEXMachine(ctx, site, d.MachineID); err != nil {
			return true, err
		}
		return true, k.s.exec(ctx, insertReconciliation, site, d.ID, d.MachineID, ms(d.From), ms(d.To),
			d.MachineCount, d.MachineValue, d.LedgerCount, d.LedgerValue, d.UnreportedCount, d.UnreportedValue,
			d.MissingCount, d.MissingValue, d.PriceMismatches, d.TestVends, d.FreeVends, d.Alerted, d.By, seq, d.Revision)
	case *envelope.Visit:
		acts, err := json.Marshal(d.Actions)
		if err != nil {
			return true, err
		}
		return true, k.s.exec(ctx, insertVisit, site, d.VisitID, d.MachineID, ms(d.ArrivedAt), ms(d.LeftAt), d.Driver, d.Notes, string(acts), seq)
	case *envelope.CashCollection:
		if err := k.rollupCash(ctx, site, d); err != nil {
			return true, err
		}
		if err := k.noteDEXMachine(ctx, site, d.MachineID); err != nil {
			return true, err
		}
		return true, k.s.exec(ctx, insertCash, site, d.CollectionID, d.MachineID, ms(d.CollectedAt), d.AmountCents, d.Currency,
			d.Driver, d.ExpectedLedger, d.ExpectedDEX, seq)
	}
	return false, nil
}

// DEXGroup is how a DEX or cash report groups its rows.
type DEXGroup string

// The groupings of ReconciliationReport and CashReport.
const (
	DEXByMachine DEXGroup = "machine"
	DEXBySite    DEXGroup = "site"
	DEXByCity    DEXGroup = "city"
	DEXByDriver  DEXGroup = "driver"
)

// DEXQuery selects a reconciliation or cash report: the grouping, one
// site ("" all), and a time range (zero: open) of the later read or the
// collection.
type DEXQuery struct {
	GroupBy  DEXGroup
	Site     string
	From, To time.Time
}

// groupCols are the SQL key columns of a grouping: site, machine, key.
// driver is the column naming who (uploaded_by or driver).
func groupCols(g DEXGroup, alias, driver string) (site, machine, key string, err error) {
	switch g {
	case DEXByMachine, "":
		return alias + ".site", alias + ".machine_id", alias + ".machine_id", nil
	case DEXBySite:
		return alias + ".site", "''", alias + ".site", nil
	case DEXByCity:
		return "''", "''", "COALESCE(m.city, '')", nil
	case DEXByDriver:
		return "''", "''", alias + "." + driver, nil
	}
	return "", "", "", fmt.Errorf("%w: groupBy %q: want machine, site, city or driver", ErrInvalidQuery, g)
}

func bounds(q DEXQuery) (from, to int64) {
	to = 1<<63 - 1
	if !q.From.IsZero() {
		from = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	return from, to
}

// ReconciliationRow is one group's reconciliation totals (cents).
type ReconciliationRow struct {
	Site, MachineID, Key                  string
	Reconciliations                       int64
	MachineCount, MachineCents            int64
	LedgerCount, LedgerCents              int64
	UnreportedCount, UnreportedCents      int64
	MissingCount, MissingCents            int64
	PriceMismatches, TestVends, FreeVends int64
	Alerts                                int64
	LastReadAt                            time.Time
}

// ReconciliationResult is a reconciliation report with the freshness of
// the sites it covers.
type ReconciliationResult struct {
	Rows      []ReconciliationRow
	Freshness []Freshness
}

// reconciliationSQL is the query of ReconciliationReport grouped by the
// columns of groupCols, of one site ?1 when oneSite (a site's rows are a
// range of the primary key) or of every site.
func reconciliationSQL(site, machine, key string, oneSite bool) string {
	where := `r.to_at >= ?2 AND r.to_at < ?3`
	if oneSite {
		where += ` AND r.site = ?1`
	}
	return `SELECT ` + site + `, ` + machine + `, ` + key + `, COUNT(*),
		SUM(r.machine_count), SUM(r.machine_cents), SUM(r.ledger_count), SUM(r.ledger_cents),
		SUM(r.unreported_count), SUM(r.unreported_cents), SUM(r.missing_count), SUM(r.missing_cents),
		SUM(r.price_mismatches), SUM(r.test_vends), SUM(r.free_vends), SUM(r.alerted), MAX(r.to_at)
		FROM dex_reconciliations r LEFT JOIN machines m ON m.site = r.site AND m.machine_id = r.machine_id
		WHERE ` + where + `
		GROUP BY 1, 2, 3 ORDER BY SUM(r.unreported_cents) DESC, 1, 3`
}

// ReconciliationReport sums DEX reconciliations per group, largest
// unreported value first. It returns an error wrapping ErrInvalidQuery for
// an unknown grouping.
func (s *Store) ReconciliationReport(ctx context.Context, q DEXQuery) (ReconciliationResult, error) {
	site, machine, key, err := groupCols(q.GroupBy, "r", "uploaded_by")
	if err != nil {
		return ReconciliationResult{}, err
	}
	from, to := bounds(q)
	var res ReconciliationResult
	if res.Rows, err = s.reconciliations(ctx, q, site, machine, key, from, to); err != nil {
		return ReconciliationResult{}, fmt.Errorf("query reconciliations: %w", err)
	}
	if res.Freshness, err = s.freshness(ctx, "", q.Site); err != nil {
		return ReconciliationResult{}, err
	}
	return res, nil
}

// CashRow is one group's cash collections (cents).
type CashRow struct {
	Site, MachineID, Key        string
	Collections                 int64
	Counted, ExpectedLedger     int64
	ExpectedDEX, CountedWithDEX int64
	DEXCollections              int64
	LastCollectedAt             time.Time
}

// CashResult is a cash report with the freshness of the sites it covers.
type CashResult struct {
	Rows      []CashRow
	Freshness []Freshness
}

// cashSQL is the query of CashReport grouped by the columns of groupCols,
// of one site ?1 when oneSite or of every site.
func cashSQL(site, machine, key string, oneSite bool) string {
	where := `c.collected_at >= ?2 AND c.collected_at < ?3`
	if oneSite {
		where += ` AND c.site = ?1`
	}
	return `SELECT ` + site + `, ` + machine + `, ` + key + `, COUNT(*),
		SUM(c.amount_cents), SUM(c.expected_ledger), COALESCE(SUM(c.expected_dex), 0),
		COALESCE(SUM(CASE WHEN c.expected_dex IS NOT NULL THEN c.amount_cents END), 0), COUNT(c.expected_dex), MAX(c.collected_at)
		FROM cash_collections c LEFT JOIN machines m ON m.site = c.site AND m.machine_id = c.machine_id
		WHERE ` + where + `
		GROUP BY 1, 2, 3 ORDER BY SUM(c.amount_cents) - SUM(c.expected_ledger), 1, 3`
}

// CashReport sums cash collections per group, largest shortage against
// the ledger first. It returns an error wrapping ErrInvalidQuery for an
// unknown grouping.
func (s *Store) CashReport(ctx context.Context, q DEXQuery) (CashResult, error) {
	site, machine, key, err := groupCols(q.GroupBy, "c", "driver")
	if err != nil {
		return CashResult{}, err
	}
	from, to := bounds(q)
	var res CashResult
	if res.Rows, err = s.cash(ctx, q, site, machine, key, from, to); err != nil {
		return CashResult{}, fmt.Errorf("query cash: %w", err)
	}
	if res.Freshness, err = s.freshness(ctx, "", q.Site); err != nil {
		return CashResult{}, err
	}
	return res, nil
}

// reconciliationRows runs query, a reconciliationSQL, over site and the
// range [from, to) (unix ms).
func (s *Store) reconciliationRows(ctx context.Context, query, site string, from, to int64) ([]ReconciliationRow, error) {
	rows, err := s.db.Query(ctx, query, site, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReconciliationRow
	for rows.Next() {
		var r ReconciliationRow
		var last int64
		if err := rows.Scan(&r.Site, &r.MachineID, &r.Key, &r.Reconciliations, &r.MachineCount, &r.MachineCents, &r.LedgerCount, &r.LedgerCents,
			&r.UnreportedCount, &r.UnreportedCents, &r.MissingCount, &r.MissingCents, &r.PriceMismatches, &r.TestVends, &r.FreeVends,
			&r.Alerts, &last); err != nil {
			return nil, err
		}
		r.LastReadAt = time.UnixMilli(last).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// cashRows runs query, a cashSQL, over site and the range [from, to) (unix ms).
func (s *Store) cashRows(ctx context.Context, query, site string, from, to int64) ([]CashRow, error) {
	rows, err := s.db.Query(ctx, query, site, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CashRow
	for rows.Next() {
		var r CashRow
		var last int64
		if err := rows.Scan(&r.Site, &r.MachineID, &r.Key, &r.Collections, &r.Counted, &r.ExpectedLedger, &r.ExpectedDEX,
			&r.CountedWithDEX, &r.DEXCollections, &last); err != nil {
			return nil, err
		}
		r.LastCollectedAt = time.UnixMilli(last).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
