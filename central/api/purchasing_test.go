package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// withDepotAndSupplier adds depot D1 (Bangalore) and supplier ACME (lead
// time 7 days, minimum order 50.00) selling P1 by 12 at 1.00 and P2 by 6
// at 0.40.
func withDepotAndSupplier(t *testing.T, c *central) {
	t.Helper()
	if _, err := c.Store.CreateDepot(context.Background(), readmodel.Depot{ID: "D1", Name: "Depot 1", City: "Bangalore", CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	r := c.Do("POST", "/suppliers", c.Token(auth.RoleProcurement), hqapi.Supplier{ID: "ACME", Name: "Acme Drinks", LeadTimeDays: 7, MinOrder: 5000,
		Products: []hqapi.SupplierProduct{{ProductID: "P1", CasePack: 12, UnitCost: 100}, {ProductID: "P2", CasePack: 6, UnitCost: 40}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /suppliers: %d %s", r.Status, r.Body)
	}
}

func TestPurchaseOrder_LifecycleWithPartialReceipt(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	buyer, whs := c.Token(auth.RoleProcurement), c.Token(auth.RoleWarehouse)

	r := c.Do("POST", "/purchase-orders", buyer, hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1",
		Lines: []hqapi.POLineIn{{ProductID: "P1", Quantity: 48}, {ProductID: "P2", Quantity: 12, UnitCost: ptr(wire.Money(35))}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var po hqapi.PurchaseOrder
	r.JSON(t, &po)
	if po.Status != "DRAFT" || po.Total != 48*100+12*35 || len(po.Lines) != 2 {
		t.Fatalf("created %+v", po)
	}
	path := "/purchase-orders/" + po.ID

	// A draft cannot be received; the error names the state.
	r = c.Do("POST", path+"/receive", whs, hqapi.ReceiptIn{ReceiptKey: "r0", Lines: []hqapi.ReceiptLineIn{{Line: 1, Quantity: 1}}})
	if e := r.Error(t); r.Status != http.StatusConflict || e.Code != "PO_STATE" || !strings.Contains(e.Message, "DRAFT") {
		t.Fatalf("receive a draft: %d %+v", r.Status, e)
	}
	if r = c.Do("POST", path+"/send", buyer, nil); r.Status != http.StatusOK {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	if r = c.Do("POST", path+"/send", buyer, nil); r.Status != http.StatusConflict || !strings.Contains(r.Error(t).Message, "SENT") {
		t.Fatalf("send twice: %d %s", r.Status, r.Body)
	}

	// First delivery: 24 of P1 at a better cost with an expiry, all of P2.
	first := hqapi.ReceiptIn{ReceiptKey: "r1", Lines: []hqapi.ReceiptLineIn{
		{Line: 1, Quantity: 24, ExpiryDate: "2025-09-01", UnitCost: ptr(wire.Money(90))},
		{Line: 2, Quantity: 12, ExpiryDate: "2025-06-01"}}}
	r = c.Do("POST", path+"/receive", whs, first)
	if r.Status != http.StatusCreated {
		t.Fatalf("receive 1: %d %s", r.Status, r.Body)
	}
	var rc hqapi.Receipt
	r.JSON(t, &rc)
	if rc.PurchaseOrder.Status != "PARTIALLY_RECEIVED" || len(rc.Lots) != 2 || rc.Lots[0].UnitCost != 90 || rc.Lots[1].UnitCost != 35 {
		t.Fatalf("receipt 1: %+v", rc)
	}
	// The same receipt again changes nothing.
	r = c.Do("POST", path+"/receive", whs, first)
	rc = hqapi.Receipt{}
	r.JSON(t, &rc)
	if r.Status != http.StatusOK || !rc.Replayed || rc.PurchaseOrder.Lines[0].Received != 24 || len(rc.Lots) != 2 {
		t.Fatalf("replayed receipt: %d %s", r.Status, r.Body)
	}
	// More than is outstanding is refused, naming the line's field.
	r = c.Do("POST", path+"/receive", whs, hqapi.ReceiptIn{ReceiptKey: "r2", Lines: []hqapi.ReceiptLineIn{{Line: 1, Quantity: 25}}})
	if e := r.Error(t); r.Status != http.StatusUnprocessableEntity || e.Code != "OVER_RECEIPT" || e.Field != "lines[0].quantity" {
		t.Fatalf("over-receipt: %d %+v", r.Status, e)
	}
	r = c.Do("POST", path+"/receive", whs, hqapi.ReceiptIn{ReceiptKey: "r2", Lines: []hqapi.ReceiptLineIn{{Line: 1, Quantity: 24, ExpiryDate: "2025-10-01"}}})
	rc = hqapi.Receipt{}
	r.JSON(t, &rc)
	if r.Status != http.StatusCreated || rc.PurchaseOrder.Status != "RECEIVED" {
		t.Fatalf("receive 2: %d %s", r.Status, r.Body)
	}
	if r = c.Do("POST", path+"/cancel", buyer, nil); r.Status != http.StatusConflict || !strings.Contains(r.Error(t).Message, "RECEIVED") {
		t.Fatalf("cancel a received order: %d %s", r.Status, r.Body)
	}

	// The depot holds what arrived, as receipt movements at cost.
	stock, err := c.Store.Stock(context.Background(), readmodel.LocationDepot, "D1")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range stock {
		got[s.ProductID] = s.Quantity
	}
	if got["P1"] != 48 || got["P2"] != 12 {
		t.Fatalf("depot stock %v, want P1 48, P2 12", got)
	}
	sums, err := c.Store.LedgerSums(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sums[[3]string{"depot", "D1", "P1"}] != 48 {
		t.Fatalf("ledger sums %v", sums)
	}

	// CSV, by suffix and by format.
	for _, p := range []string{path + ".csv", path + "?format=csv"} {
		r = c.Do("GET", p, c.Token(auth.RoleFinance), nil)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
		}
		recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || recs[1][5] != "P1" || recs[1][6] != "48" || recs[1][7] != "1.00" || recs[2][9] != "12" {
			t.Fatalf("csv %q", recs)
		}
	}
}

func TestPurchaseOrder_RefusesBadInput(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	buyer := c.Token(auth.RoleProcurement)
	tests := []struct {
		name   string
		body   hqapi.PurchaseOrderIn
		status int
		field  string
	}{
		{"no lines", hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1"}, 400, "lines"},
		{"unknown supplier", hqapi.PurchaseOrderIn{SupplierID: "NOPE", DepotID: "D1", Lines: []hqapi.POLineIn{{ProductID: "P1", Quantity: 12}}}, 422, "supplierId"},
		{"unknown depot", hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D9", Lines: []hqapi.POLineIn{{ProductID: "P1", Quantity: 12}}}, 422, "depotId"},
		{"not supplied", hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1", Lines: []hqapi.POLineIn{{ProductID: "P9", Quantity: 12}}}, 422, "lines[0].productId"},
		{"not whole cases", hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1", Lines: []hqapi.POLineIn{{ProductID: "P1", Quantity: 10}}}, 422, "lines[0].quantity"},
		{"zero quantity", hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1", Lines: []hqapi.POLineIn{{ProductID: "P1"}}}, 400, "lines[0].quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do("POST", "/purchase-orders", buyer, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d %s, want %d", r.Status, r.Body, tt.status)
			}
			if e := r.Error(t); e.Field != tt.field {
				t.Fatalf("field %q, want %q", e.Field, tt.field)
			}
		})
	}
	// Below the supplier's minimum order (50.00) a draft is not sent.
	var po hqapi.PurchaseOrder
	c.Do("POST", "/purchase-orders", buyer, hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1",
		Lines: []hqapi.POLineIn{{ProductID: "P1", Quantity: 12}}}).JSON(t, &po)
	if r := c.Do("POST", "/purchase-orders/"+po.ID+"/send", buyer, nil); r.Status != http.StatusUnprocessableEntity || r.Error(t).Code != "BELOW_MIN_ORDER" {
		t.Fatalf("send below minimum: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/purchase-orders/"+po.ID+"/cancel", buyer, nil); r.Status != http.StatusOK {
		t.Fatalf("cancel draft: %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/purchase-orders/PO-999999", buyer, nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown order: %d", r.Status)
	}
	if r := c.Do("POST", "/suppliers", buyer, hqapi.Supplier{ID: "ACME", Name: "again", LeadTimeDays: 1}); r.Status != http.StatusConflict {
		t.Fatalf("duplicate supplier: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/suppliers", buyer, hqapi.Supplier{ID: "B", Name: "b", LeadTimeDays: -1}); r.Status != 400 || r.Error(t).Field != "leadTimeDays" {
		t.Fatalf("negative lead time: %d %s", r.Status, r.Body)
	}
}

// Demand at D1 (Bangalore) over the 28 days before the API's clock: P1
// sold 3, P2 sold 10. Lead time 7 days, safety 3 days.
func TestReplenishment_DemandOverLeadTimeLessStockRoundedToCases(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	buyer := c.Token(auth.RoleProcurement)
	// 6 of P2 already on order (a sent PO's line).
	var po hqapi.PurchaseOrder
	c.Do("POST", "/purchase-orders", buyer, hqapi.PurchaseOrderIn{SupplierID: "ACME", DepotID: "D1",
		Lines: []hqapi.POLineIn{{ProductID: "P2", Quantity: 6}}}).JSON(t, &po)

	r := c.Do("GET", "/reports/replenishment?depotId=D1&safetyDays=3", buyer, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var rep hqapi.Replenishment
	r.JSON(t, &rep)
	want := map[string]struct{ onOrder, qty int64 }{
		"P1": {0, 12}, // 3/28·10 = 1.07 → 2 → one case of 12
		"P2": {6, 0},  // 10/28·10 = 3.57, 6 on order covers it
	}
	if len(rep.Lines) != len(want) {
		t.Fatalf("lines %+v", rep.Lines)
	}
	for _, l := range rep.Lines {
		w := want[l.ProductID]
		if l.OnOrder != w.onOrder || l.SuggestedQty != w.qty || l.SupplierID != "ACME" {
			t.Fatalf("%s: %+v, want on order %d, suggest %d", l.ProductID, l, w.onOrder, w.qty)
		}
	}
	if r := c.Do("GET", "/reports/replenishment", buyer, nil); r.Status != 400 || r.Error(t).Field != "depotId" {
		t.Fatalf("no depot: %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/reports/replenishment?depotId=NOPE", buyer, nil); r.Status != 404 {
		t.Fatalf("unknown depot: %d %s", r.Status, r.Body)
	}
}

func TestPurchasing_RBAC(t *testing.T) {
	c := newCentral(t)
	withDepotAndSupplier(t, c)
	tests := []struct {
		method, path string
		role         auth.Role
		allowed      bool
	}{
		{"POST", "/suppliers", auth.RoleProcurement, true},
		{"POST", "/suppliers", auth.RoleWarehouse, false},
		{"POST", "/suppliers", auth.RoleFinance, false},
		{"GET", "/suppliers", auth.RoleWarehouse, true},
		{"GET", "/suppliers", auth.RoleDriver, false},
		{"POST", "/purchase-orders", auth.RoleProcurement, true},
		{"POST", "/purchase-orders", auth.RoleWarehouse, false},
		{"POST", "/purchase-orders", auth.RoleOps, false},
		{"GET", "/purchase-orders", auth.RoleFinance, true},
		{"POST", "/purchase-orders/PO-000001/receive", auth.RoleWarehouse, true},
		{"POST", "/purchase-orders/PO-000001/receive", auth.RoleFinance, false},
		{"POST", "/purchase-orders/PO-000001/send", auth.RoleWarehouse, false},
		{"GET", "/reports/replenishment?depotId=D1", auth.RoleProcurement, true},
		{"GET", "/reports/replenishment?depotId=D1", auth.RoleWarehouse, false},
		{"POST", "/alerts/subscribe", auth.RoleWarehouse, true},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path+string(tt.role), func(t *testing.T) {
			r := c.Do(tt.method, tt.path, c.Token(tt.role), "{}")
			if forbidden := r.Status == http.StatusForbidden; forbidden == tt.allowed {
				t.Fatalf("%s %s as %s: %d %s", tt.method, tt.path, tt.role, r.Status, r.Body)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
