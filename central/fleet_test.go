package central_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/aggregator"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

const syncTimeout = 90 * time.Second

// assertSiteMatches checks that central's per-product day buckets for the
// site equal the site's own aggregates exactly, bucket by bucket.
func assertSiteMatches(t *testing.T, c *central.Node, s *fleet.Site) {
	t.Helper()
	for _, w := range []bucket.Window{bucket.Hour, bucket.Day, bucket.Week, bucket.Month} {
		edgeRows := s.EdgeAgg(t, "product", w)
		centralRows := fleet.CentralAgg(t, c, readmodel.ByProduct, w, "", s.ID)
		if len(edgeRows) == 0 {
			t.Fatalf("site %s has no %s aggregates", s.ID, w)
		}
		if len(edgeRows) != len(centralRows) {
			t.Fatalf("site %s %s buckets: edge %d, central %d", s.ID, w, len(edgeRows), len(centralRows))
		}
		for k, want := range edgeRows {
			if got := centralRows[k]; got != want {
				t.Fatalf("site %s %s %v: central %+v, edge %+v", s.ID, w, k, got, want)
			}
		}
	}
}

func TestFleet_CentralTotalsEqualSumOfSites(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	specs := []fleet.SiteSpec{
		{ID: "blr", City: "Bangalore", Timezone: "Asia/Kolkata", Machines: 3, Products: 4},
		{ID: "ber", City: "Berlin", Timezone: "Europe/Berlin", Machines: 2, Products: 4},
		{ID: "nyc", City: "New York", Timezone: "America/New_York", Machines: 2, Products: 3},
	}
	var sites []*fleet.Site
	for i, sp := range specs {
		sp.HubURL = c.Hub.LeafURL()
		s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
		defer s.Close()
		s.Sell(t, "a", 700+100*i, 72*time.Hour)
		sites = append(sites, s)
	}
	for _, s := range sites {
		fleet.WaitSynced(t, c, s, syncTimeout)
	}
	// Per city: central's city totals equal the site's own location totals.
	for _, s := range sites {
		city := map[string]string{"blr": "Bangalore", "ber": "Berlin", "nyc": "New York"}[s.ID]
		want := fleet.Sum(s.EdgeAgg(t, "product", bucket.Month))
		var wantAll fleet.Totals
		for _, v := range want {
			wantAll.Tx, wantAll.Qty, wantAll.Rev = wantAll.Tx+v.Tx, wantAll.Qty+v.Qty, wantAll.Rev+v.Rev
		}
		if got := fleet.Sum(fleet.CentralAgg(t, c, readmodel.ByCity, bucket.Month, "", ""))[city]; got != wantAll {
			t.Fatalf("city %s: central %+v, site %+v", city, got, wantAll)
		}
		assertSiteMatches(t, c, s)
		assertStockMirrored(t, c, s)
	}
	// Per product across the fleet: central equals the sum of the sites.
	var edgeRows []map[fleet.Key]fleet.Totals
	for _, s := range sites {
		edgeRows = append(edgeRows, s.EdgeAgg(t, "product", bucket.Day))
	}
	want := fleet.Sum(edgeRows...)
	got := fleet.Sum(fleet.CentralAgg(t, c, readmodel.ByProduct, bucket.Day, "", ""))
	if len(got) != len(want) {
		t.Fatalf("products: central %d, sites %d", len(got), len(want))
	}
	for p, w := range want {
		if got[p] != w {
			t.Fatalf("product %s: central %+v, sum of sites %+v", p, got[p], w)
		}
	}
	// Trimmed: every site's outbox is empty once central has it all.
	for _, s := range sites {
		testkit.CheckFor(t, 30*time.Second, func() error {
			st, err := s.Node.Store.OutboxStats(context.Background(), time.Now())
			if err != nil || st.Depth != 0 {
				return fmt.Errorf("outbox of %s not trimmed: %+v %v", s.ID, st, err)
			}
			return nil
		})
	}
}

