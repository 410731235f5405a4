package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/promotion"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// shoppers may ask where a product is and what a site's menu holds. These
// answers are what a customer app shows, so they are not public: they tell
// stock levels across the fleet to whoever asks, and unauthenticated reads
// would let anyone scrape them. Every role central issues may call them;
// the orders feature's CUSTOMER role belongs here too once it exists.
var shoppers = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver, auth.RoleCustomer}

// promoRoutes are the routes of promotions, menus and the nearest site.
var promoRoutes = []Route{
	{Method: "GET", Pattern: "/promotions", Roles: viewers},
	{Method: "GET", Pattern: "/promotions/{id}", Roles: viewers},
	{Method: "POST", Pattern: "/promotions", Roles: manage},
	{Method: "PUT", Pattern: "/promotions/{id}", Roles: manage},
	{Method: "DELETE", Pattern: "/promotions/{id}", Roles: manage},
	{Method: "GET", Pattern: "/sites/nearest", Roles: shoppers},
	{Method: "GET", Pattern: "/sites/{siteId}/menu", Roles: shoppers},
}

func (s *server) promoHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /promotions":          s.listPromotions,
		"GET /promotions/{id}":     s.getPromotion,
		"POST /promotions":         s.postPromotion,
		"PUT /promotions/{id}":     s.putPromotion,
		"DELETE /promotions/{id}":  s.deletePromotion,
		"GET /sites/nearest":       s.nearest,
		"GET /sites/{siteId}/menu": s.menu,
	}
}

func (s *server) promotions() (*promotion.Store, error) {
	if s.cfg.Promotions == nil {
		return nil, web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node has no promotions store")
	}
	return s.cfg.Promotions, nil
}

func (s *server) promotionOut(r *http.Request, rec promotion.Record) (hqapi.Promotion, error) {
	out := hqapi.Promotion{Promotion: rec.Promotion, CreatedBy: rec.CreatedBy}
	if rec.Quota == 0 {
		return out, nil
	}
	l, err := s.cfg.Promotions.Ledger(r.Context(), rec.ID)
	if err != nil {
		return out, err
	}
	q := &hqapi.QuotaState{Total: int64(rec.Quota), Unleased: int64(rec.Quota), Leases: []hqapi.QuotaLease{}}
	if l.Total > 0 {
		q.Unleased, q.Redeemed = l.Unleased(), l.Redeemed()
	}
	for _, site := range l.Sites() {
		q.Leases = append(q.Leases, hqapi.QuotaLease{SiteID: site, Granted: l.Granted[site], Used: l.Used[site],
			Returned: l.Returned[site], Epoch: l.Epoch[site]})
	}
	out.QuotaState = q
	return out, nil
}

