package api

import (
	"net/http"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// finance may read the DEX reconciliation and cash reports.
var finance = []auth.Role{auth.RoleAdmin, auth.RoleFinance}

// dexRoutes are the DEX reconciliation and cash reports.
var dexRoutes = []Route{
	{Method: "GET", Pattern: "/reports/reconciliation", Roles: finance},
	{Method: "GET", Pattern: "/reports/cash", Roles: finance},
}

func (s *server) dexHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /reports/reconciliation": s.reconciliationReport,
		"GET /reports/cash":           s.cashReport,
	}
}

// dexQuery reads groupBy, siteId, from and to (RFC 3339, or a date in UTC).
func dexQuery(r *http.Request) (readmodel.DEXQuery, error) {
	v := r.URL.Query()
	q := readmodel.DEXQuery{GroupBy: readmodel.DEXGroup(v.Get("groupBy")), Site: v.Get("siteId")}
	if q.GroupBy == "" {
		q.GroupBy = readmodel.DEXByMachine
	}
	if err := oneOf("groupBy", string(q.GroupBy), "machine", "site", "city", "driver"); err != nil {
		return q, err
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, s); err != nil {
				return q, web.Invalid(p.name, "%s %q: use RFC 3339 (2025-01-10T10:00:00Z) or a date (2025-01-10, UTC)", p.name, s)
			}
		}
		*p.dst = t
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, web.Invalid("from", "from must be before to")
	}
	return q, nil
}

func rangeStrings(q readmodel.DEXQuery) (from, to string) {
	if !q.From.IsZero() {
		from = q.From.UTC().Format(time.RFC3339)
	}
	if !q.To.IsZero() {
		to = q.To.UTC().Format(time.RFC3339)
	}
	return from, to
}

// reconciliationReport is GET /reports/reconciliation?groupBy=&siteId=&from=&to=:
// DEX reads reconciled against the ledger, per machine (default), site,
// city or driver, largest unreported value first.
func (s *server) reconciliationReport(w http.ResponseWriter, r *http.Request) error {
	q, err := dexQuery(r)
	if err != nil {
		return err
	}
	res, err := s.cfg.Store.ReconciliationReport(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.ReconciliationReport{GroupBy: string(q.GroupBy), Rows: []hqapi.ReconciliationRow{}, Sites: s.freshnessList(res.Freshness)}
	out.From, out.To = rangeStrings(q)
	t := &out.Totals
	t.Key = "total"
	for _, x := range res.Rows {
		row := hqapi.ReconciliationRow{Key: x.Key, SiteID: x.Site, MachineID: x.MachineID, Reconciliations: x.Reconciliations,
			MachineCount: x.MachineCount, MachineValue: wire.Money(x.MachineCents), LedgerCount: x.LedgerCount, LedgerValue: wire.Money(x.LedgerCents),
			UnreportedCount: x.UnreportedCount, UnreportedValue: wire.Money(x.UnreportedCents), MissingCount: x.MissingCount,
			MissingValue: wire.Money(x.MissingCents), PriceMismatches: x.PriceMismatches, TestVends: x.TestVends, FreeVends: x.FreeVends,
			Alerts: x.Alerts, LastReadAt: timePtr(x.LastReadAt)}
		out.Rows = append(out.Rows, row)
		t.Reconciliations += row.Reconciliations
		t.MachineCount += row.MachineCount
		t.MachineValue += row.MachineValue
		t.LedgerCount += row.LedgerCount
		t.LedgerValue += row.LedgerValue
		t.UnreportedCount += row.UnreportedCount
		t.UnreportedValue += row.UnreportedValue
		t.MissingCount += row.MissingCount
		t.MissingValue += row.MissingValue
		t.PriceMismatches += row.PriceMismatches
		t.TestVends += row.TestVends
		t.FreeVends += row.FreeVends
		t.Alerts += row.Alerts
		if t.LastReadAt == nil || (row.LastReadAt != nil && row.LastReadAt.After(*t.LastReadAt)) {
			t.LastReadAt = row.LastReadAt
		}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// cashReport is GET /reports/cash?groupBy=&siteId=&from=&to=: cash counted
// against expected (ledger and DEX), per machine (default), site, city or
// driver, largest shortage first.
func (s *server) cashReport(w http.ResponseWriter, r *http.Request) error {
	q, err := dexQuery(r)
	if err != nil {
		return err
	}
	res, err := s.cfg.Store.CashReport(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.CashReport{GroupBy: string(q.GroupBy), Rows: []hqapi.CashRow{}, Sites: s.freshnessList(res.Freshness)}
	out.From, out.To = rangeStrings(q)
	t := &out.Totals
	t.Key = "total"
	for _, x := range res.Rows {
		row := hqapi.CashRow{Key: x.Key, SiteID: x.Site, MachineID: x.MachineID, Collections: x.Collections,
			Counted: wire.Money(x.Counted), ExpectedLedger: wire.Money(x.ExpectedLedger), OverShortLedger: wire.Money(x.Counted - x.ExpectedLedger),
			ExpectedDEX: wire.Money(x.ExpectedDEX), OverShortDEX: wire.Money(x.CountedWithDEX - x.ExpectedDEX), DEXCollections: x.DEXCollections,
			LastCollectedAt: timePtr(x.LastCollectedAt)}
		out.Rows = append(out.Rows, row)
		t.Collections += row.Collections
		t.Counted += row.Counted
		t.ExpectedLedger += row.ExpectedLedger
		t.OverShortLedger += row.OverShortLedger
		t.ExpectedDEX += row.ExpectedDEX
		t.OverShortDEX += row.OverShortDEX
		t.DEXCollections += row.DEXCollections
		if t.LastCollectedAt == nil || (row.LastCollectedAt != nil && row.LastCollectedAt.After(*t.LastCollectedAt)) {
			t.LastCollectedAt = row.LastCollectedAt
		}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
