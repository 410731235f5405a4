package api_test

import (
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// must sends a request as role and fails the test unless it answers want.
func (c *central) must(role auth.Role, method, path string, body any, want int, out any) Response {
	c.t.Helper()
	r := c.Do(method, path, c.Token(role), body)
	if r.Status != want {
		c.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, role, r.Status, r.Body, want)
	}
	if out != nil {
		r.JSON(c.t, out)
	}
	return r
}

// checkStockIsLedger asserts that every depot and van's stock is the sum
// of its movements in GET /stock-movements and never negative.
func (c *central) checkStockIsLedger() {
	c.t.Helper()
	var st hqapi.StockList
	c.must(auth.RoleWarehouse, "GET", "/inventory/stock", nil, http.StatusOK, &st)
	sums := map[[3]string]int64{}
	for off := 0; ; {
		var p hqapi.MovementList
		c.must(auth.RoleWarehouse, "GET", "/stock-movements?limit=7&offset="+itoaTest(off), nil, http.StatusOK, &p)
		for _, m := range p.Movements {
			if m.LocationKind != "machine" {
				sums[[3]string{m.LocationKind, m.LocationID, m.ProductID}] += m.Quantity
			}
		}
		if p.NextOffset == nil {
			break
		}
		off = *p.NextOffset
	}
	if got, want := len(st.Stock), len(sums); got != want {
		c.t.Fatalf("%d stock rows, %d locations in the ledger", got, want)
	}
	for _, s := range st.Stock {
		k := [3]string{s.LocationKind, s.LocationID, s.ProductID}
		if s.Quantity != sums[k] || s.Quantity < 0 {
			c.t.Fatalf("%v: stock %d, ledger sums to %d", k, s.Quantity, sums[k])
		}
	}
}

func itoaTest(n int) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func ptr64(v int64) *int64 { return &v }

func setupDepotVan(c *central) {
	c.t.Helper()
	c.must(auth.RoleWarehouse, "POST", "/depots", hqapi.NewDepot{DepotID: "D1", Name: "North depot", City: "Berlin"}, http.StatusCreated, nil)
	c.must(auth.RoleWarehouse, "POST", "/vans", hqapi.NewVan{VanID: "VAN1", Name: "Van one", DepotID: "D1", Driver: "ana"}, http.StatusCreated, nil)
}

func TestInventory_BulkUpdatePerLineOutcomesAndIdempotency(t *testing.T) {
	c := newCentral(t)
	setupDepotVan(c)
	body := hqapi.BulkUpdateIn{RequestKey: "b1", Lines: []hqapi.BulkLine{
		{LocationKind: "depot", LocationID: "D1", ProductID: "P1", Type: "receipt", Quantity: 40, UnitCostCents: ptr64(90)},
		{LocationKind: "depot", LocationID: "NOPE", ProductID: "P1", Type: "receipt", Quantity: 5},
		{LocationKind: "machine", LocationID: "M1", ProductID: "P1", Type: "count_adjustment", Quantity: 5},
		{LocationKind: "van", LocationID: "VAN1", ProductID: "P1", Type: "damaged", Quantity: -1},
		{LocationKind: "depot", LocationID: "D1", ProductID: "P2", Counted: ptr64(12)},
		{LocationKind: "depot", LocationID: "D1", ProductID: "P1", Type: "receipt", Quantity: -3},
	}}
	var res hqapi.BulkResult
	c.must(auth.RoleWarehouse, "POST", "/inventory/bulk-update", body, http.StatusOK, &res)
	want := []struct {
		status, code, field string
		balance             int64
	}{
		{"ok", "", "", 40},
		{"error", "UNKNOWN_LOCATION", "locationId", 0},
		{"error", "MACHINE_OWNED_BY_SITE", "locationKind", 0},
		{"error", "INSUFFICIENT_STOCK", "quantity", 0},
		{"ok", "", "", 12},
		{"error", "VALIDATION_FAILED", "quantity", 0},
	}
	if got := len(res.Lines); got != len(want) || res.OK != 2 || res.Failed != 4 {
		t.Fatalf("result = %+v", res)
	}
	for i, w := range want {
		l := res.Lines[i]
		code, field := "", ""
		if l.Error != nil {
			code, field = l.Error.Code, l.Error.Field
		}
		if l.Line != i+1 || l.Status != w.status || code != w.code || field != w.field || l.Balance != w.balance {
			t.Errorf("line %d = %+v (error %+v), want %+v", i+1, l, l.Error, w)
		}
	}
	if m := res.Lines[0].Movement; m == nil || m.UnitCostCents == nil || *m.UnitCostCents != 90 {
		t.Errorf("line 1 movement = %+v, want unit cost 90", m)
	}
	if m := res.Lines[4].Movement; m == nil || m.Type != "count_adjustment" || m.Quantity != 12 {
		t.Errorf("counted line movement = %+v", m)
	}
	// The same request again answers the same result and moves nothing.
	var again hqapi.BulkResult
	r := c.must(auth.RoleWarehouse, "POST", "/inventory/bulk-update", body, http.StatusOK, &again)
	if r.Header.Get("Idempotent-Replayed") != "true" || again.OK != 2 || again.Failed != 4 || again.Lines[3].Error.Code != "INSUFFICIENT_STOCK" {
		t.Fatalf("replay = %s", r.Body)
	}
	body.Lines[0].Quantity = 41
	if got := c.must(auth.RoleWarehouse, "POST", "/inventory/bulk-update", body, http.StatusConflict, nil).Error(t).Code; got != "IDEMPOTENCY_CONFLICT" {
		t.Fatalf("code = %s", got)
	}
	var st hqapi.StockList
	c.must(auth.RoleOps, "GET", "/inventory/stock?locationKind=depot&locationId=D1", nil, http.StatusOK, &st)
	if len(st.Stock) != 2 || st.Stock[0].Quantity != 40 || st.Stock[1].Quantity != 12 {
		t.Fatalf("depot stock = %+v", st.Stock)
	}
	c.checkStockIsLedger()
}

