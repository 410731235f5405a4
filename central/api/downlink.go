package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Published is one configuration value written for a site.
type Published struct {
	SiteID    string `json:"siteId"`
	MachineID string `json:"machineId,omitempty"`
	// Key is relative to the site (<kind>.<id...>, see sync/envelope).
	Key      string `json:"key"`
	Revision uint64 `json:"revision"`
	// Value is the whole value now in force for Key: the change merged with
	// what was published before.
	Value any `json:"value"`
}

// publishErr maps a refused key or site to a 400.
func publishErr(err error) error {
	switch {
	case errors.Is(err, envelope.ErrBadSiteID):
		return web.Invalid("siteId", "%v", err)
	case errors.Is(err, downlink.ErrBadKey):
		return web.Invalid("", "%v", err)
	}
	return err
}

// publish merges change into the value published under key for site (when
// Config.ConfigKV is set) and publishes the result; merge overlays the
// change onto the value (a T). The write is revision-checked, so two central
// nodes changing the same key at once both land: the loser merges again
// onto the winner's value. by is who asked, for the log.
func publish[T any](ctx context.Context, s *server, by, site, machine, key string, merge func(*T)) (Published, error) {
	var v T
	rev, err := s.cfg.Publisher.Merge(ctx, site, key, func(current []byte) ([]byte, error) {
		var zero T
		v = zero
		if s.cfg.ConfigKV != nil && len(current) > 0 {
			if err := json.Unmarshal(current, &v); err != nil {
				// A value this binary cannot read is replaced, not merged.
				s.log.Warn().Err(err).Str("site", site).Str("key", key).Msg("published value unreadable; replaced")
				v = zero
			}
		}
		merge(&v)
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode config %s/%s: %w", site, key, err)
		}
		return b, nil
	})
	if err != nil {
		return Published{}, publishErr(err)
	}
	s.log.Info().Str("site", site).Str("key", key).Uint64("revision", rev).Str("by", by).Msg("config published")
	return Published{SiteID: site, MachineID: machine, Key: key, Revision: rev, Value: v}, nil
}

