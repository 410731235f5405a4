package dashboard

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Limits of the sales page.
const (
	maxBuckets   = 400 // bars in one chart
	maxHourRange = 93 * 24 * time.Hour
	chartSeries  = palette - 1 // keys drawn; the rest are "other"
	tableRows    = 100
	topProducts  = 10
)

// salesFilter is the sales page's filter, as the API's query parameters
// name it.
type salesFilter struct {
	GroupBy, Window, Measure string
	From, To                 string // as given (dates or local times)
	City, Site               string
	from, to                 time.Time
}

// query is the filter as URL parameters, for links.
func (f salesFilter) query() url.Values {
	v := url.Values{"groupBy": {f.GroupBy}, "window": {f.Window}, "from": {f.From}, "to": {f.To}}
	if f.City != "" {
		v.Set("city", f.City)
	}
	if f.Site != "" {
		v.Set("siteId", f.Site)
	}
	return v
}

// parseSalesFilter reads and checks the filter; defaults: by city, per
// day, the 30 days up to today.
func (d *Dashboard) parseSalesFilter(r *http.Request) (salesFilter, error) {
	q := r.URL.Query()
	f := salesFilter{GroupBy: cmp.Or(q.Get("groupBy"), "city"), Window: cmp.Or(q.Get("window"), "day"),
		Measure: cmp.Or(q.Get("measure"), "revenue"), City: strings.TrimSpace(q.Get("city")), Site: strings.TrimSpace(q.Get("siteId"))}
	end := d.today().AddDate(0, 0, 1)
	f.To = cmp.Or(q.Get("to"), end.Format(time.DateOnly))
	f.From = cmp.Or(q.Get("from"), end.AddDate(0, 0, -30).Format(time.DateOnly))
	if _, err := readmodel.ParseDim(f.GroupBy); err != nil {
		return f, httpErr(http.StatusBadRequest, "Group by %q: choose city, site, product or machine.", f.GroupBy)
	}
	win, err := bucket.ParseWindow(f.Window)
	if err != nil {
		return f, httpErr(http.StatusBadRequest, "Window %q: choose hour, day, week or month.", f.Window)
	}
	if !slices.Contains([]string{"revenue", "transactions", "quantity"}, f.Measure) {
		return f, httpErr(http.StatusBadRequest, "Measure %q: choose revenue, transactions or quantity.", f.Measure)
	}
	if f.Site != "" {
		if err := envelope.ValidateSiteID(f.Site); err != nil {
			return f, httpErr(http.StatusBadRequest, "Site %q: %v.", f.Site, err)
		}
	}
	if f.from, err = web.ParseRangeTime("from", f.From, time.UTC); err != nil {
		return f, err
	}
	if f.to, err = web.ParseRangeTime("to", f.To, time.UTC); err != nil {
		return f, err
	}
	switch {
	case !f.from.Before(f.to):
		return f, httpErr(http.StatusBadRequest, "From (%s) must be before to (%s).", f.From, f.To)
	case win == bucket.Hour && f.to.Sub(f.from) > maxHourRange:
		return f, httpErr(http.StatusBadRequest, "Hourly buckets are limited to 93 days; choose a day window for a longer range.")
	case len(buckets(win, f.from, f.to)) > maxBuckets:
		return f, httpErr(http.StatusBadRequest, "That is more than %d %s buckets; choose a larger window or a shorter range.", maxBuckets, win)
	}
	return f, nil
}

// buckets are the starts of win's buckets that a query [from, to) answers.
func buckets(win bucket.Window, from, to time.Time) []time.Time {
	var out []time.Time
	for b := bucket.Start(win, from); b.Before(to) && len(out) <= maxBuckets; b = bucket.Next(win, b) {
		out = append(out, b)
	}
	return out
}

// keyTotal is one key's totals over the range.
type keyTotal struct {
	Key               string
	Tx, Qty, Revenue  int64
	Share             string
	Class             string
	Machine, SiteLink bool
}

// salesPage is GET /ui/sales.
type salesPage struct {
	Filter           salesFilter
	Error            string
	Chart            template.HTML
	Legend           []legendItem
	Keys             []keyTotal
	MoreKeys         int
	Tx, Qty, Revenue int64
	Top              template.HTML
	// Heat is the hour-of-week panel when ready; else the page fetches
	// HeatURL (HeatLink without script).
	Heat                *heatPanel
	HeatURL, HeatLink   string
	SalesCSV, TopCSV    string
	HeatCSV             string
	Cities, Sites       []string
	Note                freshNote
	Dims, Windows, Msrs []string
}

