package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Site states, as the pages colour them.
const (
	stateOnline  = "online"  // heard from within StaleAfter (or linked, once sites report it)
	stateStale   = "stale"   // not heard from for StaleAfter
	stateOffline = "offline" // the link is down (when the node knows links)
	stateNever   = "never"   // registered, never synced
)

// siteView is one site as the pages show it: its sync state at this node
// and what the registry says about it.
type siteView struct {
	ID, Name, City, TZ string
	State              string
	// StateText says how long: "no contact for 2 h 5 min".
	StateText   string
	LastEvent   time.Time
	LastContact time.Time
	// Age is how long since the last contact.
	Age                         string
	Watermark, LastSeq, Backlog uint64
	// Connected and Since are the link state once the node knows it (site
	// heartbeats); nil until then, and the state comes from LastContact.
	Connected *bool
	Since     time.Time
	// Outbox is the site's outbox depth and Version its software version,
	// once sites report them (heartbeats); nil and "" until then.
	Outbox   *uint64
	Version  string
	Lat, Lng *float64
}

// siteOf is the view of one site's freshness.
func (d *Dashboard) siteOf(f readmodel.Freshness, reg map[string]sitereg.Site) siteView {
	now := d.cfg.Now()
	v := siteView{ID: f.Site, TZ: f.TZ, LastEvent: f.LastEventTime, LastContact: f.LastContact,
		Watermark: f.Contiguous, LastSeq: f.MaxSeen, Backlog: f.Backlog}
	if r, ok := reg[f.Site]; ok {
		v.Name, v.City, v.Lat, v.Lng = r.Name, r.City, r.Lat, r.Lng
		v.TZ = cmp.Or(v.TZ, r.Timezone)
	}
	if !f.Since.IsZero() { // the site heartbeats: its link state is known
		connected := f.Connected
		v.Connected, v.Since = &connected, f.Since
	}
	switch {
	case v.Connected != nil && !*v.Connected:
		v.State, v.StateText = stateOffline, "link down since "+clock(v.Since)+" ("+span(now.Sub(v.Since))+")"
	case v.Connected != nil && !f.LastContact.IsZero():
		// Connected and idle is in contact, however long since the last batch.
		v.State, v.StateText = stateOnline, "connected since "+clock(v.Since)
	case f.LastContact.IsZero():
		v.State, v.StateText = stateNever, "never synced"
	case now.Sub(f.LastContact) > d.cfg.StaleAfter:
		v.State, v.StateText = stateStale, "no contact for "+span(now.Sub(f.LastContact))
	default:
		v.State, v.StateText = stateOnline, "in contact"
	}
	if !f.LastContact.IsZero() {
		v.Age = span(now.Sub(f.LastContact)) + " ago"
	}
	return v
}

// fleet lists every site: those the read model knows, and registered ones
// that never synced (the ones HQ most needs to see).
func (d *Dashboard) fleet(ctx context.Context) ([]siteView, map[string]sitereg.Site, error) {
	fs, err := d.cfg.Store.Sites(ctx)
	if err != nil {
		return nil, nil, err
	}
	reg := d.reg.get(ctx, d.log)
	out := make([]siteView, 0, len(fs))
	known := make(map[string]bool, len(fs))
	for _, f := range fs {
		out = append(out, d.siteOf(f, reg))
		known[f.Site] = true
	}
	for id, s := range reg {
		if !known[id] && s.RevokedAt == nil {
			out = append(out, d.siteOf(readmodel.Freshness{Site: id, TZ: s.Timezone}, reg))
		}
	}
	slices.SortFunc(out, func(a, b siteView) int { return strings.Compare(a.ID, b.ID) })
	return out, reg, nil
}

// siteCounts counts sites by state.
type siteCounts struct {
	Total, Online, Stale, Offline, Never int
	// Worst are the sites longest out of contact, at most five.
	Worst []siteView
}

