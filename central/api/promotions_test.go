package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Pune's centre, and points north of it: 0.009° of latitude is ≈ 1 km.
const puneLat, puneLng = 18.52, 73.85

func geoMachine(id, city string, lat, lng float64, at time.Time) ev {
	return ev{envelope.KindMachine, at, envelope.Machine{MachineID: id, City: city, Building: "B", Lat: &lat, Lng: &lng,
		PaymentMethods: []string{"CARD"}, Status: "ACTIVE", Action: "REGISTERED"}}
}

// fillGeo adds sites around Pune holding product PX:
//
//	g1 ≈ 2 km, 4 units; g2 ≈ 1 km, 7 units on two machines (3 reserved);
//	g3 ≈ 1.5 km, 0 units; g4 ≈ 12 km, 9 units; g5 ≈ 3 km, 5 units, last
//	heard from two hours before the others (stale).
func fillGeo(t *testing.T, c *central) {
	at := t0.Add(-time.Hour)
	km := 0.009
	apply(t, c.Store, "g1", "Asia/Kolkata", 1, geoMachine("G1", "Pune", puneLat+2*km, puneLng, at), productEv("G1", "PX", "Vada pav", 200, 4, at))
	apply(t, c.Store, "g2", "Asia/Kolkata", 1, geoMachine("G2a", "Pune", puneLat+km, puneLng, at), productEv("G2a", "PX", "Vada pav", 200, 5, at),
		geoMachine("G2b", "Pune", puneLat+1.2*km, puneLng, at), productEv("G2b", "PX", "Vada pav", 180, 2, at))
	apply(t, c.Store, "g3", "Asia/Kolkata", 1, geoMachine("G3", "Pune", puneLat+1.5*km, puneLng, at), productEv("G3", "PX", "Vada pav", 200, 0, at))
	apply(t, c.Store, "g4", "Asia/Kolkata", 1, geoMachine("G4", "Pune", puneLat+12*km, puneLng, at), productEv("G4", "PX", "Vada pav", 200, 9, at))
	c.StoreNow.Store(t0.Add(-2 * time.Hour).UnixMilli())
	apply(t, c.Store, "g5", "Asia/Kolkata", 1, geoMachine("G5", "Pune", puneLat-3*km, puneLng, at), productEv("G5", "PX", "Vada pav", 200, 5, at))
	c.StoreNow.Store(t0.UnixMilli())
	if err := c.Store.SetReserved(context.Background(), "g2", "PX", 3); err != nil {
		t.Fatal(err)
	}
}

func nearestQuery(lat, lng any, pid, radius string) string {
	q := url.Values{}
	if lat != nil {
		q.Set("lat", fmt.Sprint(lat))
	}
	if lng != nil {
		q.Set("lng", fmt.Sprint(lng))
	}
	if pid != "" {
		q.Set("productId", pid)
	}
	if radius != "" {
		q.Set("radiusKm", radius)
	}
	return "/sites/nearest?" + q.Encode()
}

func TestNearest_OrdersByDistanceWithinRadius(t *testing.T) {
	c := newCentral(t)
	fillGeo(t, c)
	r := c.Do("GET", nearestQuery(puneLat, puneLng, "PX", "5"), c.Token(auth.RoleDriver), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var a hqapi.NearestAnswer
	r.JSON(t, &a)
	var got []string
	for _, s := range a.Sites {
		got = append(got, s.SiteID)
	}
	// g3 has none, g4 is beyond 5 km.
	if want := []string{"g2", "g1", "g5"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sites = %v, want %v (%s)", got, want, r.Body)
	}
	g2, g1, g5 := a.Sites[0], a.Sites[1], a.Sites[2]
	if g2.UnitsAvailable != 4 || g2.Reserved != 3 || g2.Machines != 2 {
		t.Fatalf("g2 = %+v, want 7 units less 3 reserved on 2 machines", g2)
	}
	if g2.DistanceKm < 0.9 || g2.DistanceKm > 1.1 || g1.DistanceKm < 1.9 || g1.DistanceKm > 2.1 {
		t.Fatalf("distances g2 %v, g1 %v; want ≈ 1 and ≈ 2 km", g2.DistanceKm, g1.DistanceKm)
	}
	if g1.Stale || !g5.Stale {
		t.Fatalf("stale: g1 %v, g5 %v; want only g5 (heard from 2 h ago)", g1.Stale, g5.Stale)
	}
	if g5.AgeSeconds == nil || *g5.AgeSeconds < 7200 {
		t.Fatalf("g5 age = %v, want ≥ 2 h", g5.AgeSeconds)
	}

	// A wider radius reaches g4; reserving all of g2 takes it off.
	if err := c.Store.SetReserved(context.Background(), "g2", "PX", 7); err != nil {
		t.Fatal(err)
	}
	r = c.Do("GET", nearestQuery(puneLat, puneLng, "PX", "20"), c.Token(auth.RoleOps), nil)
	a = hqapi.NearestAnswer{}
	r.JSON(t, &a)
	got = nil
	for _, s := range a.Sites {
		got = append(got, s.SiteID)
	}
	if want := []string{"g1", "g5", "g4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sites = %v, want %v", got, want)
	}
	// Another product: none.
	r = c.Do("GET", nearestQuery(puneLat, puneLng, "NOPE", "20"), c.Token(auth.RoleOps), nil)
	a = hqapi.NearestAnswer{}
	r.JSON(t, &a)
	if len(a.Sites) != 0 {
		t.Fatalf("sites for an unknown product: %+v", a.Sites)
	}
}

