package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/sync/envelope"
)

// benchCentral is central's route endpoint over a read model holding
// sites×perSite machines with two products each, every one low on stock
// (so every machine is on the route).
func benchCentral(b *testing.B, sites, perSite int) *httptest.Server {
	srv, _ := benchCentralTimed(b, sites, perSite)
	return srv
}

// benchCentralTimed is benchCentral and the time central spent computing
// the last route.
func benchCentralTimed(b *testing.B, sites, perSite int) (*httptest.Server, *time.Duration) {
	var took time.Duration
	b.Helper()
	rm, err := readmodel.Open(context.Background(), filepath.Join(b.TempDir(), "central.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rm.Close() })
	for s := range sites {
		site := fmt.Sprintf("site-%03d", s)
		batch := &envelope.Batch{V: envelope.Version, Site: site, TZ: "UTC", First: 1}
		add := func(kind envelope.Kind, v any) {
			data, _ := json.Marshal(v)
			batch.Events = append(batch.Events, envelope.Event{V: envelope.Version, Site: site, Seq: uint64(len(batch.Events) + 1), Kind: kind, Time: t0, Data: data})
		}
		for m := range perSite {
			id := fmt.Sprintf("M%04d", m)
			add(envelope.KindMachine, envelope.Machine{MachineID: id, City: "Testville", Building: "B", PaymentMethods: []string{"CARD"}, Status: "ACTIVE", Action: "REGISTERED"})
			for _, p := range []string{"P1", "P2"} {
				add(envelope.KindInventory, envelope.Inventory{MachineID: id, ProductID: p, Name: "Product " + p, PriceCents: 150, Quantity: 1,
					LowStockLimit: 5, CasePack: 12, Action: "ADDED", By: "bench"})
			}
			add(envelope.KindAlert, envelope.Alert{AlertID: int64(m + 1), MachineID: id, ProductID: "P1", Type: "LOW_STOCK", Status: "OPEN", OpenedAt: t0})
		}
		batch.Last = uint64(len(batch.Events))
		if _, err := rm.Apply(context.Background(), batch.Last, batch); err != nil {
			b.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/token", func(rw http.ResponseWriter, r *http.Request) {
		json.NewEncoder(rw).Encode(map[string]any{"access_token": "t", "expires_in": 3600})
	})
	mux.HandleFunc("GET /routes/candidates", func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cs, err := route.CandidatesAt(r.Context(), rm, t0)
		took = time.Since(start)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(rw).Encode(map[string]any{"candidates": cs})
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv, &took
}

// BenchmarkDriver_StartToRoute is the time from the app's start to its
// first route screen (cache read, GET /routes/candidates, the route drawn)
// with 10,000 machines in central.
func BenchmarkDriver_StartToRoute(b *testing.B) {
	srv, central := benchCentralTimed(b, 100, 100)
	creds := client.Credentials{ClientID: "a", ClientSecret: "b"}
	for b.Loop() {
		dir := b.TempDir()
		q, err := OpenQueue(dir)
		if err != nil {
			b.Fatal(err)
		}
		m := newModel(deps{client: NewHTTPClient(srv.URL, "", creds, creds, 30*time.Second, nil), queue: q, cacheDir: dir, loc: time.UTC,
			now: func() time.Time { return t0 }})
		m.Update(m.c.d.loadCache()())
		start := time.Now()
		msg := m.c.d.fetchRoute()()
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-fetch")
		b.ReportMetric(float64(central.Milliseconds()), "ms-central-route")
		m.Update(msg)
		if v := m.View(); !strings.Contains(v, "100 site(s) by priority") {
			b.Fatalf("no route:\n%s", v)
		}
	}
}

// BenchmarkDriver_EnterToPlanogram is the time from Enter on a machine to
// its planogram on screen, with 10,000 machines in central's route: from
// the edge (GET /machines/{id}/inventory, 20 slots), and offline from
// central's cached route.
func BenchmarkDriver_EnterToPlanogram(b *testing.B) {
	srv := benchCentral(b, 100, 100)
	s := edgetest.Start(b, edgetest.Options{Site: "site-050", Configure: func(c *edge.Config) { c.TokenTTL = 24 * time.Hour }})
	s.Machine("M0042")
	for p := range 20 {
		s.Product("M0042", fmt.Sprintf("P%02d", p), 150, 3, map[string]any{"name": fmt.Sprintf("Product %02d", p), "parLevel": 10})
	}
	ec := s.Client(auth.RoleDriver, "")
	edgeCreds := client.Credentials{ClientID: ec.ClientID, ClientSecret: ec.ClientSecret}
	for _, tc := range []struct {
		name, edge string
		want       string
	}{{"edge", s.URL(), "Product 07"}, {"offline-from-route-cache", "http://127.0.0.1:1", "Product P2"}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			q, _ := OpenQueue(dir)
			c := NewHTTPClient(srv.URL, tc.edge, edgeCreds, edgeCreds, 30*time.Second, nil)
			m := newModel(deps{client: c, queue: q, cacheDir: dir, edgeURL: tc.edge, loc: time.UTC, now: func() time.Time { return t0 }})
			m.Update(m.c.d.fetchRoute()())
			m.c.site, m.state = "site-050", stateMachines
			m.c.edge = connOnline
			if tc.edge != s.URL() {
				m.c.edge = connOffline
			}
			for b.Loop() {
				m.state = stateMachines
				_, cmd := m.Update(openMachineMsg{"M0042"})
				if m.inventory.items == nil { // online: the edge's answer
					m.Update(cmd())
				}
				if v := m.View(); !strings.Contains(v, tc.want) {
					b.Fatalf("no planogram:\n%s", v)
				}
			}
		})
	}
}
