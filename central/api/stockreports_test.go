package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// receiveInto fills depot D1 through a purchase order: P1 24 at 0.90 then
// 24 at 1.00 (two lots), P2 12 at 0.35; then 30 of P1 leave the depot.
func receiveInto(t *testing.T, c *central) {
	t.Helper()
	buyer := c.Token(auth.RoleProcurement)
	var po hqapi.PurchaseOrder
	c.Do("POST", "/purchase-orders", buyer, hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1",
		Lines: []hqapi.POLineIn{{ProductID: "P1", Quantity: 48}, {ProductID: "P2", Quantity: 12, UnitCost: ptr(wire.Money(35))}}}).JSON(t, &po)
	if r := c.Do("POST", "/purchase-orders/"+po.ID+"/send", buyer, nil); r.Status != http.StatusOK {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	for _, rc := range []hqapi.ReceiptIn{
		{ReceiptKey: "r1", Lines: []hqapi.ReceiptLineIn{{Line: 1, Quantity: 24, UnitCost: ptr(wire.Money(90))}, {Line: 2, Quantity: 12}}},
		{ReceiptKey: "r2", Lines: []hqapi.ReceiptLineIn{{Line: 1, Quantity: 24}}},
	} {
		if r := c.Do("POST", "/purchase-orders/"+po.ID+"/receive", buyer, rc); r.Status != http.StatusCreated {
			t.Fatalf("receive %s: %d %s", rc.ReceiptKey, r.Status, r.Body)
		}
	}
	err := c.Store.Inventory(context.Background(), func(tx *readmodel.InventoryTx) error {
		_, _, err := tx.Record(context.Background(), readmodel.MovementIn{Key: "out-1", Kind: readmodel.LocationDepot, LocationID: "D1",
			ProductID: "P1", Type: readmodel.MoveTransferOut, Quantity: -30, By: "whs-1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The valuation worked by hand. D1 holds P1 18 (of lots 24 at 0.90 and
// 24 at 1.00, the older consumed first) and P2 12 at 0.35; machines at
// standard cost (P1 1.00, P2 0.40): M1 P1 20, M1 P2 3, M2 P1 10.
//
//	FIFO:    D1 P1 18 × 1.00 = 18.00   average: 18 × 0.95 = 17.10
//	         D1 P2 12 × 0.35 =  4.20                         4.20
//	         M1 P1 20 × 1.00 = 20.00, M1 P2 3 × 0.40 = 1.20, M2 P1 10 × 1.00 = 10.00
//	fleet    53.40                                          52.50
func TestValuation_FIFOAndAverageByHand(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	receiveInto(t, c)
	fin := c.Token(auth.RoleFinance)
	tests := []struct {
		method  string
		d1P1    wire.Money
		d1Total wire.Money
		fleet   wire.Money
	}{
		{"fifo", 1800, 2220, 5340},
		{"average", 1710, 2130, 5250},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			r := c.Do("GET", "/reports/valuation?method="+tt.method, fin, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var rep hqapi.ValuationReport
			r.JSON(t, &rep)
			rows := map[string]hqapi.ValuationRow{}
			for _, x := range rep.Rows {
				rows[x.LocationKind+":"+x.LocationID+":"+x.ProductID] = x
			}
			if got := rows["depot:D1:P1"]; got.Quantity != 18 || got.Value != tt.d1P1 || got.LotQuantity != 18 {
				t.Fatalf("D1 P1 %+v, want 18 worth %s", got, tt.d1P1)
			}
			if got := rows["depot:D1:P2"]; got.Value != 420 {
				t.Fatalf("D1 P2 %+v", got)
			}
			if got := rows["machine:M1:P1"]; got.Value != 2000 || got.StandardQuantity != 20 || got.SiteID != "s1" || got.City != "Bangalore" {
				t.Fatalf("M1 P1 %+v", got)
			}
			var d1 hqapi.LocationValue
			for _, l := range rep.Locations {
				if l.LocationKind == "depot" && l.LocationID == "D1" {
					d1 = l
				}
			}
			if d1.Value != tt.d1Total || d1.Quantity != 30 {
				t.Fatalf("D1 %+v, want 30 worth %s", d1, tt.d1Total)
			}
			if rep.Total.Value != tt.fleet || rep.Total.Quantity != 30+33 {
				t.Fatalf("fleet %+v, want %s", rep.Total, tt.fleet)
			}
		})
	}
	r := c.Do("GET", "/reports/valuation?format=csv", fin, nil)
	recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil || r.Status != 200 {
		t.Fatalf("csv: %d %v %s", r.Status, err, r.Body)
	}
	if last := recs[len(recs)-1]; last[0] != "fleet" || last[6] != "53.40" {
		t.Fatalf("csv total %q", last)
	}
	if r := c.Do("GET", "/reports/valuation?method=lifo", fin, nil); r.Status != 400 || r.Error(t).Field != "method" {
		t.Fatalf("lifo: %d %s", r.Status, r.Body)
	}
}

// Sales of the fixture at standard cost (P1 1.00, P2 0.40, P9 unknown).
func TestMargin_PerProductCityAndPeriod(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	fin := c.Token(auth.RoleFinance)
	type row struct {
		key           string
		qty           int64
		revenue, cogs wire.Money
		pct           float64
		uncosted      int64
	}
	tests := []struct {
		name  string
		query string
		want  []row
	}{
		{"product", "groupBy=product", []row{{"P1", 6, 1650, 600, 63.64, 0}, {"P2", 10, 500, 400, 20, 0}, {"P9", 1, 100, 0, 100, 1}}},
		{"city", "groupBy=city", []row{{"Bangalore", 13, 1250, 700, 44, 0}, {"Berlin", 3, 900, 300, 66.67, 0}, {"Paris", 1, 100, 0, 100, 1}}},
		{"site", "groupBy=site&siteId=s2", []row{{"s2", 3, 900, 300, 66.67, 0}}},
		{"period", "groupBy=day&from=" + t0.Add(-25*time.Hour).Format(time.RFC3339), []row{{"2025-03-09", 1, 250, 100, 60, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do("GET", "/reports/margin?"+tt.query, fin, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var rep hqapi.MarginReport
			r.JSON(t, &rep)
			if rep.CostBasis != "standard" || len(rep.Rows) != len(tt.want) {
				t.Fatalf("report %+v", rep)
			}
			for i, w := range tt.want {
				g := rep.Rows[i]
				if g.Key != w.key || g.Quantity != w.qty || g.Revenue != w.revenue || g.COGS != w.cogs || g.GrossMargin != w.revenue-w.cogs ||
					g.MarginPercent != w.pct || g.UncostedQuantity != w.uncosted {
					t.Fatalf("row %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
	for _, q := range []string{"groupBy=machine", "from=yesterday", "from=2025-03-10&to=2025-03-01"} {
		if r := c.Do("GET", "/reports/margin?"+q, fin, nil); r.Status != 400 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
	}
}

// Losses: at s1 drv-a expired 2 P2 and damaged 1 P1, drv-b counted P1 3
// short then 1 over; at s2 drv-b expired 4 P1; at D1 whs-1 damaged 2 P1.
func TestShrink_PerSiteAndRoute(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	at := t0.Add(-2 * time.Hour)
	stock := func(machine, product, reason, by string, delta, after int64) ev {
		return ev{envelope.KindStock, at, envelope.StockMovement{MovementID: reason + by + product, MachineID: machine, ProductID: product,
			Reason: reason, Delta: delta, After: after, By: by}}
	}
	apply(t, c.Store, "s1", "Asia/Kolkata", 9,
		stock("M1", "P2", "EXPIRED", "drv-a", -2, 1),
		stock("M1", "P1", "DAMAGED", "drv-a", -1, 19),
		stock("M1", "P1", "COUNT", "drv-b", -3, 16),
		stock("M1", "P1", "COUNT", "drv-b", 1, 17),
		stock("M1", "P1", "RESTOCK", "drv-b", 10, 27),
	)
	apply(t, c.Store, "s2", "Europe/Berlin", 8, stock("M2", "P1", "EXPIRED", "drv-b", -4, 6))
	err := c.Store.Inventory(context.Background(), func(tx *readmodel.InventoryTx) error {
		for _, in := range []readmodel.MovementIn{
			{Key: "in-1", Kind: readmodel.LocationDepot, LocationID: "D1", ProductID: "P1", Type: readmodel.MoveReceipt, Quantity: 10, By: "whs-1"},
			{Key: "dmg-1", Kind: readmodel.LocationDepot, LocationID: "D1", ProductID: "P1", Type: readmodel.MoveDamaged, Quantity: -2, By: "whs-1"},
		} {
			if _, _, err := tx.Record(context.Background(), in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		key                  string
		spoil, damage, count int64
		total                int64
		totalValue           wire.Money
	}
	tests := []struct {
		groupBy string
		want    []row
	}{
		{"site", []row{{"s2", 4, 0, 0, 4, 400}, {"s1", 2, 1, 2, 5, 380}, {"depot:D1", 0, 2, 0, 2, 200}}},
		{"route", []row{{"drv-b", 4, 0, 2, 6, 600}, {"whs-1", 0, 2, 0, 2, 200}, {"drv-a", 2, 1, 0, 3, 180}}},
		{"product", []row{{"P1", 4, 3, 2, 9, 900}, {"P2", 2, 0, 0, 2, 80}}},
	}
	for _, tt := range tests {
		t.Run(tt.groupBy, func(t *testing.T) {
			r := c.Do("GET", "/reports/shrink?groupBy="+tt.groupBy, c.Token(auth.RoleOps), nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var rep hqapi.ShrinkReport
			r.JSON(t, &rep)
			if len(rep.Rows) != len(tt.want) {
				t.Fatalf("rows %+v", rep.Rows)
			}
			for i, w := range tt.want {
				g := rep.Rows[i]
				if g.Key != w.key || g.Spoilage != w.spoil || g.Damage != w.damage || g.CountLoss != w.count || g.Total != w.total || g.TotalValue != w.totalValue {
					t.Fatalf("row %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
	// Before the losses, nothing.
	var rep hqapi.ShrinkReport
	c.Do("GET", "/reports/shrink?to="+at.Add(-time.Minute).Format(time.RFC3339), c.Token(auth.RoleOps), nil).JSON(t, &rep)
	if len(rep.Rows) != 0 {
		t.Fatalf("before: %+v", rep.Rows)
	}
}

// With lots from the site: M1's P1 lot 1 (cost 0.80) of 20, of which a
// sale took 2. Valuation: M1 P1 20 on hand, 18 from the lot at 0.80 and 2
// at standard 1.00 = 16.40. Margin P1: the fixture's 6 units at standard
// (6.00) and the sale's 2 at lot cost (1.60).
func TestValuationAndMargin_UseTheSitesLotCosts(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	at := t0.Add(-time.Hour)
	cost := int64(80)
	apply(t, c.Store, "s1", "Asia/Kolkata", 9,
		ev{envelope.KindLot, at, envelope.Lot{LotID: 1, MachineID: "M1", ProductID: "P1", ExpiryDate: "2025-04-01", UnitCostCents: &cost,
			Quantity: 20, Status: "SELLABLE", Delta: 20, Reason: "RESTOCK"}},
		ev{envelope.KindSale, at, envelope.Sale{TransactionID: "tx-lot", MachineID: "M1", ProductID: "P1", Quantity: 2, AmountCents: 500,
			PaymentMethod: "CARD", City: "Bangalore", Location: "lobby", Lots: []envelope.LotUse{{LotID: 1, Quantity: 2, After: 18, UnitCostCents: &cost}}}},
	)
	fin := c.Token(auth.RoleFinance)
	var val hqapi.ValuationReport
	c.Do("GET", "/reports/valuation", fin, nil).JSON(t, &val)
	found := false
	for _, r := range val.Rows {
		if r.LocationKind == "machine" && r.LocationID == "M1" && r.ProductID == "P1" {
			found = true
			if r.Quantity != 20 || r.Value != 1640 || r.LotQuantity != 18 || r.StandardQuantity != 2 {
				t.Fatalf("M1 P1 %+v, want 20 worth 16.40 (18 at lot cost)", r)
			}
		}
	}
	if !found {
		t.Fatalf("no M1 P1 in %+v", val.Rows)
	}
	var m hqapi.MarginReport
	c.Do("GET", "/reports/margin?groupBy=product", fin, nil).JSON(t, &m)
	if m.CostBasis != "mixed" || len(m.Rows) == 0 {
		t.Fatalf("margin %+v", m)
	}
	if p1 := m.Rows[0]; p1.Key != "P1" || p1.Quantity != 8 || p1.Revenue != 2150 || p1.COGS != 760 || p1.LotCostQuantity != 2 {
		t.Fatalf("P1 %+v, want 8 units, revenue 21.50, COGS 7.60, 2 at lot cost", p1)
	}
}