func countSites(vs []siteView) siteCounts {
	var c siteCounts
	var bad []siteView
	for _, v := range vs {
		c.Total++
		switch v.State {
		case stateOnline:
			c.Online++
			continue
		case stateStale:
			c.Stale++
		case stateOffline:
			c.Offline++
		case stateNever:
			c.Never++
		}
		bad = append(bad, v)
	}
	slices.SortFunc(bad, func(a, b siteView) int { return a.LastContact.Compare(b.LastContact) })
	c.Worst = bad[:min(5, len(bad))]
	return c
}

// freshNote is the freshness of the sites a figure covers, in a few words:
// "Berlin: data up to 14:02, no contact for 20 min", or for many sites a
// count by state and the least fresh.
type freshNote struct {
	Lines   []string
	Summary string
}

func (d *Dashboard) note(fs []readmodel.Freshness) freshNote {
	var n freshNote
	if len(fs) <= 3 {
		for _, f := range fs {
			v := d.siteOf(f, nil)
			line := v.ID + ": "
			if v.LastEvent.IsZero() {
				line += "no data yet"
			} else {
				line += "data up to " + clock(v.LastEvent)
			}
			if v.State != stateOnline {
				line += ", " + v.StateText
			}
			if v.Backlog > 0 {
				line += fmt.Sprintf(", %s events waiting for a resend", num(v.Backlog))
			}
			n.Lines = append(n.Lines, line)
		}
		return n
	}
	var newest time.Time
	var c siteCounts
	vs := make([]siteView, 0, len(fs))
	for _, f := range fs {
		if f.LastEventTime.After(newest) {
			newest = f.LastEventTime
		}
		vs = append(vs, d.siteOf(f, nil))
	}
	c = countSites(vs)
	n.Summary = fmt.Sprintf("%d sites, data up to %s: %d in contact", c.Total, clock(newest), c.Online)
	if c.Stale > 0 {
		n.Summary += fmt.Sprintf(", %d stale", c.Stale)
	}
	if c.Offline > 0 {
		n.Summary += fmt.Sprintf(", %d offline", c.Offline)
	}
	if c.Never > 0 {
		n.Summary += fmt.Sprintf(", %d never synced", c.Never)
	}
	for _, v := range c.Worst {
		n.Lines = append(n.Lines, v.ID+": "+v.StateText+", data up to "+clock(v.LastEvent))
	}
	return n
}

// registryCache keeps the site registry for a while: it changes when a
// site is registered, and listing it reads one key per site.
type registryCache struct {
	reg *sitereg.Registry
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	at    time.Time
	sites map[string]sitereg.Site
}

// get returns the registry by site id; on an error it keeps the last copy
// (the pages then lack names and coordinates, not figures).
func (c *registryCache) get(ctx context.Context, log zerolog.Logger) map[string]sitereg.Site {
	if c.reg == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sites != nil && c.now().Sub(c.at) < c.ttl {
		return c.sites
	}
	list, err := c.reg.List(ctx)
	if err != nil {
		log.Warn().Err(err).Msg("list site registry")
		return c.sites
	}
	m := make(map[string]sitereg.Site, len(list))
	for _, s := range list {
		m[s.ID] = s
	}
	c.sites, c.at = m, c.now()
	return m
}

// sitesPage is GET /ui/sites.
type sitesPage struct {
	Map      any
	Sites    []siteView
	Counts   siteCounts
	NoCoords int
	Backlog  uint64
}

func (d *Dashboard) sites(w http.ResponseWriter, r *http.Request, s *session) error {
	vs, _, err := d.fleet(r.Context())
	if err != nil {
		return err
	}
	p := sitesPage{Sites: vs, Counts: countSites(vs)}
	var pts []mapPoint
	for _, v := range vs {
		p.Backlog += v.Backlog
		if v.Lat == nil || v.Lng == nil {
			p.NoCoords++
			continue
		}
		label := v.ID
		if v.Name != "" {
			label += " — " + v.Name
		}
		pts = append(pts, mapPoint{ID: v.ID, Label: label + " (" + v.StateText + ")", State: v.State, Lat: *v.Lat, Lng: *v.Lng})
	}
	p.Map = siteMap("sites-map", pts)
	return d.render(w, r, http.StatusOK, "sites", "Sites", s, p)
}

