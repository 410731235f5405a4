package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// EarthRadiusKm is the mean Earth radius the distances use.
const EarthRadiusKm = 6371.0088

// HaversineKm is the great-circle distance in km between two points given
// in degrees.
func HaversineKm(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * EarthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// boundingBox is the latitude and longitude ranges holding every point
// within radiusKm of (lat, lng). wrap is true when the longitude range
// crosses the antimeridian (then it is [lngMin, 180] ∪ [-180, lngMax]);
// near a pole the box spans every longitude.
func boundingBox(lat, lng, radiusKm float64) (latMin, latMax, lngMin, lngMax float64, wrap bool) {
	dLat := radiusKm / EarthRadiusKm * 180 / math.Pi
	latMin, latMax = lat-dLat, lat+dLat
	if latMin <= -90 || latMax >= 90 {
		return math.Max(latMin, -90), math.Min(latMax, 90), -180, 180, false
	}
	// The widest longitude span is at the latitude farthest from the equator.
	maxLat := math.Max(math.Abs(latMin), math.Abs(latMax)) * math.Pi / 180
	dLng := dLat / math.Cos(maxLat)
	if dLng >= 180 {
		return latMin, latMax, -180, 180, false
	}
	lngMin, lngMax = lng-dLng, lng+dLng
	switch {
	case lngMin < -180:
		return latMin, latMax, lngMin + 360, lngMax, true
	case lngMax > 180:
		return latMin, latMax, lngMin, lngMax - 360, true
	}
	return latMin, latMax, lngMin, lngMax, false
}

// NearSite is a site holding a product near a point.
type NearSite struct {
	Site string
	// DistanceKm is to the site's nearest machine holding the product.
	DistanceKm float64
	// Lat and Lng are that machine's coordinates.
	Lat, Lng float64
	// Units is what the site's machines within the radius hold of the
	// product, less the units reserved for pre-orders at the site; > 0.
	Units int64
	// Reserved is the units subtracted for pre-orders (site_reservations).
	Reserved int64
	// Machines is how many of the site's machines within the radius hold it.
	Machines int
	// UpdatedAt is the event time of the newest stock figure counted.
	UpdatedAt time.Time
	Freshness Freshness
}

// selectNear is the bounding-box prefilter: machines inside the box (the
// machines_latlng index serves the latitude range) that hold productID.
// The two longitude ranges express both a plain and an antimeridian box.
const selectNear = `SELECT m.site, m.latitude, m.longitude, p.quantity, p.updated_at
	FROM machines m JOIN machine_products p
	  ON p.site = m.site AND p.machine_id = m.machine_id AND p.product_id = ?
	WHERE m.latitude BETWEEN ? AND ?
	  AND (m.longitude BETWEEN ? AND ? OR m.longitude BETWEEN ? AND ?)
	  AND m.status NOT IN ('DECOMMISSIONED', 'INACTIVE', 'UNDER_MAINTENANCE')
	  AND p.quantity > 0`

// Nearest lists the sites within radiusKm of (lat, lng) whose machines hold
// productID now (stock less reservations above zero), nearest first (ties
// by site id), at most limit (0: all). Each carries its freshness.
func (s *Store) Nearest(ctx context.Context, lat, lng float64, productID string, radiusKm float64, limit int) ([]NearSite, error) {
	latMin, latMax, lngMin, lngMax, wrap := boundingBox(lat, lng, radiusKm)
	a1, b1, a2, b2 := lngMin, lngMax, 1.0, 0.0 // an empty second range
	if wrap {
		a1, b1, a2, b2 = lngMin, 180, -180, lngMax
	}
	rows, err := s.db.Query(ctx, selectNear, productID, latMin, latMax, a1, b1, a2, b2)
	if err != nil {
		return nil, fmt.Errorf("nearest %s: %w", productID, err)
	}
	defer rows.Close()
	by := map[string]*NearSite{}
	for rows.Next() {
		var site string
		var mlat, mlng float64
		var qty, updated int64
		if err := rows.Scan(&site, &mlat, &mlng, &qty, &updated); err != nil {
			return nil, fmt.Errorf("nearest %s: %w", productID, err)
		}
		d := HaversineKm(lat, lng, mlat, mlng)
		if d > radiusKm {
			continue // in the box, outside the circle
		}
		n := by[site]
		if n == nil {
			n = &NearSite{Site: site, DistanceKm: d, Lat: mlat, Lng: mlng}
			by[site] = n
		} else if d < n.DistanceKm {
			n.DistanceKm, n.Lat, n.Lng = d, mlat, mlng
		}
		n.Units += qty
		n.Machines++
		if t := fromMS(updated); t.After(n.UpdatedAt) {
			n.UpdatedAt = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("nearest %s: %w", productID, err)
	}
	reserved, err := s.reservedOf(ctx, productID)
	if err != nil {
		return nil, err
	}
	out := make([]NearSite, 0, len(by))
	for site, n := range by {
		r := reserved[site]
		n.Reserved = r
		n.Units -= r
		if n.Units <= 0 {
			continue
		}
		n.Freshness, _ = s.fresh.get(site)
		n.Freshness.Site = site
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DistanceKm != out[j].DistanceKm {
			return out[i].DistanceKm < out[j].DistanceKm
		}
		return out[i].Site < out[j].Site
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

const (
	selectReserved   = `SELECT reserved FROM site_reservations WHERE site = ? AND product_id = ?`
	selectReservedOf = `SELECT site, reserved FROM site_reservations WHERE product_id = ? AND reserved > 0`
	upsertReserved   = `INSERT INTO site_reservations (site, product_id, reserved, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (site, product_id) DO UPDATE SET reserved = excluded.reserved, updated_at = excluded.updated_at`
)

// reservedOf returns the units of productID held for pre-orders, by site
// (only sites holding some).
func (s *Store) reservedOf(ctx context.Context, productID string) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, selectReservedOf, productID)
	if err != nil {
		return nil, fmt.Errorf("reserved %s: %w", productID, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var site string
		var n int64
		if err := rows.Scan(&site, &n); err != nil {
			return nil, fmt.Errorf("reserved %s: %w", productID, err)
		}
		out[site] = n
	}
	return out, rows.Err()
}

// Reserved returns the units of productID held for pre-orders at site (0
// when none are recorded).
func (s *Store) Reserved(ctx context.Context, site, productID string) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, selectReserved, site, productID).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("reserved %s/%s: %w", site, productID, err)
	}
	return n, nil
}

