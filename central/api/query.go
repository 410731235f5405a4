package api

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/arraypool"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// localLayout formats naive-local times (a site's wall clock).
const localLayout = "2006-01-02T15:04:05"

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *server) freshness(f readmodel.Freshness) Freshness {
	var out Freshness
	s.fillFreshness(&out, f, s.cfg.Now(), new(freshnessValues))
	return out
}

// freshnessValues holds what a Freshness points at.
type freshnessValues struct {
	lastEvent, lastContact, since time.Time
	secs                          int64
}

// fillFreshness sets out to f's freshness at now, its pointers into v.
func (s *server) fillFreshness(out *Freshness, f readmodel.Freshness, now time.Time, v *freshnessValues) {
	*out = Freshness{
		SiteID: f.Site, Known: f.Known, Timezone: f.TZ,
		Watermark: f.Contiguous, LastSeq: f.MaxSeen, Backlog: f.Backlog, Stale: true,
		Connected: f.Connected, BinaryVersion: f.Binary, EnvelopeVersion: f.Envelope,
	}
	ptr := func(dst *time.Time, t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		*dst = t
		return dst
	}
	out.LastEventTime = ptr(&v.lastEvent, f.LastEventTime)
	out.LastContact = ptr(&v.lastContact, f.LastContact)
	out.Since = ptr(&v.since, f.Since)
	if !f.LastContact.IsZero() {
		age := now.Sub(f.LastContact)
		v.secs = max(int64(age/time.Second), 0)
		out.SecondsSinceContact = &v.secs
		out.Stale = age > s.cfg.StaleAfter
	}
	// Heartbeats say more than batches: a connected site is idle, not
	// stale; a disconnected one was last heard from at Since.
	if f.Connected {
		out.Stale = false
	} else if !f.Since.IsZero() && now.Sub(f.Since) <= s.cfg.StaleAfter {
		out.Stale = false
	}
}

// freshnessList is every site's freshness at one moment, what the entries
// point at in one array (a fleet answer has 1,000 of them: four values
// each were four allocations each).
func (s *server) freshnessList(fs []readmodel.Freshness) []Freshness {
	out := make([]Freshness, len(fs))
	vals := make([]freshnessValues, len(fs))
	now := s.cfg.Now()
	for i, f := range fs {
		s.fillFreshness(&out[i], f, now, &vals[i])
	}
	return out
}

// queryErr turns read model errors into API errors.
func queryErr(err error) error {
	switch {
	case errors.Is(err, readmodel.ErrInvalidQuery):
		return web.Invalid("", "%v", err)
	case errors.Is(err, readmodel.ErrNotFound):
		return web.NotFound("", "%v", err)
	}
	return err
}

func oneOf(field, v string, allowed ...string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return web.Invalid(field, "%s %q: must be one of %s", field, v, strings.Join(allowed, ", "))
}

func limit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, web.Invalid("limit", "limit %q: must be a whole number from 1 to 1000", v)
	}
	return n, nil
}

// siteParam reads an optional siteId query parameter.
func siteParam(r *http.Request) (string, error) {
	site := r.URL.Query().Get("siteId")
	if site == "" {
		return "", nil
	}
	if err := envelope.ValidateSiteID(site); err != nil {
		return "", web.Invalid("siteId", "%v", err)
	}
	return site, nil
}

// rangeLoc is the zone an RFC 3339 from/to is read in: the site's when the
// query names one central knows, else UTC. Dates and local times need no
// zone: buckets are each site's wall clock.
func (s *server) rangeLoc(r *http.Request, site string) *time.Location {
	if site == "" {
		return time.UTC
	}
	f, err := s.cfg.Store.Site(r.Context(), site)
	if err != nil || f.TZ == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(f.TZ)
	if err != nil {
		return time.UTC
	}
	return loc
}

// latest is the zone whose wall clock is furthest ahead (UTC+14): "up to
// now" across the fleet is up to now there, so no site's current hour is cut.
var latest = time.FixedZone("UTC+14", 14*3600)

// timeRange reads from/to (naive local); defaults: the 30 days up to the
// end of the current hour, in the one site's zone (site != "") or
// everywhere.
func (s *server) timeRange(r *http.Request, site string) (from, to time.Time, err error) {
	loc := s.rangeLoc(r, site)
	nowLoc := loc
	if site == "" {
		nowLoc = latest
	}
	return web.Range(r, web.EndOfHour(s.cfg.Now(), nowLoc), loc)
}

