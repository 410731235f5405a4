package central_test

import (
	"context"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestFleet_DiscountsReachCentral: two sites price sales with a fleet
// promotion central authored (applied as the downlink does) and one site's
// own promotion; a basket and single sales flow up; central's sales
// aggregates carry gross, discount and net equal to the sites' own, and its
// promotions report counts each promotion's redemptions and discount.
func TestFleet_DiscountsReachCentral(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	ctx := context.Background()
	fleetPromo := promo.Promotion{ID: "hq-10", Name: "10 % off P00", Scope: promo.ScopeFleet, Kind: promo.KindPercent, Percent: 10,
		ProductIDs: []string{"P00"}, Stacking: promo.Stackable, Active: true, Version: 1}
	var sites []*fleet.Site
	for _, spec := range []fleet.SiteSpec{
		{ID: "promo1", City: "Lyon", Timezone: "Europe/Paris", Machines: 1, Products: 2, HubURL: c.Hub.LeafURL()},
		{ID: "promo2", City: "Pune", Timezone: "Asia/Kolkata", Machines: 1, Products: 2, HubURL: c.Hub.LeafURL()},
	} {
		s := fleet.StartSite(t, spec, fleet.Register(t, c, spec.ID, spec.City, spec.Timezone))
		defer s.Close()
		if _, err := ingest.Submit(ctx, s.Node.Writer, func(t *ingest.Tx) (bool, error) { return s.Node.Promotions.Apply(t, fleetPromo, "central") }); err != nil {
			t.Fatalf("apply fleet promotion at %s: %v", s.ID, err)
		}
		sites = append(sites, s)
	}
	// promo1's operator: 20 % off P01 (P00 costs 1.00, P01 2.00).
	if _, err := sites[0].Node.Promotions.Author(ctx, promo.Promotion{ID: "lyon-20", Name: "Lyon 20 %", Kind: promo.KindPercent, Percent: 20,
		ProductIDs: []string{"P01"}, Stacking: promo.Stackable, Active: true}, "ops"); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	money := func(c int64) *wire.Money { m := wire.Money(c); return &m }
	qty := func(n int64) *int64 { return &n }
	record := func(s *fleet.Site, in sale.In) {
		t.Helper()
		in.MachineID, in.PaymentMethod, in.Timestamp = s.Machines[0], "CARD", at
		if _, err := s.Node.Sales.Record(ctx, in, "", ""); err != nil {
			t.Fatalf("sale %s at %s: %v", in.TransactionID, s.ID, err)
		}
	}
	// promo1: a basket 2×P00 + 1×P01 = 4.00 − 0.20 − 0.40 = 3.40; one P01 at 1.60.
	record(sites[0], sale.In{TransactionID: "b1", Lines: []sale.LineIn{{ProductID: "P00", Quantity: qty(2)}, {ProductID: "P01", Quantity: qty(1)}},
		Amount: money(340), CustomerID: "loyal-1"})
	record(sites[0], sale.In{TransactionID: "s1", ProductID: "P01", Quantity: qty(1), Amount: money(160)})
	// promo2: 3×P00 at 2.70 (10 % off), one P01 at its list price 2.00.
	record(sites[1], sale.In{TransactionID: "s1", ProductID: "P00", Quantity: qty(3), Amount: money(270)})
	record(sites[1], sale.In{TransactionID: "s2", ProductID: "P01", Quantity: qty(1), Amount: money(200)})
	for _, s := range sites {
		fleet.WaitSynced(t, c, s, time.Minute)
	}

	wide := func() (time.Time, time.Time) {
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	from, to := wide()
	res, err := c.Store.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.BySite, Window: bucket.Month, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, r := range res.Rows {
		v := got[r.Key]
		got[r.Key] = [2]int64{v[0] + r.RevenueCents, v[1] + r.DiscountCents}
	}
	for _, s := range sites {
		rep, err := s.Node.Promotions.Report(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if want := [2]int64{int64(rep.Net), int64(rep.Discount)}; got[s.ID] != want {
			t.Fatalf("central has %s at net/discount %v, the site %v", s.ID, got[s.ID], want)
		}
	}
	if got["promo1"] != [2]int64{500, 100} || got["promo2"] != [2]int64{470, 30} {
		t.Fatalf("central net/discount by site %v, want promo1 5.00/1.00, promo2 4.70/0.30", got)
	}
	rep, err := c.Store.Promotions(ctx, readmodel.PromotionQuery{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if rep.NetCents != 970 || rep.DiscountCents != 130 || len(rep.Promotions) != 2 {
		t.Fatalf("central report %+v, want net 9.70, discount 1.30, 2 promotions", rep)
	}
	want := []readmodel.PromotionTotal{
		{PromotionID: "lyon-20", Redemptions: 2, Lines: 2, Sites: 1, DiscountCents: 80},
		{PromotionID: "hq-10", Redemptions: 2, Lines: 2, Sites: 2, DiscountCents: 50},
	}
	for i, w := range want {
		if rep.Promotions[i] != w {
			t.Fatalf("promotion %d = %+v, want %+v", i, rep.Promotions[i], w)
		}
	}
	city, err := c.Store.Promotions(ctx, readmodel.PromotionQuery{From: from, To: to, City: "Pune"})
	if err != nil {
		t.Fatal(err)
	}
	if city.DiscountCents != 30 || len(city.Promotions) != 1 || city.Promotions[0].PromotionID != "hq-10" {
		t.Fatalf("Pune's report %+v", city)
	}
}