// patchFault is PATCH /faults/{siteId}/{faultId}: the new status flows down
// to the site, which applies it and sends the fault's new state back up.
func (s *server) patchFault(w http.ResponseWriter, r *http.Request) error {
	site := r.PathValue("siteId")
	if err := envelope.ValidateSiteID(site); err != nil {
		return web.Invalid("siteId", "%v", err)
	}
	id, err := strconv.ParseInt(r.PathValue("faultId"), 10, 64)
	if err != nil || id <= 0 {
		return web.Invalid("faultId", "fault id %q: must be a positive whole number", r.PathValue("faultId"))
	}
	var body struct {
		Status *string `json:"status"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.Status == nil {
		return web.Invalid("status", "status is required (OPEN, IN_PROGRESS or RESOLVED)")
	}
	status := strings.ToUpper(strings.TrimSpace(*body.Status))
	if !slices.Contains(FaultStatuses, status) {
		return web.Invalid("status", "status %q: must be one of %s", *body.Status, strings.Join(FaultStatuses, ", "))
	}
	if _, err := s.cfg.Store.Site(r.Context(), site); errors.Is(err, readmodel.ErrNotFound) {
		return web.NotFound("siteId", "central has received nothing from site %q", site)
	} else if err != nil {
		return err
	}
	if _, err := s.cfg.Store.Fault(r.Context(), site, id); errors.Is(err, readmodel.ErrNotFound) {
		return web.NotFound("faultId", "central knows no fault %d at site %q", id, site)
	} else if err != nil {
		return err
	}
	up := envelope.FaultUpdate{Status: status, By: who(r)}
	b, err := json.Marshal(up)
	if err != nil {
		return err
	}
	// A fault update is whole, not merged: the latest status is the one.
	key := envelope.FaultKey(id)
	rev, err := s.cfg.Publisher.Put(r.Context(), site, key, b)
	if err != nil {
		return publishErr(err)
	}
	web.WriteJSON(w, http.StatusAccepted, Published{SiteID: site, Key: key, Revision: rev, Value: up})
	return nil
}

// machineStatuses are what PATCH /machines/{id} may set; decommissioning
// happens at the site.
var machineStatuses = []string{"ACTIVE", "INACTIVE", "UNDER_MAINTENANCE"}

// notDecommissioned refuses to configure a machine its site retired.
func notDecommissioned(m readmodel.Machine) error {
	if m.Status == "DECOMMISSIONED" {
		return web.Errorf(http.StatusConflict, "MACHINE_DECOMMISSIONED", "machineId", "machine %q at site %q is decommissioned", m.MachineID, m.Site)
	}
	return nil
}

// patchMachine is PATCH /machines/{id}: a MachineConfig for its site.
func (s *server) patchMachine(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Status         *string  `json:"status"`
		TemperatureMax *float64 `json:"temperatureMax"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.Status == nil && body.TemperatureMax == nil {
		return web.Invalid("", "nothing to change: give status or temperatureMax")
	}
	if body.Status != nil {
		st := strings.ToUpper(strings.TrimSpace(*body.Status))
		if st == "MAINTENANCE" {
			st = "UNDER_MAINTENANCE"
		}
		if !slices.Contains(machineStatuses, st) {
			return web.Invalid("status", "status %q: must be ACTIVE, INACTIVE or UNDER_MAINTENANCE", *body.Status)
		}
		body.Status = &st
	}
	if t := body.TemperatureMax; t != nil && (math.IsNaN(*t) || *t < -40 || *t > 60) {
		return web.Invalid("temperatureMax", "temperatureMax %v: must be between -40 and 60 °C", *t)
	}
	m, err := s.machine(r)
	if err != nil {
		return err
	}
	if err := notDecommissioned(m); err != nil {
		return err
	}
	p, err := publish(r.Context(), s, who(r), m.Site, m.MachineID, envelope.MachineKey(m.MachineID), func(c *envelope.MachineConfig) {
		if body.Status != nil {
			c.Status = body.Status
		}
		if body.TemperatureMax != nil {
			c.TemperatureMax = body.TemperatureMax
		}
	})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"published": []Published{p}})
	return nil
}

// productChange is what HQ may set on a product. Stock counts belong to the
// site, so a quantity is read only to refuse it clearly.
type productChange struct {
	Price         *wire.Money     `json:"price"`
	LowStockLimit *int64          `json:"lowStockLimit"`
	ParLevel      *int64          `json:"parLevel"`
	CasePack      *int64          `json:"casePack"`
	Name          *string         `json:"name"`
	Quantity      json.RawMessage `json:"quantity"`
	// Perishable marks the product perishable at the site (its lots go on
	// hold in a temperature lockout).
	Perishable *bool `json:"perishable"`
	// Capacity is the most units the slot's coil holds (at least 1).
	Capacity *int64 `json:"capacity"`
}

func checkCount(field string, v *int64, limit int64) error {
	if v != nil && (*v < 0 || *v > limit) {
		return web.Invalid(field, "%s %d: must be between 0 and %d", field, *v, limit)
	}
	return nil
}

func (c *productChange) validate() error {
	if c.Quantity != nil {
		return web.Errorf(http.StatusBadRequest, "STOCK_OWNED_BY_SITE", "quantity",
			"quantity cannot be set from central: the site owns its stock counts; record restocks and counts at the site")
	}
	if c.Price == nil && c.LowStockLimit == nil && c.ParLevel == nil && c.CasePack == nil && c.Name == nil && c.Perishable == nil && c.Capacity == nil {
		return web.Invalid("", "nothing to change: give price, lowStockLimit, parLevel, capacity, casePack, perishable or name")
	}
	if c.Capacity != nil && (*c.Capacity < 1 || *c.Capacity > wire.MaxQuantity) {
		return web.Invalid("capacity", "capacity %d: must be between 1 and %d", *c.Capacity, wire.MaxQuantity)
	}
	if c.Capacity != nil && c.ParLevel != nil && *c.Capacity < *c.ParLevel {
		return web.Invalid("capacity", "capacity %d is below the par level %d", *c.Capacity, *c.ParLevel)
	}
	if c.Price != nil && (*c.Price < 0 || *c.Price > wire.MaxPriceCents) {
		return web.Invalid("price", "price %s: must be between 0 and 1000000", *c.Price)
	}
	if c.Name != nil {
		n := strings.TrimSpace(*c.Name)
		if n == "" || len(n) > 128 {
			return web.Invalid("name", "name must be 1 to 128 characters")
		}
		c.Name = &n
	}
	for _, err := range []error{checkCount("lowStockLimit", c.LowStockLimit, wire.MaxQuantity),
		checkCount("parLevel", c.ParLevel, wire.MaxQuantity), checkCount("casePack", c.CasePack, wire.MaxCasePack)} {
		if err != nil {
			return err
		}
	}
	return nil
}

