package api

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

// ReportTopN is how many top products a report lists per city and site.
const ReportTopN = 3

// dailyReport is GET /reports/daily?date=YYYY-MM-DD.
func (s *server) dailyReport(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query().Get("date")
	if v == "" {
		return web.Invalid("date", "date is required, e.g. date=2025-01-10")
	}
	day, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return web.Invalid("date", "date %q: use YYYY-MM-DD", v)
	}
	return s.report(w, r, v, bucket.Day, day, day.AddDate(0, 0, 1))
}

// monthlyReport is GET /reports/monthly?month=YYYY-MM.
func (s *server) monthlyReport(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query().Get("month")
	if v == "" {
		return web.Invalid("month", "month is required, e.g. month=2025-01")
	}
	m, err := time.Parse("2006-01", v)
	if err != nil {
		return web.Invalid("month", "month %q: use YYYY-MM", v)
	}
	return s.report(w, r, v, bucket.Month, m, m.AddDate(0, 1, 0))
}

func (s *server) report(w http.ResponseWriter, r *http.Request, period string, win bucket.Window, from, to time.Time) error {
	rep, err := s.buildReport(r.Context(), period, win, from, to)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// buildReport composes the report of [from, to), the one bucket of win
// from from: the sales by city, every city's sites (SitesByCity) and top
// products (TopProductsByCity), each site's top products, the fleet's, and
// what is open now. A handful of read model queries for the whole fleet
// (issue 14, wave 10: it was two per city); the answer is the same
// (TestReport_AnswerAsBefore holds it to the composition of a query per
// city).
func (s *server) buildReport(ctx context.Context, period string, win bucket.Window, from, to time.Time) (Report, error) {
	st := s.cfg.Store
	p := newReportParts()
	res, err := st.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.ByCity, Window: win, From: from, To: to})
	if err != nil {
		return p.rep, queryErr(err)
	}
	p.rep.Freshness = s.freshnessList(res.Freshness)
	p.addCities(res.Rows)
	sitesOf, err := st.SitesByCity(ctx, win, from, to)
	if err != nil {
		return p.rep, queryErr(err)
	}
	for name, c := range p.cities {
		// City "" lists the whole fleet's sites, as its Sales by site
		// always has (SitesByCity answers it so).
		p.addSites(c, sitesOf[name])
	}
	open, err := st.OpenCounts(ctx)
	if err != nil {
		return p.rep, err
	}
	p.addOpen(open)
	// Every site's top products in one query: a query per site is most of
	// a fleet's report (issue 14).
	topOfSite, err := st.TopProductsBySite(ctx, from, to, ReportTopN)
	if err != nil {
		return p.rep, queryErr(err)
	}
	// Every city's top products and the fleet's (city "", which city ""
	// has always shown too) in one query.
	topOfCity, err := st.TopProductsByCity(ctx, from, to, ReportTopN)
	if err != nil {
		return p.rep, queryErr(err)
	}
	p.rep.Totals.TopProducts = reportProducts(topOfCity[""])
	return p.finish(period, from, to, topOfSite, func(city string) ([]ProductTotal, error) {
		return reportProducts(topOfCity[city]), nil
	})
}

// reportParts gathers a report's figures by city and site as its reads
// come in.
type reportParts struct {
	rep    Report
	cities map[string]*CityReport
	siteAt map[[2]string]int // (city, site) → its place in the city's Sites
}

func newReportParts() *reportParts {
	return &reportParts{cities: map[string]*CityReport{}, siteAt: map[[2]string]int{}}
}

func (p *reportParts) city(name string) *CityReport {
	c, ok := p.cities[name]
	if !ok {
		c = &CityReport{City: name}
		p.cities[name] = c
	}
	return c
}

// site is c's site id (city "" can list the whole fleet's).
func (p *reportParts) site(c *CityReport, id string) *SiteReport {
	k := [2]string{c.City, id}
	if i, ok := p.siteAt[k]; ok {
		return &c.Sites[i]
	}
	p.siteAt[k] = len(c.Sites)
	c.Sites = append(c.Sites, SiteReport{SiteID: id})
	return &c.Sites[len(c.Sites)-1]
}

