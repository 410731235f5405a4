package api

import (
	"cmp"
	"net/http"
	"slices"
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
	if err := oneOf("groupBy", string(q.GroupBy), "machine", "site", "city", "driver", routeGroup); err != nil {
		return q, err
	}
	var err error
	if q.From, q.To, err = reportRange(r); err != nil {
		return q, err
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
// city, driver or route, largest unreported value first.
func (s *server) reconciliationReport(w http.ResponseWriter, r *http.Request) error {
	q, err := dexQuery(r)
	if err != nil {
		return err
	}
	byRoute := q.GroupBy == routeGroup
	if byRoute {
		q.GroupBy = readmodel.DEXBySite
	}
	res, err := s.cfg.Store.ReconciliationReport(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.ReconciliationReport{GroupBy: string(q.GroupBy), Rows: []hqapi.ReconciliationRow{}, Sites: s.freshnessList(res.Freshness)}
	out.From, out.To = rangeStrings(q)
	out.Totals.Key = "total"
	for _, x := range res.Rows {
		row := hqapi.ReconciliationRow{Key: x.Key, SiteID: x.Site, MachineID: x.MachineID, Reconciliations: x.Reconciliations,
			MachineCount: x.MachineCount, MachineValue: wire.Money(x.MachineCents), LedgerCount: x.LedgerCount, LedgerValue: wire.Money(x.LedgerCents),
			UnreportedCount: x.UnreportedCount, UnreportedValue: wire.Money(x.UnreportedCents), MissingCount: x.MissingCount,
			MissingValue: wire.Money(x.MissingCents), PriceMismatches: x.PriceMismatches, TestVends: x.TestVends, FreeVends: x.FreeVends,
			Alerts: x.Alerts, LastReadAt: timePtr(x.LastReadAt)}
		out.Rows = append(out.Rows, row)
		addReconciliation(&out.Totals, row)
	}
	if byRoute {
		routes, err := s.routes(r)
		if err != nil {
			return err
		}
		out.GroupBy = routeGroup
		out.Rows = foldRoutes(routes, out.Rows, func(r hqapi.ReconciliationRow) string { return r.SiteID },
			func(key string) hqapi.ReconciliationRow { return hqapi.ReconciliationRow{Key: key} }, addReconciliation)
		slices.SortStableFunc(out.Rows, func(a, b hqapi.ReconciliationRow) int { return cmp.Compare(b.UnreportedValue, a.UnreportedValue) })
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// addReconciliation adds row's figures into t.
func addReconciliation(t *hqapi.ReconciliationRow, row hqapi.ReconciliationRow) {
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
	t.LastReadAt = later(t.LastReadAt, row.LastReadAt)
}

// later is the later of two optional times.
func later(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// routeGroup folds per-site rows into drivers' routes.
const routeGroup = "route"

// noRoute keys the sites that are on no driver's route.
const noRoute = "(no route)"

// driverRoute is a DRIVER client's route: its key in reports and its sites.
type driverRoute struct {
	key   string
	sites []string
}

// routes lists the routes of the DRIVER clients that are not revoked,
// oldest first, keyed "name (clientId)".
func (s *server) routes(r *http.Request) ([]driverRoute, error) {
	cs, err := s.cfg.Auth.List(r.Context())
	if err != nil {
		return nil, err
	}
	var out []driverRoute
	for _, c := range cs {
		if c.Role == auth.RoleDriver && !c.Revoked() && len(c.Sites) > 0 {
			out = append(out, driverRoute{key: c.Name + " (" + c.ID + ")", sites: c.Sites})
		}
	}
	return out, nil
}

// foldRoutes sums per-site rows into one row per route (a site on two
// routes counts in both) and one noRoute row for the sites on none; routes
// with nothing to report are left out.
func foldRoutes[R any](routes []driverRoute, perSite []R, site func(R) string, zero func(key string) R, add func(*R, R)) []R {
	bySite := map[string]R{}
	for _, r := range perSite {
		bySite[site(r)] = r
	}
	onRoute := map[string]bool{}
	out := []R{}
	for _, rt := range routes {
		row, any := zero(rt.key), false
		for _, st := range rt.sites {
			onRoute[st] = true
			if x, ok := bySite[st]; ok {
				add(&row, x)
				any = true
			}
		}
		if any {
			out = append(out, row)
		}
	}
	rest, any := zero(noRoute), false
	for _, r := range perSite {
		if !onRoute[site(r)] {
			add(&rest, r)
			any = true
		}
	}
	if any {
		out = append(out, rest)
	}
	return out
}

// cashReport is GET /reports/cash?groupBy=&siteId=&from=&to=: cash counted
// against expected (ledger and DEX), per machine (default), site, city or
// driver, largest shortage first.
func (s *server) cashReport(w http.ResponseWriter, r *http.Request) error {
	q, err := dexQuery(r)
	if err != nil {
		return err
	}
	byRoute := q.GroupBy == routeGroup
	if byRoute {
		q.GroupBy = readmodel.DEXBySite
	}
	res, err := s.cfg.Store.CashReport(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.CashReport{GroupBy: string(q.GroupBy), Rows: []hqapi.CashRow{}, Sites: s.freshnessList(res.Freshness)}
	out.From, out.To = rangeStrings(q)
	out.Totals.Key = "total"
	for _, x := range res.Rows {
		row := hqapi.CashRow{Key: x.Key, SiteID: x.Site, MachineID: x.MachineID, Collections: x.Collections,
			Counted: wire.Money(x.Counted), ExpectedLedger: wire.Money(x.ExpectedLedger), OverShortLedger: wire.Money(x.Counted - x.ExpectedLedger),
			ExpectedDEX: wire.Money(x.ExpectedDEX), OverShortDEX: wire.Money(x.CountedWithDEX - x.ExpectedDEX), DEXCollections: x.DEXCollections,
			LastCollectedAt: timePtr(x.LastCollectedAt)}
		out.Rows = append(out.Rows, row)
		addCash(&out.Totals, row)
	}
	if byRoute {
		routes, err := s.routes(r)
		if err != nil {
			return err
		}
		out.GroupBy = routeGroup
		out.Rows = foldRoutes(routes, out.Rows, func(r hqapi.CashRow) string { return r.SiteID },
			func(key string) hqapi.CashRow { return hqapi.CashRow{Key: key} }, addCash)
		slices.SortStableFunc(out.Rows, func(a, b hqapi.CashRow) int { return cmp.Compare(a.OverShortLedger, b.OverShortLedger) })
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// addCash adds row's figures into t.
func addCash(t *hqapi.CashRow, row hqapi.CashRow) {
	t.Collections += row.Collections
	t.Counted += row.Counted
	t.ExpectedLedger += row.ExpectedLedger
	t.OverShortLedger += row.OverShortLedger
	t.ExpectedDEX += row.ExpectedDEX
	t.OverShortDEX += row.OverShortDEX
	t.DEXCollections += row.DEXCollections
	t.LastCollectedAt = later(t.LastCollectedAt, row.LastCollectedAt)
}