func TestInventory_TransfersLoadAndReturn(t *testing.T) {
	c := newCentral(t)
	setupDepotVan(c)
	c.must(auth.RoleWarehouse, "POST", "/inventory/bulk-update", hqapi.BulkUpdateIn{RequestKey: "in", Lines: []hqapi.BulkLine{
		{LocationKind: "depot", LocationID: "D1", ProductID: "P1", Type: "receipt", Quantity: 30},
		{LocationKind: "depot", LocationID: "D1", ProductID: "P2", Type: "receipt", Quantity: 4},
	}}, http.StatusOK, nil)
	load := hqapi.TransferIn{TransferID: "load-1", From: hqapi.StockLocation{Kind: "depot", ID: "D1"}, To: hqapi.StockLocation{Kind: "van", ID: "VAN1"},
		Lines: []hqapi.TransferLineIn{{ProductID: "P1", Planned: ptr64(24), Picked: 24}, {ProductID: "P2", Planned: ptr64(6), Picked: 4}}}
	var tr hqapi.Transfer
	c.must(auth.RoleDriver, "POST", "/transfers", load, http.StatusCreated, &tr)
	if tr.Kind != "load" || tr.Shortfall != 2 || tr.Lines[1].Shortfall != 2 {
		t.Fatalf("transfer = %+v", tr)
	}
	r := c.must(auth.RoleDriver, "POST", "/transfers", load, http.StatusOK, nil)
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replayed transfer not marked")
	}
	load.Lines[0].Picked = 23
	c.must(auth.RoleDriver, "POST", "/transfers", load, http.StatusConflict, nil)
	// More than the depot holds: refused whole.
	short := hqapi.TransferIn{TransferID: "load-2", From: load.From, To: load.To, Lines: []hqapi.TransferLineIn{{ProductID: "P1", Picked: 5}, {ProductID: "P2", Picked: 1}}}
	if e := c.must(auth.RoleWarehouse, "POST", "/transfers", short, http.StatusUnprocessableEntity, nil).Error(t); e.Code != "INSUFFICIENT_STOCK" || e.Field != "lines[1].picked" {
		t.Fatalf("error = %+v", e)
	}
	toMachine := hqapi.TransferIn{TransferID: "x", From: load.To, To: hqapi.StockLocation{Kind: "machine", ID: "M1"}, Lines: []hqapi.TransferLineIn{{ProductID: "P1", Picked: 1}}}
	if e := c.must(auth.RoleWarehouse, "POST", "/transfers", toMachine, http.StatusUnprocessableEntity, nil).Error(t); e.Code != "MACHINE_OWNED_BY_SITE" || e.Field != "to" {
		t.Fatalf("error = %+v", e)
	}
	ret := hqapi.TransferIn{TransferID: "ret-1", From: load.To, To: load.From, Lines: []hqapi.TransferLineIn{{ProductID: "P1", Picked: 3}}}
	c.must(auth.RoleWarehouse, "POST", "/transfers", ret, http.StatusCreated, &tr)
	if tr.Kind != "return" {
		t.Fatalf("kind = %s", tr.Kind)
	}
	var st hqapi.StockList
	c.must(auth.RoleDriver, "GET", "/inventory/stock?locationKind=van", nil, http.StatusOK, &st)
	if len(st.Stock) != 2 || st.Stock[0].Quantity != 21 || st.Stock[1].Quantity != 4 {
		t.Fatalf("van stock = %+v", st.Stock)
	}
	var list hqapi.TransferList
	c.must(auth.RoleWarehouse, "GET", "/transfers?locationId=VAN1", nil, http.StatusOK, &list)
	if len(list.Transfers) != 2 {
		t.Fatalf("transfers = %+v", list)
	}
	var rep hqapi.MovementReport
	c.must(auth.RoleFinance, "GET", "/reports/stock-movement?locationKind=van", nil, http.StatusOK, &rep)
	if len(rep.Rows) != 2 || rep.Rows[0].ByType["transfer_in"] != 24 || rep.Rows[0].ByType["return"] != -3 || rep.Rows[0].Closing != 21 {
		t.Fatalf("report = %+v", rep)
	}
	var mv hqapi.MovementList
	c.must(auth.RoleProcurement, "GET", "/stock-movements?type=return", nil, http.StatusOK, &mv)
	if len(mv.Movements) != 2 {
		t.Fatalf("returns = %+v", mv.Movements)
	}
	c.checkStockIsLedger()
}