func TestNearest_BadInput(t *testing.T) {
	c := newCentral(t)
	for _, tc := range []struct {
		name, path, field string
	}{
		{"no lat", nearestQuery(nil, 73.8, "PX", "5"), "lat"},
		{"lat not a number", nearestQuery("north", 73.8, "PX", "5"), "lat"},
		{"lat out of range", nearestQuery(91, 73.8, "PX", "5"), "lat"},
		{"lng out of range", nearestQuery(18.5, -181, "PX", "5"), "lng"},
		{"no lng", nearestQuery(18.5, nil, "PX", "5"), "lng"},
		{"NaN lng", nearestQuery(18.5, "NaN", "PX", "5"), "lng"},
		{"no product", nearestQuery(18.5, 73.8, "", "5"), "productId"},
		{"zero radius", nearestQuery(18.5, 73.8, "PX", "0"), "radiusKm"},
		{"negative radius", nearestQuery(18.5, 73.8, "PX", "-3"), "radiusKm"},
		{"huge radius", nearestQuery(18.5, 73.8, "PX", "5000"), "radiusKm"},
		{"bad limit", nearestQuery(18.5, 73.8, "PX", "5") + "&limit=0", "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("GET", tc.path, c.Token(auth.RoleAdmin), nil)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if got := r.Error(t).Field; got != tc.field {
				t.Fatalf("field = %q, want %q", got, tc.field)
			}
		})
	}
}

