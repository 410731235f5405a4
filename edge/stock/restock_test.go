package stock_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// must sends a request with the admin token and fails the test unless it
// answers status.
func must(t *testing.T, s *edgetest.Site, method, path string, body any, status int) {
	t.Helper()
	if r := s.Do(method, path, s.AdminToken(), body); r.Status != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
}

// restockSite has M1 with P1 (low stock: 3 of limit 5, expired yesterday),
// P2 (out of stock) and P3 (10 in stock, an open INVENTORY_MISMATCH).
func restockSite(t *testing.T) *edgetest.Site {
	t.Helper()
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	s.Machine("M1")
	s.Product("M1", "P1", 100, 3, map[string]any{"lowStockLimit": 5, "expiryDate": "2025-03-09"})
	s.Product("M1", "P2", 100, 0)
	s.Product("M1", "P3", 100, 1)
	must(t, s, "POST", "/events/sales", s.Sale("tx-over", "M1", "P3", 2, 200), http.StatusCreated)
	must(t, s, "PATCH", "/machines/M1/products/P3", map[string]any{"quantity": 10}, http.StatusOK)
	must(t, s, "POST", "/events/sales", s.Sale("tx-over2", "M1", "P3", 11, 1100), http.StatusCreated)
	if got := s.OpenAlerts("M1", "P3"); got != "INVENTORY_MISMATCH,OUT_OF_STOCK" {
		t.Fatalf("setup: P3 alerts = %q", got)
	}
	return s
}