func TestInventory_ChannelSyncIdempotentAndReconciled(t *testing.T) {
	c := newCentral(t)
	setupDepotVan(c)
	c.must(auth.RoleWarehouse, "POST", "/inventory/bulk-update", hqapi.BulkUpdateIn{RequestKey: "in", Lines: []hqapi.BulkLine{
		{LocationKind: "depot", LocationID: "D1", ProductID: "P1", Type: "receipt", Quantity: 10},
	}}, http.StatusOK, nil)
	sync := hqapi.ChannelSyncIn{Channel: "shopify", Location: hqapi.StockLocation{Kind: "depot", ID: "D1"},
		Changes: []hqapi.ChannelChange{
			{ChannelID: "o-1", ProductID: "P1", Type: "sale", Quantity: -2},
			{ChannelID: "o-2", ProductID: "P1", Type: "sale", Quantity: -20},
			{ChannelID: "o-3", ProductID: "P1", Type: "restock", Quantity: 1},
		},
		Stock: []hqapi.ChannelStock{{ProductID: "P1", Quantity: 7}, {ProductID: "P9", Quantity: 0}},
	}
	var res hqapi.BulkResult
	c.must(auth.RoleWarehouse, "POST", "/integration/sync", sync, http.StatusOK, &res)
	if res.OK != 1 || res.Failed != 2 || res.Lines[1].Error.Code != "INSUFFICIENT_STOCK" || res.Lines[2].Error.Field != "type" || res.Lines[0].Balance != 8 {
		t.Fatalf("sync = %+v", res)
	}
	// The channel sends o-1 again with a new order: o-1 counts once.
	sync.Changes = []hqapi.ChannelChange{{ChannelID: "o-1", ProductID: "P1", Type: "sale", Quantity: -2}, {ChannelID: "o-4", ProductID: "P1", Type: "sale", Quantity: -1}}
	c.must(auth.RoleWarehouse, "POST", "/integration/sync", sync, http.StatusOK, &res)
	if !res.Lines[0].Replayed || res.Lines[1].Balance != 7 {
		t.Fatalf("second sync = %+v", res)
	}
	var rec hqapi.ChannelReconciliation
	c.must(auth.RoleOps, "GET", "/integration/reconciliation?channel=shopify", nil, http.StatusOK, &rec)
	if rec.Differences != 0 || len(rec.Lines) != 2 {
		t.Fatalf("reconciliation = %+v", rec)
	}
	// Stock moves at central without the channel: a difference shows.
	c.must(auth.RoleWarehouse, "POST", "/inventory/bulk-update", hqapi.BulkUpdateIn{RequestKey: "dmg", Lines: []hqapi.BulkLine{
		{LocationKind: "depot", LocationID: "D1", ProductID: "P1", Type: "damaged", Quantity: -2},
	}}, http.StatusOK, nil)
	c.must(auth.RoleOps, "GET", "/integration/reconciliation?channel=shopify", nil, http.StatusOK, &rec)
	if rec.Differences != 1 || rec.Lines[0].ProductID != "P1" || rec.Lines[0].Difference != 2 {
		t.Fatalf("reconciliation = %+v", rec)
	}
	if e := c.must(auth.RoleOps, "GET", "/integration/reconciliation", nil, http.StatusBadRequest, nil).Error(t); e.Field != "channel" {
		t.Fatalf("error = %+v", e)
	}
	c.checkStockIsLedger()
}