func TestMenu_PricesAfterPromotions(t *testing.T) {
	c := newCentral(t)
	fillGeo(t, c)
	admin := c.Token(auth.RoleAdmin)
	// 25 % off PX in Pune; a code-only and a Berlin promotion do not apply.
	for _, p := range []map[string]any{
		{"id": "pune-25", "name": "Pune quarter off", "scope": "CITY", "city": "Pune", "kind": "PERCENT", "percent": 25,
			"productIds": []string{"PX"}, "priority": 10, "stacking": "EXCLUSIVE", "active": true},
		{"id": "code-50", "name": "half with code", "scope": "FLEET", "kind": "PERCENT", "percent": 50, "code": "HALF", "active": true, "stacking": "STACKABLE"},
		{"id": "berlin", "name": "Berlin", "scope": "CITY", "city": "Berlin", "kind": "PERCENT", "percent": 90, "active": true, "stacking": "STACKABLE"},
	} {
		if r := c.Do("POST", "/promotions", admin, p); r.Status != http.StatusCreated {
			t.Fatalf("POST /promotions %v: %d %s", p["id"], r.Status, r.Body)
		}
	}
	r := c.Do("GET", "/sites/g2/menu", c.Token(auth.RoleFinance), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var m hqapi.Menu
	r.JSON(t, &m)
	if len(m.Items) != 1 {
		t.Fatalf("items = %+v", m.Items)
	}
	it := m.Items[0]
	// The lowest list price of the two machines, 1.80, less 25 %.
	if it.ProductID != "PX" || it.ListPrice != 180 || it.Price != 135 || it.Discount != 45 || it.UnitsAvailable != 4 || it.Reserved != 3 || len(it.Machines) != 2 {
		t.Fatalf("item = %+v", it)
	}
	if len(it.Promotions) != 1 || it.Promotions[0].PromotionID != "pune-25" {
		t.Fatalf("promotions = %+v, want pune-25 only", it.Promotions)
	}
	if !m.Freshness.Known || m.Freshness.SiteID != "g2" {
		t.Fatalf("freshness = %+v", m.Freshness)
	}
	// A site with nothing in stock has an empty menu; an unknown one is 404.
	r = c.Do("GET", "/sites/g3/menu", admin, nil)
	m = hqapi.Menu{}
	r.JSON(t, &m)
	if r.Status != http.StatusOK || len(m.Items) != 0 {
		t.Fatalf("g3 menu: %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/sites/nowhere/menu", admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown site: %d %s", r.Status, r.Body)
	}
}

func TestPromotions_AuthoringValidatesAndVersions(t *testing.T) {
	c := newCentral(t)
	ops := c.Token(auth.RoleOps)
	valid := map[string]any{"id": "bang-10", "name": "Bangalore 10", "scope": "CITY", "city": "Bangalore", "kind": "PERCENT",
		"percent": 10, "active": true, "quota": 50}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"bad scope", map[string]any{"id": "x", "name": "x", "scope": "GALAXY", "kind": "PERCENT", "percent": 10}, "scope"},
		{"city without city", map[string]any{"id": "x", "name": "x", "scope": "CITY", "kind": "PERCENT", "percent": 10}, "city"},
		{"percent too big", map[string]any{"id": "x", "name": "x", "scope": "FLEET", "kind": "PERCENT", "percent": 120}, "percent"},
		{"no name", map[string]any{"id": "x", "scope": "FLEET", "kind": "PERCENT", "percent": 10}, "name"},
		{"bad site id", map[string]any{"id": "x", "name": "x", "scope": "SITE", "siteId": "no such.site", "kind": "PERCENT", "percent": 10}, "siteId"},
		{"unknown field", map[string]any{"id": "x", "name": "x", "scope": "FLEET", "kind": "PERCENT", "percent": 10, "colour": "red"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("POST", "/promotions", ops, tc.body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if tc.field != "" && r.Error(t).Field != tc.field {
				t.Fatalf("field = %q, want %q (%s)", r.Error(t).Field, tc.field, r.Body)
			}
		})
	}
	if r := c.Do("POST", "/promotions", c.Token(auth.RoleFinance), valid); r.Status != http.StatusForbidden {
		t.Fatalf("FINANCE authoring: %d", r.Status)
	}
	r := c.Do("POST", "/promotions", ops, valid)
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var p hqapi.Promotion
	r.JSON(t, &p)
	if p.Version != 1 || p.CreatedBy == "" || p.QuotaState == nil || p.QuotaState.Total != 50 {
		t.Fatalf("created = %+v", p)
	}
	if r := c.Do("POST", "/promotions", ops, valid); r.Status != http.StatusConflict {
		t.Fatalf("second POST: %d %s", r.Status, r.Body)
	}
	valid["quota"] = 60
	if r := c.Do("PUT", "/promotions/bang-10", ops, valid); r.Status != http.StatusConflict || r.Error(t).Code != "QUOTA_FIXED" {
		t.Fatalf("changing the quota: %d %s", r.Status, r.Body)
	}
	valid["quota"], valid["percent"] = 50, 15
	if r := c.Do("PUT", "/promotions/bang-10", ops, valid); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	delete(valid, "id")
	if r := c.Do("PUT", "/promotions/nope", ops, valid); r.Status != http.StatusNotFound {
		t.Fatalf("PUT unknown: %d %s", r.Status, r.Body)
	}
	r = c.Do("DELETE", "/promotions/bang-10", ops, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	p = hqapi.Promotion{}
	r.JSON(t, &p)
	if p.Active || p.Version != 3 || p.Percent != 15 {
		t.Fatalf("deactivated = %+v", p)
	}
	r = c.Do("GET", "/promotions", c.Token(auth.RoleDriver), nil)
	var list hqapi.PromotionList
	r.JSON(t, &list)
	if len(list.Promotions) != 1 || list.Promotions[0].ID != "bang-10" {
		t.Fatalf("list = %s", r.Body)
	}
}