func addFigures(f *ReportFigures, tx, qty, cents int64) {
	f.Transactions += tx
	f.Quantity += qty
	f.Revenue += wire.Money(cents)
}

// addCities adds sales by city to their cities and the totals.
func (p *reportParts) addCities(rows []readmodel.SalesRow) {
	for _, row := range rows {
		addFigures(&p.city(row.Key).ReportFigures, row.TxCount, row.Quantity, row.RevenueCents)
		addFigures(&p.rep.Totals, row.TxCount, row.Quantity, row.RevenueCents)
	}
}

// addSites adds sales by site to c's sites.
func (p *reportParts) addSites(c *CityReport, rows []readmodel.SalesRow) {
	for _, row := range rows {
		addFigures(&p.site(c, row.Key).ReportFigures, row.TxCount, row.Quantity, row.RevenueCents)
	}
}

// addOpen adds what is open to its city, its site and the totals.
func (p *reportParts) addOpen(open []readmodel.OpenCount) {
	for _, o := range open {
		c := p.city(o.City)
		c.OpenFaults += o.Faults
		c.OpenAlerts += o.Alerts
		sr := p.site(c, o.Site)
		sr.OpenFaults += o.Faults
		sr.OpenAlerts += o.Alerts
		p.rep.Totals.OpenFaults += o.Faults
		p.rep.Totals.OpenAlerts += o.Alerts
	}
}

func reportProducts(ps []readmodel.ProductTotal) []ProductTotal {
	out := make([]ProductTotal, 0, len(ps))
	for _, p := range ps {
		out = append(out, ProductTotal{ProductID: p.ProductID, Transactions: p.TxCount, Quantity: p.Quantity, Revenue: wire.Money(p.RevenueCents)})
	}
	return out
}

// finish gives every city its top products (cityTop) and every site its
// own, sorts cities and sites, and dates the report.
func (p *reportParts) finish(period string, from, to time.Time, topOfSite map[string][]readmodel.ProductTotal,
	cityTop func(city string) ([]ProductTotal, error)) (Report, error) {
	rep := p.rep
	for _, c := range p.cities {
		var err error
		if c.TopProducts, err = cityTop(c.City); err != nil {
			return rep, err
		}
		for i := range c.Sites {
			c.Sites[i].TopProducts = reportProducts(topOfSite[c.Sites[i].SiteID])
		}
		slices.SortFunc(c.Sites, func(a, b SiteReport) int { return cmp.Compare(a.SiteID, b.SiteID) })
		rep.Cities = append(rep.Cities, *c)
	}
	slices.SortFunc(rep.Cities, func(a, b CityReport) int { return cmp.Compare(a.City, b.City) })
	if rep.Cities == nil {
		rep.Cities = []CityReport{}
	}
	rep.Period, rep.From, rep.To = period, from.Format(localLayout), to.Format(localLayout)
	return rep, nil
}

// exportChunk is how much of the range one read model query covers while
// exporting: rows are written and flushed chunk by chunk, never all held.
func exportChunk(w bucket.Window, from time.Time) time.Time {
	switch w {
	case bucket.Hour:
		return from.AddDate(0, 0, 1)
	case bucket.Day:
		return from.AddDate(0, 1, 0)
	case bucket.Week:
		return from.AddDate(0, 0, 7*13)
	default:
		return from.AddDate(1, 0, 0)
	}
}