func (d *Dashboard) sales(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	p := salesPage{Dims: []string{"city", "site", "product", "machine"}, Windows: []string{"hour", "day", "week", "month"},
		Msrs: []string{"revenue", "transactions", "quantity"}}
	f, err := d.parseSalesFilter(r)
	p.Filter = f
	if err != nil {
		var se *statusError
		var we *web.Error
		switch {
		case errors.As(err, &se):
			p.Error = se.msg
		case errors.As(err, &we):
			p.Error = we.Message
		default:
			return err
		}
		return d.render(w, r, http.StatusBadRequest, "sales", "Sales", s, p)
	}
	q := f.query()
	p.SalesCSV = Prefix + "sales.csv?" + q.Encode()
	p.TopCSV = Prefix + "top.csv?" + q.Encode()
	p.HeatCSV = Prefix + "heatmap.csv?" + q.Encode()
	p.HeatURL = Prefix + "sales/heat?" + q.Encode()
	hq := f.query()
	hq.Set("measure", f.Measure)
	hq.Set("heat", "1")
	p.HeatLink = Prefix + "sales?" + hq.Encode()

	// The page's parts read independently: side by side, each filling its
	// own fields of p.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		res, err := d.cfg.Store.Sales(gctx, readmodel.SalesQuery{GroupBy: readmodel.Dim(f.GroupBy), Window: bucket.Window(f.Window),
			From: f.from, To: f.to, City: f.City, Site: f.Site})
		if err != nil {
			return err
		}
		p.Note = d.note(res.Freshness)
		p.Chart, p.Legend, p.Keys, p.MoreKeys = salesChart(f, res.Rows)
		for _, k := range p.Keys {
			p.Tx, p.Qty, p.Revenue = p.Tx+k.Tx, p.Qty+k.Qty, p.Revenue+k.Revenue
		}
		return nil
	})
	g.Go(func() error {
		top, err := d.cfg.Store.TopProducts(gctx, readmodel.TopQuery{From: f.from, To: f.to, City: f.City, Site: f.Site, Limit: topProducts})
		if err != nil && !errors.Is(err, readmodel.ErrInvalidQuery) {
			return err
		}
		labels, vals := make([]string, 0, len(top.Products)), make([]int64, 0, len(top.Products))
		for _, pr := range top.Products {
			labels, vals = append(labels, pr.ProductID), append(vals, pr.RevenueCents)
		}
		p.Top = rankedBars("top-products", labels, vals, moneyFormat)
		return nil
	})
	// The hour-of-week chart reads hourly rows for four weeks: shown here
	// when a recent one is kept (or the page asks, without script), else
	// the page's script fetches it after the page has loaded.
	if v, ok := d.heats.peek(heatKey(f)); ok {
		h := heatView(v.(heatCells))
		p.Heat = &h
	} else if r.URL.Query().Get("heat") == "1" {
		g.Go(func() error {
			hc, err := d.heat(gctx, f)
			if err != nil {
				return err
			}
			h := heatView(hc)
			p.Heat = &h
			return nil
		})
	}
	g.Go(func() error {
		var err error
		p.Cities, err = d.cities(gctx, f)
		return err
	})
	g.Go(func() error {
		fs, err := d.cfg.Store.Sites(gctx)
		if err != nil {
			return err
		}
		for _, x := range fs {
			p.Sites = append(p.Sites, x.Site)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "sales", "Sales", s, p)
}

// totals of a key in a bucket, or over a range.
type totals struct{ tx, qty, rev int64 }

func (t totals) measure(m string) int64 {
	switch m {
	case "transactions":
		return t.tx
	case "quantity":
		return t.qty
	}
	return t.rev
}

// salesChart draws rows as stacked bars: the largest keys by revenue each
// in its colour, the rest as "other"; and lists every key's totals.
func salesChart(f salesFilter, rows []readmodel.SalesRow) (template.HTML, []legendItem, []keyTotal, int) {
	win := bucket.Window(f.Window)
	bs := buckets(win, f.from, f.to)
	index := make(map[int64]int, len(bs))
	labels := make([]string, len(bs))
	for i, b := range bs {
		index[b.Unix()] = i
		labels[i] = b.Format("2006-01-02T15:04:05")
	}
	byKey := map[string]*totals{}
	for _, row := range rows {
		t := byKey[row.Key]
		if t == nil {
			t = &totals{}
			byKey[row.Key] = t
		}
		t.tx, t.qty, t.rev = t.tx+row.TxCount, t.qty+row.Quantity, t.rev+row.RevenueCents
	}
	keys := make([]keyTotal, 0, len(byKey))
	var all int64
	for k, t := range byKey {
		keys = append(keys, keyTotal{Key: k, Tx: t.tx, Qty: t.qty, Revenue: t.rev})
		all += t.measure(f.Measure)
	}
	slices.SortFunc(keys, func(a, b keyTotal) int {
		return cmp.Or(cmp.Compare(b.Revenue, a.Revenue), cmp.Compare(b.Qty, a.Qty), strings.Compare(a.Key, b.Key))
	})
	drawn := map[string]int{}
	var ss []series
	var legend []legendItem
	for i := range keys {
		m := totals{keys[i].Tx, keys[i].Qty, keys[i].Revenue}.measure(f.Measure)
		if all > 0 {
			keys[i].Share = strconv.FormatFloat(float64(m)/float64(all)*100, 'f', 1, 64) + " %"
		}
		keys[i].Machine, keys[i].SiteLink = f.GroupBy == "machine", f.GroupBy == "site"
		if i < chartSeries {
			keys[i].Class = "c" + strconv.Itoa(i)
			drawn[keys[i].Key] = i
			ss = append(ss, series{Name: keys[i].Key, Class: keys[i].Class, Values: make([]int64, len(bs))})
			legend = append(legend, legendItem{Name: keys[i].Key, Class: keys[i].Class, Total: m})
		}
	}
	if len(keys) > chartSeries {
		ss = append(ss, series{Name: "other", Class: "c" + strconv.Itoa(palette-1), Values: make([]int64, len(bs))})
		var rest int64
		for _, k := range keys[chartSeries:] {
			rest += totals{k.Tx, k.Qty, k.Revenue}.measure(f.Measure)
		}
		legend = append(legend, legendItem{Name: strconv.Itoa(len(keys)-chartSeries) + " others", Class: ss[len(ss)-1].Class, Total: rest})
	}
	for _, row := range rows {
		i, ok := index[row.Bucket.Unix()]
		if !ok {
			continue
		}
		si, ok := drawn[row.Key]
		if !ok {
			si = len(ss) - 1
		}
		ss[si].Values[i] += totals{row.TxCount, row.Quantity, row.RevenueCents}.measure(f.Measure)
	}
	fmtv := countFormat
	if f.Measure == "revenue" {
		fmtv = moneyFormat
	}
	more := 0
	if len(keys) > tableRows {
		more = len(keys) - tableRows
		keys = keys[:tableRows]
	}
	return barsOverTime("sales", labels, ss, fmtv), legend, keys, more
}

// heatRange is the most of a range the hour-of-week chart covers: four
// whole weeks give every cell the same number of hours, and bound the
// hourly rows read (keys × 672).
const heatRange = 28 * 24 * time.Hour

// Hour-of-week charts and the drivers' route are kept this long (memo):
// a four-week pattern does not change in minutes, and a route plan is
// made for the day.
const (
	heatTTL  = 5 * time.Minute
	routeTTL = 30 * time.Second
)

// heatCells is an hour-of-week chart's figures and the range they cover.
type heatCells struct {
	cells    [7][24]totals
	from, to time.Time
}

// heatKey names a filter's hour-of-week chart in the memo.
func heatKey(f salesFilter) string {
	return f.City + "\x00" + f.Site + "\x00" + f.from.Format(time.RFC3339) + "\x00" + f.to.Format(time.RFC3339)
}

// heat sums hourly sales by weekday and hour over the filter's range (its
// last four weeks at most), for the filter's city or site or the whole
// fleet, reusing a recent answer.
func (d *Dashboard) heat(ctx context.Context, f salesFilter) (heatCells, error) {
	v, err := d.heats.get(heatKey(f), func() (any, error) { return d.computeHeat(ctx, f) })
	if err != nil {
		return heatCells{}, err
	}
	return v.(heatCells), nil
}

func (d *Dashboard) computeHeat(ctx context.Context, f salesFilter) (heatCells, error) {
	h := heatCells{from: f.from, to: f.to}
	if h.to.Sub(h.from) > heatRange {
		h.from = h.to.Add(-heatRange)
	}
	// Hourly rows exist per city and per product, not for the fleet as one
	// key: read whichever has fewer keys.
	dim := readmodel.ByCity
	switch {
	case f.Site != "":
		dim = readmodel.BySite
	case f.City == "":
		cities, err := d.cities(ctx, salesFilter{from: h.from, to: h.to})
		if err != nil {
			return h, err
		}
		top, err := d.cfg.Store.TopProducts(ctx, readmodel.TopQuery{From: h.from, To: h.to, Limit: len(cities) + 1})
		if err != nil && !errors.Is(err, readmodel.ErrInvalidQuery) {
			return h, err
		}
		if len(top.Products) < len(cities) {
			dim = readmodel.ByProduct
		}
	}
	res, err := d.cfg.Store.Sales(ctx, readmodel.SalesQuery{GroupBy: dim, Window: bucket.Hour, From: h.from, To: h.to, City: f.City, Site: f.Site})
	if err != nil {
		return h, err
	}
	for _, row := range res.Rows {
		wd := (int(row.Bucket.Weekday()) + 6) % 7 // Monday first
		c := &h.cells[wd][row.Bucket.Hour()]
		c.tx, c.qty, c.rev = c.tx+row.TxCount, c.qty+row.Quantity, c.rev+row.RevenueCents
	}
	return h, nil
}

// heatPanel is the hour-of-week chart as a page shows it.
type heatPanel struct {
	Chart    template.HTML
	From, To string
}

func heatView(h heatCells) heatPanel {
	return heatPanel{Chart: heatMap("hour-of-week", revenueCells(h.cells), moneyFormat),
		From: h.from.Format("2006-01-02 15:04"), To: h.to.Format("2006-01-02 15:04")}
}

// salesHeat is GET /ui/sales/heat: the hour-of-week panel alone, which
// the sales page fetches after it loads when the chart was not ready.
func (d *Dashboard) salesHeat(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := d.parseSalesFilter(r)
	if err != nil {
		return err
	}
	h, err := d.heat(r.Context(), f)
	if err != nil {
		return err
	}
	return d.renderFragment(w, "heat", heatView(h))
}

func revenueCells(c [7][24]totals) [7][24]int64 {
	var out [7][24]int64
	for d := range c {
		for h := range c[d] {
			out[d][h] = c[d][h].rev
		}
	}
	return out
}

// cities lists the cities with sales in the filter's range (for the city
// filter's suggestions).
func (d *Dashboard) cities(ctx context.Context, f salesFilter) ([]string, error) {
	res, err := d.cfg.Store.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.ByCity, Window: bucket.Month, From: f.from, To: f.to})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, row := range res.Rows {
		if !slices.Contains(out, row.Key) {
			out = append(out, row.Key)
		}
	}
	slices.Sort(out)
	return out, nil
}