// apply overlays the change onto a published ProductConfig.
func (c *productChange) apply(pc *envelope.ProductConfig) {
	if c.Price != nil {
		v := int64(*c.Price)
		pc.PriceCents = &v
	}
	if c.LowStockLimit != nil {
		pc.LowStockLimit = c.LowStockLimit
	}
	if c.ParLevel != nil {
		pc.ParLevel = c.ParLevel
	}
	if c.CasePack != nil {
		pc.CasePack = c.CasePack
	}
	if c.Name != nil {
		pc.Name = c.Name
	}
	if c.Capacity != nil {
		pc.Capacity = c.Capacity
	}
	if c.Perishable != nil {
		pc.Perishable = c.Perishable
	}
}

// patchProduct is PATCH /machines/{id}/products/{pid}: a ProductConfig for
// the machine's site.
func (s *server) patchProduct(w http.ResponseWriter, r *http.Request) error {
	var c productChange
	if err := web.Decode(w, r, &c, MaxBody); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	m, err := s.machine(r)
	if err != nil {
		return err
	}
	if err := notDecommissioned(m); err != nil {
		return err
	}
	pid := r.PathValue("pid")
	if !slices.ContainsFunc(m.Products, func(p readmodel.MachineProduct) bool { return p.ProductID == pid }) {
		return web.NotFound("productId", "central has not seen product %q on machine %q; add it at the site first", pid, m.MachineID)
	}
	p, err := publish(r.Context(), s, who(r), m.Site, m.MachineID, envelope.ProductKey(m.MachineID, pid), c.apply)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"published": []Published{p}})
	return nil
}

// putCatalogProduct is PUT /catalog/products/{pid}: the name, price and case
// pack of a product on every machine that stocks it, across sites.
func (s *server) putCatalogProduct(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name     *string     `json:"name"`
		Price    *wire.Money `json:"price"`
		CasePack *int64      `json:"casePack"`
		// Perishable is the product's perishable flag (lots).
		Perishable *bool `json:"perishable"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	c := productChange{Name: body.Name, Price: body.Price, CasePack: body.CasePack, Perishable: body.Perishable}
	if c.Name == nil && c.Price == nil && c.CasePack == nil && c.Perishable == nil {
		return web.Invalid("", "nothing to change: give name, price, casePack or perishable")
	}
	if err := c.validate(); err != nil {
		return err
	}
	if s.cfg.Catalog == nil {
		return web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node has no product catalog index")
	}
	pid := r.PathValue("pid")
	stockists, err := s.cfg.Catalog.Stockists(r.Context(), pid)
	if err != nil {
		return err
	}
	if len(stockists) == 0 {
		return web.NotFound("productId", "no machine central knows stocks product %q", pid)
	}
	out := make([]Published, 0, len(stockists))
	for _, st := range stockists {
		p, err := publish(r.Context(), s, who(r), st.Site, st.MachineID, envelope.ProductKey(st.MachineID, pid), c.apply)
		if err != nil {
			// Values already published stay: each is a whole, valid change.
			return fmt.Errorf("publish %s/%s after %d of %d: %w", st.Site, st.MachineID, len(out), len(stockists), err)
		}
		out = append(out, p)
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"productId": pid, "published": out})
	return nil
}