func TestRestock_AppliesMovementsAndClosesAlerts(t *testing.T) {
	s := restockSite(t)
	if got, want := s.OpenAlerts("M1", "P1"), "EXPIRED,LOW_STOCK"; got != want {
		t.Fatalf("setup: P1 alerts = %q, want %q", got, want)
	}
	driver := s.Client(auth.RoleDriver, "")
	tok := s.TokenFor(driver)
	outboxBefore := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'stock'`)
	body := map[string]any{"movementId": "visit-1", "items": []map[string]any{
		{"productId": "P1", "removedExpired": 3, "added": 12, "expiryDate": "2025-06-01"},
		{"productId": "P2", "added": 8, "removedDamaged": 0},
		{"productId": "P3", "added": 6, "countedQuantity": 5},
	}}
	r := s.Do("POST", "/machines/M1/restock", tok, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST restock: %d %s", r.Status, r.Body)
	}
	var res struct {
		MovementID string `json:"movementId"`
		Lines      []struct {
			ProductID, Reason string
			Delta, After      int64
		} `json:"lines"`
	}
	r.Decode(t, &res)
	type line struct {
		p, reason    string
		delta, after int64
	}
	want := []line{{"P1", "EXPIRED", -3, 0}, {"P1", "RESTOCK", 12, 12}, {"P2", "RESTOCK", 8, 8}, {"P3", "RESTOCK", 6, 6}, {"P3", "COUNT", -1, 5}}
	if len(res.Lines) != len(want) {
		t.Fatalf("lines = %+v, want %v", res.Lines, want)
	}
	for i, w := range want {
		g := res.Lines[i]
		if got := (line{g.ProductID, g.Reason, g.Delta, g.After}); got != w {
			t.Fatalf("line %d = %v, want %v", i, got, w)
		}
	}
	for _, c := range []struct {
		p      string
		stock  int64
		alerts string
	}{{"P1", 12, ""}, {"P2", 8, ""}, {"P3", 5, "LOW_STOCK"}} {
		if got := s.Stock("M1", c.p); got != c.stock {
			t.Fatalf("stock of %s = %d, want %d", c.p, got, c.stock)
		}
		if got := s.OpenAlerts("M1", c.p); got != c.alerts {
			t.Fatalf("open alerts of %s = %q, want %q", c.p, got, c.alerts)
		}
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'stock'`) - outboxBefore; got != 5 {
		t.Fatalf("%d stock events in the outbox, want 5", got)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM audit_logs WHERE action = 'RESTOCK' AND performed_by = ?`, driver.ClientID); got != 3 {
		t.Fatalf("%d RESTOCK audit rows by the driver, want 3", got)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM stock_movements WHERE movement_id = 'visit-1' AND performed_by = ?`, driver.ClientID); got != 5 {
		t.Fatalf("%d stock_movements rows, want 5", got)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM machine_inventory WHERE product_id = 'P1' AND expiry_date = '2025-06-01'`); got != 1 {
		t.Fatalf("P1 expiry not set to the new stock's date")
	}
	edgetest.CheckAlerts(t, s.DB())
}

func TestRestock_Idempotent(t *testing.T) {
	s := restockSite(t)
	tok := s.Token(auth.RoleDriver, "")
	body := map[string]any{"movementId": "visit-2", "items": []map[string]any{{"productId": "P2", "added": 4}}}
	first := s.Do("POST", "/machines/M1/restock", tok, body)
	if first.Status != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v %s", first.Status, first.Header, first.Body)
	}
	counts := edgetest.Counts(t, s.DB())
	// A sale in between: the replay still answers the first result.
	s.Clock.Advance(time.Minute)
	must(t, s, "POST", "/events/sales", s.Sale("tx-mid", "M1", "P2", 1, 100), http.StatusCreated)
	counts = edgetest.Counts(t, s.DB())
	again := s.Do("POST", "/machines/M1/restock", tok, body)
	if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", again.Status, again.Header, again.Body)
	}
	if string(again.Body) != string(first.Body) {
		t.Fatalf("replay answered %s, first answer was %s", again.Body, first.Body)
	}
	if got := s.Stock("M1", "P2"); got != 3 {
		t.Fatalf("stock after replay = %d, want 3", got)
	}
	after := edgetest.Counts(t, s.DB())
	for k, v := range counts {
		if after[k] != v {
			t.Fatalf("replay changed %s: %d → %d", k, v, after[k])
		}
	}
	other := map[string]any{"movementId": "visit-2", "items": []map[string]any{{"productId": "P2", "added": 5}}}
	r := s.Do("POST", "/machines/M1/restock", tok, other)
	if r.Status != http.StatusConflict || r.Error(t).Code != "IDEMPOTENCY_CONFLICT" || r.Error(t).Field != "movementId" {
		t.Fatalf("different body: %d %s", r.Status, r.Body)
	}
}

func TestRestock_ExpiryOnlyVisitIsIdempotent(t *testing.T) {
	s := restockSite(t)
	tok := s.Token(auth.RoleDriver, "")
	body := map[string]any{"movementId": "visit-exp", "items": []map[string]any{{"productId": "P2", "expiryDate": "2031-01-31"}}}
	if r := s.Do("POST", "/machines/M1/restock", tok, body); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s", r.Status, r.Body)
	}
	counts := edgetest.Counts(t, s.DB())
	if r := s.Do("POST", "/machines/M1/restock", tok, body); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", r.Status, r.Header, r.Body)
	}
	after := edgetest.Counts(t, s.DB())
	for k, v := range counts {
		if after[k] != v {
			t.Fatalf("replay changed %s: %d → %d", k, v, after[k])
		}
	}
	other := map[string]any{"movementId": "visit-exp", "items": []map[string]any{{"productId": "P2", "added": 5}}}
	if r := s.Do("POST", "/machines/M1/restock", tok, other); r.Status != http.StatusConflict {
		t.Fatalf("same id, different body: %d %s", r.Status, r.Body)
	}
}

func TestRestock_RejectsWholeVisit(t *testing.T) {
	s := restockSite(t)
	tok := s.Token(auth.RoleDriver, "")
	before := edgetest.Counts(t, s.DB())
	tests := []struct {
		name   string
		path   string
		items  []map[string]any
		status int
		code   string
		field  string
	}{
		{"negative added", "/machines/M1/restock", []map[string]any{{"productId": "P1", "added": -1}}, 400, "VALIDATION_FAILED", "items[0].added"},
		{"negative count", "/machines/M1/restock", []map[string]any{{"productId": "P1", "countedQuantity": -2}}, 400, "VALIDATION_FAILED", "items[0].countedQuantity"},
		{"bad expiry", "/machines/M1/restock", []map[string]any{{"productId": "P1", "added": 1, "expiryDate": "01/02/2025"}}, 400, "VALIDATION_FAILED", "items[0].expiryDate"},
		{"nothing to do", "/machines/M1/restock", []map[string]any{{"productId": "P1"}}, 400, "VALIDATION_FAILED", "items[0].productId"},
		{"duplicate product", "/machines/M1/restock", []map[string]any{{"productId": "P1", "added": 1}, {"productId": "P1", "added": 2}}, 400, "VALIDATION_FAILED", "items[1].productId"},
		{"no items", "/machines/M1/restock", []map[string]any{}, 400, "VALIDATION_FAILED", "items"},
		{"removal above stock, after a good line", "/machines/M1/restock", []map[string]any{{"productId": "P2", "added": 5}, {"productId": "P1", "removedDamaged": 4}}, 400, "VALIDATION_FAILED", "items[1].removedDamaged"},
		{"unknown product", "/machines/M1/restock", []map[string]any{{"productId": "P2", "added": 5}, {"productId": "NOPE", "added": 1}}, 422, "UNKNOWN_PRODUCT", "items[1].productId"},
		{"unknown machine", "/machines/M9/restock", []map[string]any{{"productId": "P1", "added": 1}}, 404, "NOT_FOUND", "machineId"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do("POST", tc.path, tok, map[string]any{"movementId": "bad-" + string(rune('a'+i)), "items": tc.items})
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			e := r.Error(t)
			if e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("error = %s/%s, want %s/%s (%s)", e.Code, e.Field, tc.code, tc.field, e.Message)
			}
		})
	}
	after := edgetest.Counts(t, s.DB())
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("a rejected restock changed %s: %d → %d", k, v, after[k])
		}
	}
}