// salesCSV is GET /ui/sales.csv: the API's POST /reports/export (what
// `vendsync report export` downloads) for the page's filter, streamed.
func (d *Dashboard) salesCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := d.parseSalesFilter(r)
	if err != nil {
		return err
	}
	req, err := d.apiRequest(r.Context(), s, http.MethodPost, "/reports/export", map[string]string{
		"kind": "sales", "groupBy": f.GroupBy, "window": f.Window, "from": f.From, "to": f.To,
		"city": f.City, "siteId": f.Site, "format": "csv"})
	if err != nil {
		return err
	}
	d.cfg.API.ServeHTTP(w, req)
	return nil
}

// topCSV is GET /ui/top.csv: the top products chart's figures.
func (d *Dashboard) topCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := d.parseSalesFilter(r)
	if err != nil {
		return err
	}
	top, err := d.cfg.Store.TopProducts(r.Context(), readmodel.TopQuery{From: f.from, To: f.to, City: f.City, Site: f.Site, Limit: topProducts})
	if err != nil && !errors.Is(err, readmodel.ErrInvalidQuery) {
		return err
	}
	cw := csvWriter(w, "top-products.csv")
	cw.Write([]string{"product", "transactions", "quantity", "revenue"})
	for _, p := range top.Products {
		cw.Write([]string{p.ProductID, strconv.FormatInt(p.TxCount, 10), strconv.FormatInt(p.Quantity, 10), wire.Money(p.RevenueCents).String()})
	}
	cw.Flush()
	return cw.Error()
}

// heatmapCSV is GET /ui/heatmap.csv: the hour-of-week chart's figures.
func (d *Dashboard) heatmapCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := d.parseSalesFilter(r)
	if err != nil {
		return err
	}
	h, err := d.heat(r.Context(), f)
	if err != nil {
		return err
	}
	cw := csvWriter(w, "hour-of-week.csv")
	cw.Write([]string{"weekday", "hour", "transactions", "quantity", "revenue"})
	for wd := range h.cells {
		for h, c := range h.cells[wd] {
			cw.Write([]string{weekdays[wd], strconv.Itoa(h), strconv.FormatInt(c.tx, 10), strconv.FormatInt(c.qty, 10), wire.Money(c.rev).String()})
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvWriter(w http.ResponseWriter, name string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return csv.NewWriter(w)
}
