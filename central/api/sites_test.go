package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/internal/auth"
)

func TestSites_RegisterListRevoke(t *testing.T) {
	c := newCentral(t)
	admin := c.Token(auth.RoleAdmin)
	body := map[string]any{"siteId": "pune-1", "name": "Pune mall", "city": "Pune", "timezone": "Asia/Kolkata", "lat": 18.52, "lng": 73.85}
	r := c.Do("POST", "/sites", admin, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /sites: %d %s", r.Status, r.Body)
	}
	var ns struct {
		SiteID, Name, City, Timezone, PublicKey, Seed string
	}
	r.JSON(t, &ns)
	if ns.SiteID != "pune-1" || ns.City != "Pune" || ns.Timezone != "Asia/Kolkata" || ns.PublicKey == "" {
		t.Fatalf("site = %+v", ns)
	}
	kp, err := nkeys.FromSeed([]byte(ns.Seed))
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	if pub, _ := kp.PublicKey(); pub != ns.PublicKey {
		t.Fatalf("seed's public key = %s, answered %s", pub, ns.PublicKey)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("Cache-Control = %q", got)
	}

	// Registering again needs rotate, which issues a new key.
	r = c.Do("POST", "/sites", admin, body)
	if got, want := r.Status, http.StatusConflict; got != want {
		t.Fatalf("again: %d, want %d: %s", got, want, r.Body)
	}
	if e := r.Error(t); e.Code != "SITE_EXISTS" || e.Field != "siteId" {
		t.Fatalf("error = %+v", e)
	}
	r = c.Do("POST", "/sites", admin, map[string]any{"siteId": "pune-1", "rotate": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	var rotated struct{ PublicKey string }
	r.JSON(t, &rotated)
	if rotated.PublicKey == ns.PublicKey {
		t.Fatal("rotate kept the key")
	}

	// The registry lists it without a seed; GET /sites shows it never synced,
	// with the timezone the rotation kept.
	r = c.Do("GET", "/sites/registry", c.Token(auth.RoleOps), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /sites/registry: %d %s", r.Status, r.Body)
	}
	if strings.Contains(r.Body, `"seed"`) {
		t.Fatalf("registry shows a seed: %s", r.Body)
	}
	var reg struct{ Sites []struct{ SiteID string } }
	r.JSON(t, &reg)
	if len(reg.Sites) != 1 || reg.Sites[0].SiteID != "pune-1" {
		t.Fatalf("registry = %+v", reg.Sites)
	}
	r = c.Do("GET", "/sites", c.Token(auth.RoleDriver), nil)
	var all struct{ Sites []freshness }
	r.JSON(t, &all)
	if got, want := sitesOf(all.Sites), "pune-1,s1,s2,s3"; got != want {
		t.Fatalf("sites = %q, want %q", got, want)
	}
	if p := byID(t, all.Sites, "pune-1"); p.Known || !p.Stale || p.Timezone != "Asia/Kolkata" {
		t.Fatalf("never-synced site = %+v", p)
	}

	// Revoked: marked in the registry, gone from the sync list.
	r = c.Do("DELETE", "/sites/pune-1", admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	var rev struct{ RevokedAt *string }
	r.JSON(t, &rev)
	if rev.RevokedAt == nil {
		t.Fatalf("revoked site has no revokedAt: %s", r.Body)
	}
	r = c.Do("GET", "/sites", admin, nil)
	r.JSON(t, &all)
	if got, want := sitesOf(all.Sites), "s1,s2,s3"; got != want {
		t.Fatalf("sites after revoke = %q, want %q", got, want)
	}
}