// slotView is a product on a machine with its fill.
type slotView struct {
	ProductID, Name string
	Price           int64
	Quantity, Par   int64
	Low             bool
	Expiry          string
	// ExpiryState is "expired", "soon" (within 3 days) or "".
	ExpiryState string
}

// machineView is one machine of a site.
type machineView struct {
	ID, City, Building, Status string
	Temperature, TempMax       *float64
	// TempState is "high", "ok" or "" (no reading).
	TempState         string
	Power, Door       string
	TelemetryAt       time.Time
	Slots             []slotView
	Fill, Capacity    int64
	Expiring, Expired int
}

func (d *Dashboard) machineOf(m readmodel.Machine) machineView {
	v := machineView{ID: m.MachineID, City: m.City, Building: m.Building, Status: m.Status, TempMax: m.TempMaxC}
	if t := m.Telemetry; t != nil {
		v.Temperature, v.Power, v.Door, v.TelemetryAt = t.Temperature, t.PowerStatus, t.DoorStatus, t.EventTime
		if t.Temperature != nil {
			v.TempState = "ok"
			if m.TempMaxC != nil && *t.Temperature > *m.TempMaxC {
				v.TempState = "high"
			}
		}
	}
	today := d.cfg.Now().In(d.cfg.Location).Format(time.DateOnly)
	soon := d.cfg.Now().In(d.cfg.Location).AddDate(0, 0, 3).Format(time.DateOnly)
	for _, p := range m.Products {
		sv := slotView{ProductID: p.ProductID, Name: p.Name, Price: p.PriceCents, Quantity: p.Quantity,
			Par: route.ParLevel(p.ParLevel, p.LowStockLimit), Low: p.Quantity <= p.LowStockLimit, Expiry: p.ExpiryDate}
		switch {
		case p.ExpiryDate != "" && p.ExpiryDate < today:
			sv.ExpiryState = "expired"
			v.Expired++
		case p.ExpiryDate != "" && p.ExpiryDate <= soon:
			sv.ExpiryState = "soon"
			v.Expiring++
		}
		v.Fill += min(p.Quantity, sv.Par)
		v.Capacity += sv.Par
		v.Slots = append(v.Slots, sv)
	}
	return v
}

// sitePage is GET /ui/sites/{siteId}.
type sitePage struct {
	Site     siteView
	Machines []machineView
	Faults   []faultView
	Alerts   []alertView
	Note     freshNote
}

func (d *Dashboard) site(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("siteId")
	if err := envelope.ValidateSiteID(id); err != nil {
		return httpErr(http.StatusNotFound, "There is no site %q.", id)
	}
	ctx := r.Context()
	f, err := d.cfg.Store.Site(ctx, id)
	if errors.Is(err, readmodel.ErrNotFound) {
		reg := d.reg.get(ctx, d.log)
		if _, ok := reg[id]; !ok {
			return httpErr(http.StatusNotFound, "Central has received nothing from site %q and it is not registered.", id)
		}
		f = readmodel.Freshness{Site: id}
	} else if err != nil {
		return err
	}
	p := sitePage{Site: d.siteOf(f, d.reg.get(ctx, d.log)), Note: d.note([]readmodel.Freshness{f})}
	ids, err := d.cfg.Store.SiteMachines(ctx, id)
	if err != nil {
		return err
	}
	for _, mid := range ids {
		m, err := d.cfg.Store.Machine(ctx, mid)
		if errors.Is(err, readmodel.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if m.Site != id {
			continue // the same id at another site, changed more recently
		}
		p.Machines = append(p.Machines, d.machineOf(m))
	}
	if p.Faults, err = d.faultList(ctx, readmodel.FaultFilter{Site: id, Limit: 50}); err != nil {
		return err
	}
	if p.Alerts, err = d.alertList(ctx, readmodel.AlertFilter{Site: id, Status: "OPEN", Limit: 50}); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "site", "Site "+id, s, p)
}
