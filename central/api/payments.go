package api

import (
	"net/http"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// MaxPaymentReportDays bounds the days of one payment report.
const MaxPaymentReportDays = 366

// paymentRoutes are the payment totals finance closes days with.
var paymentRoutes = []Route{
	{Method: "GET", Pattern: "/reports/payments", Roles: finance},
}

func (s *server) paymentHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /reports/payments": s.paymentReport,
	}
}

// paymentReport is GET /reports/payments?from=&to=&siteId=: payments per
// site-local day (YYYY-MM-DD, both included; default today in UTC) and
// method, net of refunds, with counts.
func (s *server) paymentReport(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	today := time.Now().UTC().Format(time.DateOnly)
	q := readmodel.PaymentQuery{Site: v.Get("siteId"), From: v.Get("from"), To: v.Get("to")}
	if q.From == "" {
		q.From = today
	}
	if q.To == "" {
		q.To = max(q.From, today)
	}
	from, err := time.Parse(time.DateOnly, q.From)
	if err != nil {
		return web.Invalid("from", "from %q: want a site-local date such as 2026-12-01", q.From)
	}
	to, err := time.Parse(time.DateOnly, q.To)
	if err != nil {
		return web.Invalid("to", "to %q: want a site-local date such as 2026-12-01", q.To)
	}
	if to.Before(from) {
		return web.Invalid("to", "to %s is before from %s", q.To, q.From)
	}
	if to.Sub(from) > MaxPaymentReportDays*24*time.Hour {
		return web.Invalid("to", "at most %d days in one report", MaxPaymentReportDays)
	}
	res, err := s.cfg.Store.PaymentReport(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.PaymentReport{SiteID: q.Site, From: q.From, To: q.To, Totals: []hqapi.PaymentTotal{}, ByMethod: []hqapi.PaymentTotal{},
		Sites: s.freshnessList(res.Freshness)}
	byMethod := map[string]int{}
	for _, x := range res.Rows {
		t := hqapi.PaymentTotal{Day: x.Day, Method: x.Method, Payments: x.Payments, Gross: wire.Money(x.Gross),
			Refunds: x.Refunds, Refunded: wire.Money(x.Refunded), Net: wire.Money(x.Gross - x.Refunded), Failed: x.Failed}
		out.Totals = append(out.Totals, t)
		i, ok := byMethod[x.Method]
		if !ok {
			i = len(out.ByMethod)
			byMethod[x.Method] = i
			out.ByMethod = append(out.ByMethod, hqapi.PaymentTotal{Method: x.Method})
		}
		m := &out.ByMethod[i]
		m.Payments += t.Payments
		m.Gross += t.Gross
		m.Refunds += t.Refunds
		m.Refunded += t.Refunded
		m.Net += t.Net
		m.Failed += t.Failed
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
