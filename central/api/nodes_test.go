package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/sync/downlink"
)

// TestNodes_ShareCredentials: two central nodes on one hub accept each
// other's tokens and clients, and a revocation on one holds on the other.
func TestNodes_ShareCredentials(t *testing.T) {
	ctx := context.Background()
	c := newCentral(t)
	js, err := jetstream.New(c.JS.Conn())
	if err != nil {
		t.Fatal(err)
	}
	hq, err := hqauth.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := hq.Signer(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := downlink.NewPublisher(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: c.Store, Auth: hq, Signer: signer, Publisher: pub,
		Metrics: newMetrics(), Logger: zerolog.Nop(), Now: func() time.Time { return t0.Add(5 * time.Minute) }}))
	t.Cleanup(srv.Close)
	other := *c
	other.URL = srv.URL

	// A token from node 1 works on node 2.
	if r := other.Do("GET", "/sites", c.Token(auth.RoleOps), nil); r.Status != http.StatusOK {
		t.Fatalf("node 1 token on node 2: %d %s", r.Status, r.Body)
	}
	// A client made on node 1 logs in on node 2.
	r := c.Do("POST", "/clients", c.Token(auth.RoleAdmin), map[string]any{"role": "DRIVER", "name": "van 7"})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /clients: %d %s", r.Status, r.Body)
	}
	var nc struct{ ClientID, ClientSecret string }
	r.JSON(t, &nc)
	tok := other.tokenFor(nc.ClientID, nc.ClientSecret)
	if r := c.Do("GET", "/alerts", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("node 2 token on node 1: %d %s", r.Status, r.Body)
	}
	// Revoked on node 2, refused on node 1.
	if r := other.Do("DELETE", "/clients/"+nc.ClientID, c.Token(auth.RoleAdmin), nil); r.Status != http.StatusOK {
		t.Fatalf("DELETE on node 2: %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/alerts", tok, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token on node 1: %d %s", r.Status, r.Body)
	}
	// Node 2 has no catalog index: the catalog route says so.
	r = other.Do("PUT", "/catalog/products/P1", c.Token(auth.RoleAdmin), map[string]any{"price": 3})
	if got, want := r.Status, http.StatusNotImplemented; got != want {
		t.Fatalf("PUT /catalog without a catalog: %d, want %d: %s", got, want, r.Body)
	}
}
