package api

import (
	"cmp"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
)

func (s *server) registry() (*sitereg.Registry, error) {
	if s.cfg.Sites == nil {
		return nil, web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node has no site registry")
	}
	return s.cfg.Sites, nil
}

// registerSite is POST /sites: register a site (or, with rotate, give it a
// new key) and return its seed once.
func (s *server) registerSite(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		SiteID   *string  `json:"siteId"`
		Name     string   `json:"name"`
		City     string   `json:"city"`
		Timezone string   `json:"timezone"`
		Lat      *float64 `json:"lat"`
		Lng      *float64 `json:"lng"`
		Rotate   bool     `json:"rotate"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.SiteID == nil {
		return web.Invalid("siteId", "siteId is required")
	}
	if err := envelope.ValidateSiteID(*body.SiteID); err != nil {
		return web.Invalid("siteId", "%v", err)
	}
	if len(body.Name) > 128 {
		return web.Invalid("name", "name must be at most 128 characters")
	}
	if len(body.City) > 64 {
		return web.Invalid("city", "city must be at most 64 characters")
	}
	if body.Timezone != "" {
		if _, err := time.LoadLocation(body.Timezone); err != nil || strings.HasPrefix(body.Timezone, "Local") {
			return web.Invalid("timezone", "timezone %q: not a known IANA timezone (e.g. Asia/Kolkata)", body.Timezone)
		}
	}
	if body.Lat != nil && (math.IsNaN(*body.Lat) || *body.Lat < -90 || *body.Lat > 90) {
		return web.Invalid("lat", "lat %v: must be between -90 and 90", *body.Lat)
	}
	if body.Lng != nil && (math.IsNaN(*body.Lng) || *body.Lng < -180 || *body.Lng > 180) {
		return web.Invalid("lng", "lng %v: must be between -180 and 180", *body.Lng)
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	in := sitereg.Site{ID: *body.SiteID, Name: strings.TrimSpace(body.Name), City: strings.TrimSpace(body.City),
		Timezone: body.Timezone, Lat: body.Lat, Lng: body.Lng}
	if body.Rotate {
		// A new key, not a new description: what the body leaves out stays.
		cur, err := reg.Get(r.Context(), in.ID)
		if err != nil && !errors.Is(err, sitereg.ErrNotFound) {
			return err
		}
		in.Name = cmp.Or(in.Name, cur.Name)
		in.City = cmp.Or(in.City, cur.City)
		in.Timezone = cmp.Or(in.Timezone, cur.Timezone)
		if in.Lat == nil && in.Lng == nil {
			in.Lat, in.Lng = cur.Lat, cur.Lng
		}
	}
	seed, site, err := reg.Add(r.Context(), in, body.Rotate)
	if errors.Is(err, sitereg.ErrExists) {
		return web.Errorf(http.StatusConflict, "SITE_EXISTS", "siteId", "site %q is already registered; use rotate to issue a new key", *body.SiteID)
	}
	if err != nil {
		return err
	}
	s.log.Info().Str("site", site.ID).Str("by", who(r)).Bool("rotate", body.Rotate).Msg("site registered")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/sites/"+site.ID)
	web.WriteJSON(w, http.StatusCreated, hqapi.RegisteredSite{Site: siteOut(site), Seed: seed})
	return nil
}

// listRegistry is GET /sites/registry: every registered site, revoked ones
// included, without seeds.
func (s *server) listRegistry(w http.ResponseWriter, r *http.Request) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	sites, err := reg.List(r.Context())
	if err != nil {
		return err
	}
	out := hqapi.SiteList{Sites: make([]hqapi.Site, len(sites))}
	for i, site := range sites {
		out.Sites[i] = siteOut(site)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// revokeSite is DELETE /sites/{siteId}: every node disconnects the site's
// leaf and refuses it from now on.
func (s *server) revokeSite(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("siteId")
	if err := envelope.ValidateSiteID(id); err != nil {
		return web.Invalid("siteId", "%v", err)
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	site, err := reg.Revoke(r.Context(), id)
	if errors.Is(err, sitereg.ErrNotFound) {
		return web.NotFound("siteId", "site %q is not registered", id)
	}
	if err != nil {
		return err
	}
	s.log.Info().Str("site", id).Str("by", who(r)).Msg("site revoked")
	web.WriteJSON(w, http.StatusOK, siteOut(site))
	return nil
}

func (s *server) listSites(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.cfg.Store.Sites(r.Context())
	if err != nil {
		return err
	}
	out := s.freshnessList(fs)
	if s.cfg.Sites != nil {
		// Registered sites that never sent anything are listed too: a site
		// that is installed but not syncing is what HQ most needs to see.
		reg, err := s.cfg.Sites.List(r.Context())
		if err != nil {
			return err
		}
		heard := s.cfg.Store.Liveness() // heartbeats and versions of sites that sent no batch yet
		for _, site := range reg {
			if site.RevokedAt != nil || slices.ContainsFunc(fs, func(f readmodel.Freshness) bool { return f.Site == site.ID }) {
				continue
			}
			f := readmodel.Freshness{Site: site.ID, TZ: site.Timezone}
			if h, ok := heard[site.ID]; ok {
				f.Connected, f.Since, f.Binary, f.Envelope = h.Connected, h.Since, h.Binary, h.Envelope
			}
			out = append(out, s.freshness(f))
		}
		slices.SortFunc(out, func(a, b Freshness) int { return strings.Compare(a.SiteID, b.SiteID) })
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"sites": out})
	return nil
}
