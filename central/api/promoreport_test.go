package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

func discountedSaleEv(tx, basket, product string, list, discount int64, promos map[string]int64, at time.Time) ev {
	s := envelope.Sale{TransactionID: tx, MachineID: "PM1", ProductID: product, Quantity: 1, AmountCents: list - discount,
		PaymentMethod: "CASH", City: "Lyon", Location: "Lyon/B1", ListCents: list, DiscountCents: discount, BasketID: basket}
	for id, d := range promos {
		s.Promotions = append(s.Promotions, envelope.SalePromotion{PromotionID: id, DiscountCents: d})
	}
	return ev{envelope.KindSale, at, s}
}

func TestReports_Promotions(t *testing.T) {
	c := newCentral(t)
	at := t0.Add(-time.Hour)
	evs := []ev{
		machineEv("PM1", "Lyon", "ACTIVE", at),
		discountedSaleEv("b1#1", "b1", "P1", 400, 80, map[string]int64{"p20": 80}, at),
		discountedSaleEv("b1#2", "b1", "P2", 200, 60, map[string]int64{"p20": 40, "combo": 20}, at),
		discountedSaleEv("s2", "", "P1", 400, 80, map[string]int64{"p20": 80}, at),
		saleEv("s3", "PM1", "P2", "Lyon", 1, 200, at),
	}
	apply(t, c.Store, "psite", "Europe/Paris", 1, evs...)
	apply(t, c.Store, "psite", "Europe/Paris", 1, evs...) // a redelivery changes nothing

	r := c.Do("GET", "/reports/promotions?siteId=psite&from=2025-03-01&to=2025-03-11", c.Token(auth.RoleFinance), nil)
	var rep hqapi.PromotionReport
	r.JSON(t, &rep)
	if r.Status != http.StatusOK || rep.Net != 980 || rep.Discount != 220 || rep.Gross != 1200 || len(rep.Promotions) != 2 {
		t.Fatalf("report %d %s: want net 9.80, discount 2.20, gross 12.00, 2 promotions", r.Status, r.Body)
	}
	if p := rep.Promotions[0]; p.PromotionID != "p20" || p.Redemptions != 2 || p.Lines != 3 || p.Sites != 1 || p.Discount != 200 {
		t.Fatalf("p20 %+v: want 2 redemptions on 3 lines for 2.00", p)
	}
	if p := rep.Promotions[1]; p.PromotionID != "combo" || p.Redemptions != 1 || p.Discount != 20 {
		t.Fatalf("combo %+v", p)
	}
	if len(rep.Freshness) != 1 || rep.Freshness[0].SiteID != "psite" {
		t.Fatalf("freshness %+v", rep.Freshness)
	}
	var agg hqapi.SalesAnswer
	r = c.Do("GET", "/aggregations/sales?groupBy=product&siteId=psite&from=2025-03-01&to=2025-03-11", c.Token(auth.RoleOps), nil)
	r.JSON(t, &agg)
	if r.Status != http.StatusOK || agg.Totals.Revenue != 980 || agg.Totals.Discount != 220 || agg.Totals.GrossRevenue != 1200 {
		t.Fatalf("aggregation %d %s", r.Status, r.Body)
	}
	for _, row := range agg.Rows {
		if row.GrossRevenue != row.Revenue+row.Discount {
			t.Fatalf("row %+v: gross is not revenue + discount", row)
		}
	}
	if r := c.Do("GET", "/reports/promotions?from=nope", c.Token(auth.RoleFinance), nil); r.Status != http.StatusBadRequest || r.Error(t).Field != "from" {
		t.Fatalf("bad from: %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/reports/promotions", c.Token(auth.RoleDriver), nil); r.Status != http.StatusForbidden {
		t.Fatalf("driver: %d %s", r.Status, r.Body)
	}
}