// export is POST /reports/export: sales rows as CSV or JSON, streamed.
func (s *server) export(w http.ResponseWriter, r *http.Request) error {
	var req ExportRequest
	if err := web.Decode(w, r, &req, MaxBody); err != nil {
		return err
	}
	if req.Kind != "sales" {
		return web.Invalid("kind", "kind %q: only sales can be exported", req.Kind)
	}
	if req.Format == "" {
		req.Format = "csv"
	}
	if err := oneOf("format", req.Format, "csv", "json"); err != nil {
		return err
	}
	dim, err := readmodel.ParseDim(cmp.Or(req.GroupBy, "site"))
	if err != nil {
		return web.Invalid("groupBy", "groupBy %q: must be one of machine, site, city, product", req.GroupBy)
	}
	win, err := bucket.ParseWindow(cmp.Or(req.Window, "day"))
	if err != nil {
		return web.Invalid("window", "%v", err)
	}
	if req.From == "" || req.To == "" {
		return web.Invalid("from", "from and to are required")
	}
	from, err := web.ParseRangeTime("from", req.From, time.UTC)
	if err != nil {
		return err
	}
	to, err := web.ParseRangeTime("to", req.To, time.UTC)
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return web.Invalid("from", "from must be before to")
	}
	if to.Sub(from) > 10*366*24*time.Hour {
		return web.Invalid("from", "range is longer than 10 years")
	}
	q := readmodel.SalesQuery{GroupBy: dim, Window: win, City: req.City, Site: req.SiteID}
	// Validate the query (and fail with a proper error) before the first byte.
	first := bucket.Start(win, from)
	q.From, q.To = first, earliest(exportChunk(win, first), to)
	res, err := s.cfg.Store.Sales(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	// An export may outlast the server's write timeout: each chunk written
	// gives the answer exportWriteGrace more (a stalled reader is still cut).
	rc := http.NewResponseController(w)
	w.Header().Set("Cache-Control", "no-store")
	var cw *csv.Writer
	if req.Format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="sales-`+string(dim)+"-"+string(win)+`.csv"`)
		w.WriteHeader(http.StatusOK)
		cw = csv.NewWriter(w)
		head := []string{string(dim), "bucket", "transactions", "quantity", "revenue"}
		if dim == readmodel.ByMachine {
			head = append([]string{"site"}, head...)
		}
		cw.Write(head)
	} else {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		head, _ := json.Marshal(map[string]string{"groupBy": string(dim), "window": string(win), "from": from.Format(localLayout), "to": to.Format(localLayout)})
		w.Write(head[:len(head)-1])
		w.Write([]byte(`,"rows":[`))
	}
	var tot Totals
	n := 0
	for {
		for _, row := range res.Rows {
			tot.Transactions += row.TxCount
			tot.Quantity += row.Quantity
			tot.Revenue += wire.Money(row.RevenueCents)
			if cw != nil {
				rec := []string{row.Key, row.Bucket.Format(localLayout), strconv.FormatInt(row.TxCount, 10),
					strconv.FormatInt(row.Quantity, 10), wire.Money(row.RevenueCents).String()}
				if dim == readmodel.ByMachine {
					rec = append([]string{row.Site}, rec...)
				}
				cw.Write(rec)
				continue
			}
			b, _ := json.Marshal(SalesRow{SiteID: row.Site, Key: row.Key, Bucket: row.Bucket.Format(localLayout), Transactions: row.TxCount,
				Quantity: row.Quantity, Revenue: wire.Money(row.RevenueCents)})
			if n > 0 {
				w.Write([]byte(","))
			}
			w.Write([]byte("\n"))
			w.Write(b)
			n++
		}
		if cw != nil {
			cw.Flush()
		}
		_ = rc.Flush()
		_ = rc.SetWriteDeadline(time.Now().Add(exportWriteGrace))
		if !q.To.Before(to) || r.Context().Err() != nil {
			break
		}
		q.From = q.To
		q.To = earliest(exportChunk(win, q.From), to)
		if res, err = s.cfg.Store.Sales(r.Context(), q); err != nil {
			// The status is sent: all that is left is to cut the body short,
			// which the client sees as a truncated CSV or invalid JSON.
			s.log.Warn().Err(err).Msg("export cut short")
			panic(http.ErrAbortHandler)
		}
	}
	if cw == nil {
		b, _ := json.Marshal(tot)
		w.Write([]byte("\n],\"totals\":"))
		w.Write(b)
		w.Write([]byte("}\n"))
	}
	return nil
}

// exportWriteGrace is how long writing one chunk of an export may take.
const exportWriteGrace = 2 * time.Minute

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