// listPromotions is GET /promotions: every central-authored promotion,
// with its quota's state.
func (s *server) listPromotions(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.promotions()
	if err != nil {
		return err
	}
	recs, err := ps.List(r.Context())
	if err != nil {
		return err
	}
	out := hqapi.PromotionList{Promotions: []hqapi.Promotion{}}
	for _, rec := range recs {
		p, err := s.promotionOut(r, rec)
		if err != nil {
			return err
		}
		out.Promotions = append(out.Promotions, p)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getPromotion(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.promotions()
	if err != nil {
		return err
	}
	rec, err := ps.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, promotion.ErrNotFound) {
		return web.NotFound("id", "no promotion %q", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	p, err := s.promotionOut(r, rec)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, p)
	return nil
}

// postPromotion is POST /promotions: create a promotion (409 if its id
// exists). PUT /promotions/{id} replaces one.
func (s *server) postPromotion(w http.ResponseWriter, r *http.Request) error {
	return s.writePromotion(w, r, "")
}

func (s *server) putPromotion(w http.ResponseWriter, r *http.Request) error {
	return s.writePromotion(w, r, r.PathValue("id"))
}

func (s *server) writePromotion(w http.ResponseWriter, r *http.Request, id string) error {
	ps, err := s.promotions()
	if err != nil {
		return err
	}
	var p promo.Promotion
	if err := web.Decode(w, r, &p, MaxBody); err != nil {
		return err
	}
	status := http.StatusCreated
	if id != "" {
		if p.ID != "" && p.ID != id {
			return web.Invalid("id", "id %q in the body differs from %q in the path", p.ID, id)
		}
		p.ID = id
		if _, err := ps.Get(r.Context(), id); errors.Is(err, promotion.ErrNotFound) {
			return web.NotFound("id", "no promotion %q; create it with POST /promotions", id)
		} else if err != nil {
			return err
		}
		status = http.StatusOK
	} else if p.ID != "" {
		if _, err := ps.Get(r.Context(), p.ID); err == nil {
			return web.Errorf(http.StatusConflict, "PROMOTION_EXISTS", "id", "promotion %q exists; change it with PUT /promotions/%s", p.ID, p.ID)
		}
	}
	p.Scope = promo.Scope(strings.ToUpper(string(p.Scope)))
	p.Kind = promo.Kind(strings.ToUpper(string(p.Kind)))
	p.Stacking = promo.Stacking(strings.ToUpper(string(p.Stacking)))
	if p.Stacking == "" {
		p.Stacking = promo.Stackable
	}
	p.Version = 0
	if p.Scope == promo.ScopeSite {
		if err := envelope.ValidateSiteID(p.SiteID); err != nil {
			return web.Invalid("siteId", "%v", err)
		}
	}
	rec, err := ps.Put(r.Context(), p, who(r))
	if errors.Is(err, promotion.ErrQuotaFixed) {
		return web.Errorf(http.StatusConflict, "QUOTA_FIXED", "quota", "%v", err)
	}
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "PROMOTION_PUT").Str("client", who(r)).Str("promotion", rec.ID).
		Int64("version", rec.Version).Bool("active", rec.Active).Str("scope", string(rec.Scope)).Msg("promotion authored")
	if s.cfg.PokePromotions != nil {
		s.cfg.PokePromotions()
	}
	out, err := s.promotionOut(r, rec)
	if err != nil {
		return err
	}
	web.WriteJSON(w, status, out)
	return nil
}

// deletePromotion is DELETE /promotions/{id}: the promotion is deactivated
// (kept, and sent to the sites inactive), not erased.
func (s *server) deletePromotion(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.promotions()
	if err != nil {
		return err
	}
	rec, err := ps.Deactivate(r.Context(), r.PathValue("id"), who(r))
	if errors.Is(err, promotion.ErrNotFound) {
		return web.NotFound("id", "no promotion %q", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "PROMOTION_DEACTIVATE").Str("client", who(r)).Str("promotion", rec.ID).
		Int64("version", rec.Version).Msg("promotion deactivated")
	if s.cfg.PokePromotions != nil {
		s.cfg.PokePromotions()
	}
	out, err := s.promotionOut(r, rec)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Limits of GET /sites/nearest.
const (
	MaxRadiusKm     = 500
	DefaultRadiusKm = 5
	MaxNearest      = 100
)

func parseFloatParam(r *http.Request, name string, lo, hi float64, required bool, def float64) (float64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if required {
			return 0, web.Invalid(name, "%s is required", name)
		}
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, web.Invalid(name, "%s %q: not a number", name, v)
	}
	if f < lo || f > hi {
		return 0, web.Invalid(name, "%s %v: must be between %v and %v", name, f, lo, hi)
	}
	return f, nil
}

// nearest is GET /sites/nearest?lat=&lng=&productId=&radiusKm=&limit=.
func (s *server) nearest(w http.ResponseWriter, r *http.Request) error {
	lat, err := parseFloatParam(r, "lat", -90, 90, true, 0)
	if err != nil {
		return err
	}
	lng, err := parseFloatParam(r, "lng", -180, 180, true, 0)
	if err != nil {
		return err
	}
	radius, err := parseFloatParam(r, "radiusKm", 0, MaxRadiusKm, false, DefaultRadiusKm)
	if err != nil {
		return err
	}
	if radius <= 0 {
		return web.Invalid("radiusKm", "radiusKm must be above 0")
	}
	pid := strings.TrimSpace(r.URL.Query().Get("productId"))
	if pid == "" {
		return web.Invalid("productId", "productId is required")
	}
	if len(pid) > 64 {
		return web.Invalid("productId", "productId must be at most 64 characters")
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxNearest {
			return web.Invalid("limit", "limit %q: must be 1 to %d", v, MaxNearest)
		}
		limit = n
	}
	near, err := s.cfg.Store.Nearest(r.Context(), lat, lng, pid, radius, limit)
	if err != nil {
		return err
	}
	out := hqapi.NearestAnswer{Lat: lat, Lng: lng, ProductID: pid, RadiusKm: radius, Sites: make([]hqapi.NearSite, 0, len(near))}
	for _, n := range near {
		f := s.freshness(n.Freshness)
		out.Sites = append(out.Sites, hqapi.NearSite{SiteID: n.Site, DistanceKm: math.Round(n.DistanceKm*1000) / 1000,
			Lat: n.Lat, Lng: n.Lng, UnitsAvailable: n.Units, Reserved: n.Reserved, Machines: n.Machines,
			AgeSeconds: f.SecondsSinceContact, Stale: f.Stale, Freshness: f})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// menu is GET /sites/{siteId}/menu: what the site's machines hold now, at
// the price of one unit after the promotions that apply now with no code
// and no customer (central-authored ones; a site's own promotions are the
// site's and are not known here).
func (s *server) menu(w http.ResponseWriter, r *http.Request) error {
	site := r.PathValue("siteId")
	if err := envelope.ValidateSiteID(site); err != nil {
		return web.Invalid("siteId", "%v", err)
	}
	f := s.cfg.Store.Freshness(site)
	if !f.Known {
		return web.NotFound("siteId", "central has received nothing from site %q", site)
	}
	items, err := s.cfg.Store.Menu(r.Context(), site)
	if err != nil {
		return err
	}
	var promos []promo.Promotion
	if s.cfg.Promotions != nil {
		recs, err := s.cfg.Promotions.List(r.Context())
		if err != nil {
			return err
		}
		for _, rec := range recs {
			promos = append(promos, rec.Promotion)
		}
	}
	cities, err := s.cfg.Store.SiteCities(r.Context())
	if err != nil {
		return err
	}
	loc := timeLocation(f.TZ)
	now := s.cfg.Now()
	out := hqapi.Menu{SiteID: site, Items: make([]hqapi.MenuItem, 0, len(items)), Freshness: s.freshness(f)}
	for _, it := range items {
		res := promo.Evaluate(promo.Input{
			Lines: []promo.Line{{ProductID: it.ProductID, Quantity: 1, UnitPrice: wireMoney(it.PriceCents)}},
			Now:   now, Location: loc, SiteID: site, City: cities[site], Quota: anyQuota{},
		}, promos)
		mi := hqapi.MenuItem{ProductID: it.ProductID, Name: it.Name, ListPrice: res.Gross, Price: res.Net,
			Discount: res.Discount, Promotions: res.Applied, UnitsAvailable: it.Units, Reserved: it.Reserved}
		for _, m := range it.Machines {
			mi.Machines = append(mi.Machines, hqapi.MenuMachine{MachineID: m.MachineID, Units: m.Units, ListPrice: wireMoney(m.PriceCents)})
		}
		out.Items = append(out.Items, mi)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// anyQuota shows a quota-limited promotion on a menu as if a unit were
// available: the site decides at the sale whether its lease still holds one.
type anyQuota struct{}

func (anyQuota) Available(string) int { return 1 }

// timeLocation is a site's timezone, UTC when unknown.
func timeLocation(tz string) *time.Location {
	if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
		return loc
	}
	return time.UTC
}

func wireMoney(cents int64) wire.Money { return wire.Money(cents) }