func TestFleet_OfflineSiteConvergesExactlyOnce(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	proxy := testkit.NewLink(t, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "field", City: "Pune", Timezone: "Asia/Kolkata", Machines: 4, Products: 5, HubURL: proxy.URL()}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	fleet.WaitSynced(t, c, s, syncTimeout)

	proxy.Cut()
	natstest.WaitConnected(t, s.Node.Leaf, false)
	if got := s.Sell(t, "offline", 10000, 48*time.Hour); got != 10000 {
		t.Fatalf("accepted %d offline sales, want 10000", got)
	}
	// The site stays offline for several of its reconnect intervals: central
	// gets nothing (a reconnect around the proxy would show up here).
	testkit.Consistently(t, 5*time.Second, func() error {
		if s.Node.Leaf.Connected() {
			return errors.New("the site reconnected while its link was cut")
		}
		if f, _ := c.Store.Site(context.Background(), s.ID); f.Contiguous >= s.LastSeq(t) {
			return fmt.Errorf("central has seq %d while the site was cut off", f.Contiguous)
		}
		return nil
	})
	proxy.Restore("")
	fleet.WaitSynced(t, c, s, syncTimeout)
	assertSiteMatches(t, c, s)
	tot := fleet.Sum(fleet.CentralAgg(t, c, readmodel.BySite, bucket.Month, "", ""))[s.ID]
	if tot.Tx != 10000 {
		t.Fatalf("central counts %d sales for the site, want exactly 10000", tot.Tx)
	}
}

func TestFleet_CentralRestartMidConsumeStaysExact(t *testing.T) {
	dir := t.TempDir()
	c := fleet.StartCentral(t, dir, nil)
	proxy := testkit.NewLink(t, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "mum", City: "Mumbai", Timezone: "Asia/Kolkata", Machines: 3, Products: 4, HubURL: proxy.URL()}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	done := make(chan int)
	go func() { done <- s.Sell(t, "r", 6000, 24*time.Hour) }()
	// Restart central while the site is still selling and forwarding.
	testkit.CheckFor(t, syncTimeout, func() error {
		if f, _ := c.Store.Site(context.Background(), s.ID); f.Contiguous <= 50 {
			return fmt.Errorf("central consumed up to %d, want > 50", f.Contiguous)
		}
		return nil
	})
	proxy.Cut()
	if err := c.Close(); err != nil {
		t.Fatalf("close central: %v", err)
	}
	c = fleet.StartCentral(t, dir, nil)
	defer c.Close()
	proxy.Restore(c.Hub.LeafURL())
	if got := <-done; got != 6000 {
		t.Fatalf("accepted %d, want 6000", got)
	}
	fleet.WaitSynced(t, c, s, syncTimeout)
	assertSiteMatches(t, c, s)
	if tot := fleet.Sum(fleet.CentralAgg(t, c, readmodel.BySite, bucket.Month, "", ""))[s.ID]; tot.Tx != 6000 {
		t.Fatalf("central counts %d sales, want exactly 6000", tot.Tx)
	}
}