func TestInventory_RolesAndBadInput(t *testing.T) {
	c := newCentral(t)
	setupDepotVan(c)
	for _, tc := range []struct {
		name         string
		role         auth.Role
		method, path string
		body         any
		want         int
	}{
		{"finance cannot create depots", auth.RoleFinance, "POST", "/depots", hqapi.NewDepot{DepotID: "D2", Name: "x"}, http.StatusForbidden},
		{"procurement cannot create depots", auth.RoleProcurement, "POST", "/depots", hqapi.NewDepot{DepotID: "D2", Name: "x"}, http.StatusForbidden},
		{"procurement reads movements", auth.RoleProcurement, "GET", "/stock-movements", nil, http.StatusOK},
		{"driver cannot bulk update", auth.RoleDriver, "POST", "/inventory/bulk-update", hqapi.BulkUpdateIn{RequestKey: "k"}, http.StatusForbidden},
		{"ops cannot sync channels", auth.RoleOps, "POST", "/integration/sync", hqapi.ChannelSyncIn{Channel: "c"}, http.StatusForbidden},
		{"driver cannot read the ledger", auth.RoleDriver, "GET", "/stock-movements", nil, http.StatusForbidden},
		{"duplicate depot", auth.RoleWarehouse, "POST", "/depots", hqapi.NewDepot{DepotID: "D1", Name: "again"}, http.StatusConflict},
		{"van at unknown depot", auth.RoleWarehouse, "POST", "/vans", hqapi.NewVan{VanID: "V2", Name: "x", DepotID: "D9"}, http.StatusUnprocessableEntity},
		{"bad movement type", auth.RoleWarehouse, "GET", "/stock-movements?type=gift", nil, http.StatusBadRequest},
		{"bad location kind", auth.RoleWarehouse, "GET", "/stock-movements?locationKind=shelf", nil, http.StatusBadRequest},
		{"bad limit", auth.RoleWarehouse, "GET", "/stock-movements?limit=5000", nil, http.StatusBadRequest},
		{"bad from", auth.RoleWarehouse, "GET", "/reports/stock-movement?from=yesterday", nil, http.StatusBadRequest},
		{"empty bulk", auth.RoleWarehouse, "POST", "/inventory/bulk-update", hqapi.BulkUpdateIn{RequestKey: "k"}, http.StatusBadRequest},
		{"unknown field", auth.RoleWarehouse, "POST", "/transfers", map[string]any{"transferId": "t", "bogus": 1}, http.StatusBadRequest},
		{"procurement creates skus? no", auth.RoleProcurement, "POST", "/skus", hqapi.SKU{SKU: "S1", ProductID: "P1"}, http.StatusForbidden},
		{"warehouse creates a sku", auth.RoleWarehouse, "POST", "/skus", hqapi.SKU{SKU: "S1", ProductID: "P1", Variant: "330ml", Barcode: "4006381333931"}, http.StatusCreated},
		{"barcode taken", auth.RoleWarehouse, "POST", "/skus", hqapi.SKU{SKU: "S2", ProductID: "P1", Barcode: "4006381333931"}, http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.must(tc.role, tc.method, tc.path, tc.body, tc.want, nil)
		})
	}
	var ds hqapi.DepotList
	c.t = t
	c.must(auth.RoleProcurement, "GET", "/depots", nil, http.StatusOK, &ds)
	if len(ds.Depots) != 1 || ds.Depots[0].CreatedBy == "" {
		t.Fatalf("depots = %+v", ds)
	}
}