func (s *server) salesAgg(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dimName := q.Get("groupBy")
	if dimName == "" {
		dimName = string(readmodel.ByMachine)
	}
	dim, err := readmodel.ParseDim(dimName)
	if err != nil {
		return web.Invalid("groupBy", "groupBy %q: must be one of machine, site, city, product", dimName)
	}
	win := bucket.Day
	if v := q.Get("window"); v != "" {
		if win, err = bucket.ParseWindow(v); err != nil {
			return web.Invalid("window", "%v", err)
		}
	}
	site, err := siteParam(r)
	if err != nil {
		return err
	}
	from, to, err := s.timeRange(r, site)
	if err != nil {
		return err
	}
	if win == bucket.Hour && to.Sub(from) > 93*24*time.Hour {
		return web.Invalid("window", "hourly buckets are limited to 93 days; use window=day for longer ranges")
	}
	city := q.Get("city")
	res, err := s.cfg.Store.AppendSales(r.Context(), salesRowBufs.Get(), readmodel.SalesQuery{GroupBy: dim, Window: win, From: from, To: to, City: city, Site: site})
	if err != nil {
		return queryErr(err)
	}
	defer salesRowBufs.Put(res.Rows)
	ans := hqapi.SalesAnswerOf{SalesAnswer: SalesAnswer{
		GroupBy: string(dim), Window: string(win), From: from.Format(localLayout), To: to.Format(localLayout),
		City: city, SiteID: site, Freshness: s.freshnessList(res.Freshness),
	}, Len: len(res.Rows)}
	for _, row := range res.Rows {
		ans.Totals.Transactions += row.TxCount
		ans.Totals.Quantity += row.Quantity
		ans.Totals.Revenue += wire.Money(row.RevenueCents)
		ans.Totals.Discount += wire.Money(row.DiscountCents)
	}
	ans.Totals.GrossRevenue = ans.Totals.Revenue + ans.Totals.Discount
	// The rows are encoded from the read model's as they are; rows come by
	// bucket, so a bucket's text is made once.
	var bucketAt time.Time
	var bucketText string
	ans.At = func(i int) SalesRow {
		row := &res.Rows[i]
		if row.Bucket != bucketAt || bucketText == "" {
			bucketAt, bucketText = row.Bucket, row.Bucket.Format(localLayout)
		}
		return SalesRow{SiteID: row.Site, Key: row.Key, Bucket: bucketText,
			Transactions: row.TxCount, Quantity: row.Quantity, Revenue: wire.Money(row.RevenueCents),
			Discount: wire.Money(row.DiscountCents), GrossRevenue: wire.Money(row.RevenueCents + row.DiscountCents)}
	}
	web.WriteJSON(w, http.StatusOK, ans)
	return nil
}

// salesRowBufs keep the arrays GET /aggregations/sales reads its rows
// into (10,000 rows for the fleet's machines by day: 880 KB each time).
var salesRowBufs = arraypool.Pool[readmodel.SalesRow]{Limit: 1 << 15}

// allProducts is the limit asked of the read model when ranking by
// quantity: it ranks by revenue only, so every product is read and ranked
// here.
const allProducts = 1 << 20

func (s *server) topProducts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n := 10
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
			return web.Invalid("n", "n %q: must be a whole number from 1 to 1000", v)
		}
	}
	by := q.Get("by")
	if by == "" {
		by = "revenue"
	}
	if err := oneOf("by", by, "revenue", "quantity"); err != nil {
		return err
	}
	site, err := siteParam(r)
	if err != nil {
		return err
	}
	from, to, err := s.timeRange(r, site)
	if err != nil {
		return err
	}
	tq := readmodel.TopQuery{From: from, To: to, City: q.Get("city"), Site: site, Limit: n}
	if by == "quantity" {
		tq.Limit = allProducts
	}
	res, err := s.cfg.Store.TopProducts(r.Context(), tq)
	if err != nil {
		if errors.Is(err, readmodel.ErrInvalidQuery) {
			return web.Invalid("from", "%v", err)
		}
		return err
	}
	if by == "quantity" {
		slices.SortStableFunc(res.Products, func(a, b readmodel.ProductTotal) int {
			return cmp.Or(cmp.Compare(b.Quantity, a.Quantity), cmp.Compare(b.RevenueCents, a.RevenueCents), strings.Compare(a.ProductID, b.ProductID))
		})
		res.Products = res.Products[:min(n, len(res.Products))]
	}
	ans := TopAnswer{By: by, N: n, From: from.Format(localLayout), To: to.Format(localLayout), City: tq.City, SiteID: site,
		Products: make([]ProductTotal, 0, len(res.Products)), Freshness: s.freshnessList(res.Freshness)}
	for _, p := range res.Products {
		ans.Products = append(ans.Products, ProductTotal{ProductID: p.ProductID, Transactions: p.TxCount, Quantity: p.Quantity, Revenue: wire.Money(p.RevenueCents)})
	}
	web.WriteJSON(w, http.StatusOK, ans)
	return nil
}

// FaultStatuses are the statuses of a fault.
var FaultStatuses = []string{"OPEN", "IN_PROGRESS", "RESOLVED"}

