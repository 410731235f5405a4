package api

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// stockReportRoutes are the inventory valuation, margin and shrink reports.
var stockReportRoutes = []Route{
	{Method: "GET", Pattern: "/reports/valuation", Roles: []auth.Role{auth.RoleAdmin, auth.RoleFinance, auth.RoleProcurement}},
	{Method: "GET", Pattern: "/reports/margin", Roles: finance},
	{Method: "GET", Pattern: "/reports/shrink", Roles: []auth.Role{auth.RoleAdmin, auth.RoleFinance, auth.RoleOps, auth.RoleWarehouse}},
}

func (s *server) stockReportHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /reports/valuation": s.valuationReport,
		"GET /reports/margin":    s.marginReport,
		"GET /reports/shrink":    s.shrinkReport,
	}
}

// Notes every answer carries on what its figures rest on.
const (
	valuationNote = "depots: lots received at cost; machines: the lots their sites report with a cost; FIFO (the newest lots remain) or weighted average; vans, and stock no lot covers: standard cost (lowest supplier unit cost)"
	marginNote    = "COGS at each sale's lot cost where its site reported the lots it took with a cost (lotCostQuantity), else at standard cost (lowest supplier unit cost); units with neither are in revenue, not in COGS (uncostedQuantity)"
	shrinkNote    = "spoilage = expired, damage = damaged, countLoss = counted short of the ledger net of overs; machines from the sites' stock movements, depots and vans from the ledger; values at standard cost; route = the driver who recorded it (or drives the van)"
)

func wantCSV(r *http.Request) (bool, error) {
	f := r.URL.Query().Get("format")
	if err := oneOf("format", f, "json", "csv"); err != nil {
		return false, err
	}
	return f == "csv", nil
}

