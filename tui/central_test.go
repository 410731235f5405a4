package tui

import (
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/testkit"
)

// TestDriver_RealCentral runs the app against a real central node (hub,
// aggregator, read model, HQ API) and a real edge linked to it: the route
// comes from central's route endpoint (GET /routes/candidates), the restock
// is recorded at the edge, flows up the leaf connection and shows at central.
func TestDriver_RealCentral(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a central node and a linked edge")
	}
	ctx := context.Background()
	// Central ranks routes by its own (real) clock, so the edge and the app
	// run on it too: days since a visit are measured on one time line.
	now := time.Now().UTC().Truncate(time.Second)
	ccfg := central.DefaultConfig()
	ccfg.Dir = t.TempDir()
	ccfg.HTTPAddr = "127.0.0.1:0"
	ccfg.LeafListen = "127.0.0.1:-1"
	cn, err := central.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cn.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.Close() })
	seed, _, err := cn.Sites.Add(ctx, sitereg.Site{ID: "test-site", Name: "Test", City: "Testville", Timezone: "UTC"}, false)
	if err != nil {
		t.Fatal(err)
	}
	hqID, hqSecret, err := cn.Auth.AddClient(ctx, auth.RoleDriver, "driver")
	if err != nil {
		t.Fatal(err)
	}

	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(now), Configure: func(c *edge.Config) {
		c.TokenTTL = 24 * time.Hour
		c.HubURLs = []string{cn.Hub.LeafURL()}
		c.LeafSeed = seed
	}})
	s.Machine("M1")
	s.Product("M1", "P1", 150, 2, map[string]any{"name": "Cola", "lowStockLimit": 5, "casePack": 6})
	s.Product("M1", "P2", 100, 0, map[string]any{"name": "Chips", "parLevel": 8})
	edgeDriver := s.Client(auth.RoleDriver, "")
	testkit.Eventually(t, 15*time.Second, "the site's alerts at central", func() bool {
		m, err := cn.Store.Machine(ctx, "", "M1")
		return err == nil && len(m.Products) == 2
	})

	dir := t.TempDir()
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := NewHTTPClient(cn.URL(), s.URL(), client.Credentials{ClientID: hqID, ClientSecret: hqSecret},
		client.Credentials{ClientID: edgeDriver.ClientID, ClientSecret: edgeDriver.ClientSecret}, 5*time.Second, nil)
	m := newModel(deps{client: c, queue: q, cacheDir: dir, exportDir: dir, now: func() time.Time { return now }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(130, 30))
	waitFor(t, tm, "test-site", "1 out of stock", "1 low stock")
	keys(tm, " ")
	waitFor(t, tm, "1 chosen")
	keys(tm, "p")
	waitFor(t, tm, "TOTAL", "18")
	keys(tm, "tab")
	waitFor(t, tm, "M1", "LOW_STOCK")
	keys(tm, "enter")
	waitFor(t, tm, "Chips")
	keys(tm, "enter")
	waitFor(t, tm, "NEW EXPIRY")
	keys(tm, "A", "enter", "y")
	waitFor(t, tm, "restocked M1")
	if got := s.Stock("M1", "P1"); got != 15 {
		t.Fatalf("edge stock of M1/P1 = %d, want 15", got)
	}
	testkit.Eventually(t, 15*time.Second, "the restock at central", func() bool {
		m, err := cn.Store.Machine(ctx, "", "M1")
		if err != nil {
			return false
		}
		got := map[string]int64{}
		for _, p := range m.Products {
			got[p.ProductID] = p.Quantity
		}
		return got["P1"] == 15 && got["P2"] == 8
	})
	keys(tm, "tab", "r")
	waitFor(t, tm, "nothing needs a visit")
	keys(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