func (s *server) listFaults(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := strings.ToUpper(q.Get("status"))
	if err := oneOf("status", status, FaultStatuses...); err != nil {
		return err
	}
	site, err := siteParam(r)
	if err != nil {
		return err
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	fs, err := s.cfg.Store.Faults(r.Context(), readmodel.FaultFilter{Status: status, City: q.Get("city"), Site: site, MachineID: q.Get("machineId"), Limit: n})
	if err != nil {
		return err
	}
	out := make([]Fault, 0, len(fs))
	for _, f := range fs {
		out = append(out, Fault{SiteID: f.Site, FaultID: f.FaultID, MachineID: f.MachineID, City: f.City, FaultType: f.FaultType,
			Description: f.Description, Status: f.Status, ReportedAt: f.ReportedAt, ResolvedAt: f.ResolvedAt, UpdatedBy: f.By, UpdatedAt: f.EventTime})
	}
	web.WriteJSON(w, http.StatusOK, FaultList{Faults: out})
	return nil
}

func (s *server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := strings.ToUpper(q.Get("status"))
	if err := oneOf("status", status, "OPEN", "CLOSED"); err != nil {
		return err
	}
	typ := strings.ToUpper(q.Get("type"))
	if typ != "" {
		if _, err := wire.ParseAlertType(typ); err != nil {
			return web.Invalid("type", "%v", err)
		}
	}
	site, err := siteParam(r)
	if err != nil {
		return err
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	as, err := s.cfg.Store.Alerts(r.Context(), readmodel.AlertFilter{Status: status, Type: typ, City: q.Get("city"), Site: site, MachineID: q.Get("machineId"), Limit: n})
	if err != nil {
		return err
	}
	out := make([]Alert, 0, len(as))
	for _, a := range as {
		out = append(out, Alert{SiteID: a.Site, AlertID: a.AlertID, MachineID: a.MachineID, City: a.City, ProductID: a.ProductID,
			Type: a.Type, Status: a.Status, Detail: a.Detail, OpenedAt: a.OpenedAt, ClosedAt: a.ClosedAt, UpdatedAt: a.EventTime})
	}
	web.WriteJSON(w, http.StatusOK, AlertList{Alerts: out})
	return nil
}

func (s *server) getSite(w http.ResponseWriter, r *http.Request) error {
	site := r.PathValue("siteId")
	if err := envelope.ValidateSiteID(site); err != nil {
		return web.Invalid("siteId", "%v", err)
	}
	f, err := s.cfg.Store.Site(r.Context(), site)
	if errors.Is(err, readmodel.ErrNotFound) {
		return web.NotFound("siteId", "central has received nothing from site %q", site)
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, s.freshness(f))
	return nil
}

func (s *server) getMachine(w http.ResponseWriter, r *http.Request) error {
	m, err := s.machine(r)
	if err != nil {
		return err
	}
	out := Machine{MachineID: m.MachineID, SiteID: m.Site, Location: Location{City: m.City, Building: m.Building, Lat: m.Lat, Lng: m.Lng},
		PaymentMethods: m.PaymentMethods, Status: m.Status, TemperatureMax: m.TempMaxC, UpdatedAt: m.EventTime,
		Products: make([]MachineProduct, 0, len(m.Products))}
	if out.PaymentMethods == nil {
		out.PaymentMethods = []string{}
	}
	for _, p := range m.Products {
		out.Products = append(out.Products, MachineProduct{ProductID: p.ProductID, Name: p.Name, Price: wire.Money(p.PriceCents),
			Quantity: p.Quantity, ExpiryDate: p.ExpiryDate, LowStockLimit: p.LowStockLimit, ParLevel: p.ParLevel,
			CasePack: p.CasePack, UpdatedAt: p.UpdatedAt})
	}
	if t := m.Telemetry; t != nil {
		out.Telemetry = &Telemetry{Temperature: t.Temperature, PowerStatus: t.PowerStatus, DoorStatus: t.DoorStatus, At: t.EventTime}
	}
	f, err := s.cfg.Store.Site(r.Context(), m.Site)
	if err != nil && !errors.Is(err, readmodel.ErrNotFound) {
		return err
	}
	if err != nil {
		f = readmodel.Freshness{Site: m.Site}
	}
	out.Freshness = s.freshness(f)
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// machine looks up the path's {id} at the optional siteId parameter (a
// machine is identified by its site and its id): 404 when central does not
// know it, 409 when no site is named and more than one site has the id.
func (s *server) machine(r *http.Request) (readmodel.Machine, error) {
	id := r.PathValue("id")
	site, err := siteParam(r)
	if err != nil {
		return readmodel.Machine{}, err
	}
	m, err := s.cfg.Store.Machine(r.Context(), site, id)
	var amb *readmodel.AmbiguousError
	switch {
	case errors.Is(err, readmodel.ErrNotFound) && site != "":
		return readmodel.Machine{}, web.NotFound("machineId", "central knows no machine %q at site %q", id, site)
	case errors.Is(err, readmodel.ErrNotFound):
		return readmodel.Machine{}, web.NotFound("machineId", "central knows no machine %q", id)
	case errors.As(err, &amb):
		return readmodel.Machine{}, web.Errorf(http.StatusConflict, "AMBIGUOUS_MACHINE", "siteId",
			"machine %q exists at sites %s: name one with ?siteId=", id, strings.Join(amb.Sites, ", "))
	}
	return m, err
}