func TestFleet_LostMessageIsResent(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	sp := fleet.SiteSpec{ID: "gap", City: "Chennai", Timezone: "Asia/Kolkata", Machines: 2, Products: 2, HubURL: c.Hub.LeafURL()}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	fleet.WaitSynced(t, c, s, syncTimeout)
	ctx := context.Background()

	// Pause this node's aggregator, let batches pile up in the stream, and
	// delete one of them, as if the hub had lost it.
	if err := c.Aggregator.Close(); err != nil {
		t.Fatal(err)
	}
	stream, err := c.Hub.JetStream().Stream(ctx, envelope.StreamIngest)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := stream.Info(ctx)
	for i := range 3 {
		s.Sell(t, fmt.Sprintf("g%d", i), 300, time.Hour)
		want := before.State.Msgs + uint64(i) + 1
		testkit.CheckFor(t, 30*time.Second, func() error {
			info, err := stream.Info(ctx)
			if err != nil {
				return err
			}
			if info.State.Msgs < want {
				return fmt.Errorf("stream has %d batches, want %d", info.State.Msgs, want)
			}
			return nil
		})
	}
	info, _ := stream.Info(ctx)
	victim := info.State.LastSeq - 1 // the middle one of the three new batches
	if err := stream.DeleteMsg(ctx, victim); err != nil {
		t.Fatalf("delete stream message %d: %v", victim, err)
	}
	agg, err := aggregator.New(aggregator.Config{JS: c.Hub.JetStream(), NC: c.Hub.Conn(), Store: c.Store, Durable: "agg-central-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := agg.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	c.Aggregator = nil // closed above; the replacement is closed by the defer
	fleet.WaitSynced(t, c, s, syncTimeout)
	assertSiteMatches(t, c, s)
	if tot := fleet.Sum(fleet.CentralAgg(t, c, readmodel.BySite, bucket.Month, "", ""))[s.ID]; tot.Tx != 900 {
		t.Fatalf("central counts %d sales, want exactly 900", tot.Tx)
	}
}

func TestFleet_PriceChangeReachesOfflineSite(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	proxy := testkit.NewLink(t, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "kiosk", City: "Delhi", Timezone: "Asia/Kolkata", Machines: 1, Products: 2, HubURL: proxy.URL()}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	fleet.WaitSynced(t, c, s, syncTimeout) // central knows the machine and its products
	testkit.CheckFor(t, 30*time.Second, func() error {
		_, err := c.Store.Machine(context.Background(), s.ID, s.Machines[0])
		return err
	})
	proxy.Cut()
	natstest.WaitConnected(t, s.Node.Leaf, false)

	// HQ changes the price of P01 (1.00 + 1 = 2.00) to 7.50 while the site is offline.
	creds, err := edge.ReadCredentials(filepath.Join(cDir(t, c), central.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	tok := hqToken(t, c.URL(), creds)
	body, _ := json.Marshal(map[string]any{"price": 7.5})
	req, _ := http.NewRequest(http.MethodPatch, c.URL()+"/machines/"+s.Machines[0]+"/products/P01", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH price: %d", resp.StatusCode)
	}
	sale := func(id string, amount wire.Money) error {
		q := int64(1)
		_, err := s.Node.Sales.Record(context.Background(), sale.In{TransactionID: id, MachineID: s.Machines[0], ProductID: "P01",
			Quantity: &q, Amount: &amount, PaymentMethod: "CASH", Timestamp: time.Now().UTC().Format(time.RFC3339)}, "", "")
		return err
	}
	// Still offline: the old price is in force, the new one is refused.
	if err := sale("before", 200); err != nil {
		t.Fatalf("sale at the old price while offline: %v", err)
	}
	if err := sale("too-early", 750); err == nil {
		t.Fatal("sale at the new price accepted before the site heard of it")
	}
	proxy.Restore("")
	testkit.CheckFor(t, syncTimeout, func() error {
		items, err := s.Node.Store.Inventory(context.Background(), s.Machines[0])
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.ProductID == "P01" && it.Price != 750 {
				return fmt.Errorf("price of P01 at the site is %s, want 7.50", it.Price)
			}
			if it.ProductID == "P01" {
				return nil
			}
		}
		return errors.New("no P01 at the site")
	})
	if err := sale("after", 750); err != nil {
		t.Fatalf("sale at the new price after reconnect: %v", err)
	}
	audit, err := s.Node.Store.Audit(context.Background(), "inventory", s.Machines[0]+"/P01", 10)
	if err != nil || len(audit) == 0 || audit[0].PerformedBy[:7] != "central" {
		t.Fatalf("audit of the price change = %+v, %v; want performed by central", audit, err)
	}
}

func cDir(t *testing.T, c *central.Node) string {
	t.Helper()
	return c.Dir()
}

func hqToken(t *testing.T, base string, creds edge.Credentials) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"client_id": creds.ClientID, "client_secret": creds.ClientSecret})
	resp, err := http.Post(base+"/auth/token", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// assertStockMirrored checks that central's count of every slot equals the
// site's own (the site owns stock; sales carry the count after them).
func assertStockMirrored(t *testing.T, c *central.Node, s *fleet.Site) {
	t.Helper()
	ctx := context.Background()
	for _, m := range s.Machines {
		items, err := s.Node.Store.Inventory(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := c.Store.Machine(ctx, s.ID, m)
		if err != nil {
			t.Fatalf("machine %s at central: %v", m, err)
		}
		got := map[string]int64{}
		for _, p := range cm.Products {
			got[p.ProductID] = p.Quantity
		}
		for _, it := range items {
			if got[it.ProductID] != it.Quantity {
				t.Fatalf("%s/%s: central counts %d, site %d", m, it.ProductID, got[it.ProductID], it.Quantity)
			}
		}
	}
}