func writeCSV(w http.ResponseWriter, name string, rows [][]string) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	cw := csv.NewWriter(w)
	for _, r := range rows {
		for i := range r {
			r[i] = csvSafeCell(r[i])
		}
		_ = cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

// csvSafeCell is csvSafe for every cell but numbers (a negative amount
// stays a number).
func csvSafeCell(v string) string {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	return csvSafe(v)
}

// valuationReport is GET /reports/valuation?method=fifo|average&format=.
func (s *server) valuationReport(w http.ResponseWriter, r *http.Request) error {
	method := r.URL.Query().Get("method")
	if method == "" {
		method = readmodel.ValueFIFO
	}
	if err := oneOf("method", method, readmodel.ValueFIFO, readmodel.ValueAverage); err != nil {
		return err
	}
	asCSV, err := wantCSV(r)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Store.Valuation(r.Context(), method)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.ValuationReport{Method: method, Note: valuationNote, Rows: []hqapi.ValuationRow{}, Locations: []hqapi.LocationValue{},
		Total: hqapi.LocationValue{LocationKind: "fleet", LocationID: "*"}}
	for _, x := range rows {
		out.Rows = append(out.Rows, hqapi.ValuationRow{LocationKind: x.Kind, LocationID: x.LocationID, SiteID: x.Site, City: x.City,
			ProductID: x.ProductID, Quantity: x.Quantity, Value: wire.Money(x.ValueCents), LotQuantity: x.LotQuantity,
			StandardQuantity: x.StandardQuantity, UnvaluedQuantity: x.Unvalued})
		n := len(out.Locations)
		if n == 0 || out.Locations[n-1].LocationKind != x.Kind || out.Locations[n-1].LocationID != x.LocationID || out.Locations[n-1].SiteID != x.Site {
			out.Locations = append(out.Locations, hqapi.LocationValue{LocationKind: x.Kind, LocationID: x.LocationID, SiteID: x.Site, City: x.City})
			n++
		}
		out.Locations[n-1].Quantity += x.Quantity
		out.Locations[n-1].Value += wire.Money(x.ValueCents)
		out.Total.Quantity += x.Quantity
		out.Total.Value += wire.Money(x.ValueCents)
	}
	if !asCSV {
		web.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	recs := [][]string{{"location_kind", "location_id", "site_id", "city", "product_id", "quantity", "value", "lot_quantity", "standard_quantity", "unvalued_quantity"}}
	for _, x := range out.Rows {
		recs = append(recs, []string{x.LocationKind, x.LocationID, x.SiteID, x.City, x.ProductID, itoa(x.Quantity), x.Value.String(),
			itoa(x.LotQuantity), itoa(x.StandardQuantity), itoa(x.UnvaluedQuantity)})
	}
	recs = append(recs, []string{"fleet", "*", "", "", "", itoa(out.Total.Quantity), out.Total.Value.String(), "", "", ""})
	return writeCSV(w, "valuation-"+method+".csv", recs)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// reportRange reads from and to (RFC 3339 or a date, UTC).
func reportRange(r *http.Request) (from, to time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, v); err != nil {
				return from, to, web.Invalid(p.name, "%s %q: use RFC 3339 (2025-01-10T10:00:00Z) or a date (2025-01-10, UTC)", p.name, v)
			}
		}
		*p.dst = t
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, web.Invalid("from", "from must be before to")
	}
	return from, to, nil
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// marginReport is GET /reports/margin?groupBy=product|site|city|day|month&from=&to=&siteId=&format=.
func (s *server) marginReport(w http.ResponseWriter, r *http.Request) error {
	q := readmodel.MarginQuery{GroupBy: r.URL.Query().Get("groupBy"), Site: r.URL.Query().Get("siteId")}
	if q.GroupBy == "" {
		q.GroupBy = "product"
	}
	if err := oneOf("groupBy", q.GroupBy, "product", "site", "city", "day", "month"); err != nil {
		return err
	}
	var err error
	if q.From, q.To, err = reportRange(r); err != nil {
		return err
	}
	asCSV, err := wantCSV(r)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Store.Margin(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.MarginReport{GroupBy: q.GroupBy, From: rfc(q.From), To: rfc(q.To), Note: marginNote, Rows: []hqapi.MarginRow{}}
	t := &out.Totals
	t.Key = "total"
	for _, x := range rows {
		row := marginRow(x.Key, x.Quantity, x.RevenueCents, x.COGSCents, x.UncostedQuantity)
		row.LotCostQuantity = x.LotQuantity
		out.Rows = append(out.Rows, row)
		lots := t.LotCostQuantity + row.LotCostQuantity
		*t = marginRow("total", t.Quantity+row.Quantity, int64(t.Revenue+row.Revenue), int64(t.COGS+row.COGS), t.UncostedQuantity+row.UncostedQuantity)
		t.LotCostQuantity = lots
	}
	switch {
	case t.LotCostQuantity == 0:
		out.CostBasis = "standard"
	case t.LotCostQuantity == t.Quantity:
		out.CostBasis = "lot"
	default:
		out.CostBasis = "mixed"
	}
	if !asCSV {
		web.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	recs := [][]string{{q.GroupBy, "quantity", "revenue", "cogs", "gross_margin", "margin_percent", "uncosted_quantity", "lot_cost_quantity"}}
	for _, x := range append(out.Rows, out.Totals) {
		recs = append(recs, []string{x.Key, itoa(x.Quantity), x.Revenue.String(), x.COGS.String(), x.GrossMargin.String(),
			strconv.FormatFloat(x.MarginPercent, 'f', 2, 64), itoa(x.UncostedQuantity), itoa(x.LotCostQuantity)})
	}
	return writeCSV(w, "margin-"+q.GroupBy+".csv", recs)
}

func marginRow(key string, qty, revenue, cogs, uncosted int64) hqapi.MarginRow {
	row := hqapi.MarginRow{Key: key, Quantity: qty, Revenue: wire.Money(revenue), COGS: wire.Money(cogs),
		GrossMargin: wire.Money(revenue - cogs), UncostedQuantity: uncosted}
	if revenue != 0 {
		row.MarginPercent = math.Round(float64(revenue-cogs)*10000/float64(revenue)) / 100
	}
	return row
}

// shrinkReport is GET /reports/shrink?groupBy=site|route|machine|product&from=&to=&format=.
func (s *server) shrinkReport(w http.ResponseWriter, r *http.Request) error {
	q := readmodel.ShrinkQuery{GroupBy: r.URL.Query().Get("groupBy")}
	if q.GroupBy == "" {
		q.GroupBy = "site"
	}
	if err := oneOf("groupBy", q.GroupBy, "site", "route", "machine", "product"); err != nil {
		return err
	}
	var err error
	if q.From, q.To, err = reportRange(r); err != nil {
		return err
	}
	asCSV, err := wantCSV(r)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Store.Shrink(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.ShrinkReport{GroupBy: q.GroupBy, From: rfc(q.From), To: rfc(q.To), Note: shrinkNote, Rows: []hqapi.ShrinkRow{}}
	t := &out.Totals
	t.Key = "total"
	for _, x := range rows {
		row := hqapi.ShrinkRow{Key: x.Key, Spoilage: x.Spoilage, SpoilageValue: wire.Money(x.SpoilageCents), Damage: x.Damage,
			DamageValue: wire.Money(x.DamageCents), CountLoss: x.CountLoss, CountLossValue: wire.Money(x.CountLossCents),
			Total: x.Spoilage + x.Damage + x.CountLoss, TotalValue: wire.Money(x.SpoilageCents + x.DamageCents + x.CountLossCents)}
		out.Rows = append(out.Rows, row)
		t.Spoilage += row.Spoilage
		t.SpoilageValue += row.SpoilageValue
		t.Damage += row.Damage
		t.DamageValue += row.DamageValue
		t.CountLoss += row.CountLoss
		t.CountLossValue += row.CountLossValue
		t.Total += row.Total
		t.TotalValue += row.TotalValue
	}
	if !asCSV {
		web.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	recs := [][]string{{q.GroupBy, "spoilage", "spoilage_value", "damage", "damage_value", "count_loss", "count_loss_value", "total", "total_value"}}
	for _, x := range append(out.Rows, out.Totals) {
		recs = append(recs, []string{x.Key, itoa(x.Spoilage), x.SpoilageValue.String(), itoa(x.Damage), x.DamageValue.String(),
			itoa(x.CountLoss), x.CountLossValue.String(), itoa(x.Total), x.TotalValue.String()})
	}
	return writeCSV(w, "shrink-"+q.GroupBy+".csv", recs)
}