// SetReserved records the units of productID held for pre-orders at site
// (the hook the orders feature fills from its reservation events); the
// nearest-site query and menus subtract them. It returns an error for a
// negative count or a failed write.
func (s *Store) SetReserved(ctx context.Context, site, productID string, units int64) error {
	if units < 0 {
		return fmt.Errorf("reserved %s/%s: %d is negative", site, productID, units)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.stmt(ctx, upsertReserved)
	if err != nil {
		return fmt.Errorf("set reserved %s/%s: %w", site, productID, err)
	}
	if _, err := st.ExecContext(ctx, site, productID, units, ms(s.now())); err != nil {
		return fmt.Errorf("set reserved %s/%s: %w", site, productID, err)
	}
	return nil
}

// MenuMachine is one machine's stock of a menu item.
type MenuMachine struct {
	MachineID  string
	Units      int64
	PriceCents int64
}

// MenuItem is one product a site's machines hold now.
type MenuItem struct {
	ProductID string
	Name      string
	// PriceCents is the lowest list price among the machines holding it.
	PriceCents int64
	// Units is the machines' stock less the units reserved for pre-orders.
	Units    int64
	Reserved int64
	Machines []MenuMachine
}

const selectMenu = `SELECT p.product_id, p.name, p.machine_id, p.quantity, p.price_cents
	FROM machine_products p JOIN machines m ON m.site = p.site AND m.machine_id = p.machine_id
	WHERE p.site = ? AND p.quantity > 0 AND m.status NOT IN ('DECOMMISSIONED', 'INACTIVE', 'UNDER_MAINTENANCE')
	ORDER BY p.product_id, p.machine_id`

// Menu lists what site's machines hold now, by product id: every product
// with stock left after reservations. None is not an error.
func (s *Store) Menu(ctx context.Context, site string) ([]MenuItem, error) {
	rows, err := s.db.Query(ctx, selectMenu, site)
	if err != nil {
		return nil, fmt.Errorf("menu of %s: %w", site, err)
	}
	defer rows.Close()
	var items []MenuItem
	for rows.Next() {
		var pid, name string
		var m MenuMachine
		if err := rows.Scan(&pid, &name, &m.MachineID, &m.Units, &m.PriceCents); err != nil {
			return nil, fmt.Errorf("menu of %s: %w", site, err)
		}
		if n := len(items); n == 0 || items[n-1].ProductID != pid {
			items = append(items, MenuItem{ProductID: pid, Name: name, PriceCents: m.PriceCents})
		}
		it := &items[len(items)-1]
		if it.Name == "" {
			it.Name = name
		}
		it.PriceCents = min(it.PriceCents, m.PriceCents)
		it.Units += m.Units
		it.Machines = append(it.Machines, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("menu of %s: %w", site, err)
	}
	out := items[:0]
	for _, it := range items {
		r, err := s.Reserved(ctx, site, it.ProductID)
		if err != nil {
			return nil, err
		}
		it.Reserved, it.Units = r, it.Units-r
		if it.Units > 0 {
			out = append(out, it)
		}
	}
	return out, nil
}

// Freshness returns site's freshness as every answer carries it (Known
// false for a site never heard from).
func (s *Store) Freshness(site string) Freshness {
	f, _ := s.fresh.get(site)
	f.Site = site
	return f
}
