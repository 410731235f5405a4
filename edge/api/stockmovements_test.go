package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

// ledger reads every movement of GET /stock-movements for query q, page by
// page.
func ledger(t *testing.T, s *edgetest.Site, tok, q string) []edgeapi.StockMovement {
	t.Helper()
	var all []edgeapi.StockMovement
	for off := 0; ; {
		r := s.Do("GET", fmt.Sprintf("/stock-movements?limit=5&offset=%d%s", off, q), tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /stock-movements: %d %s", r.Status, r.Body)
		}
		var p edgeapi.StockMovementList
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Movements...)
		if p.NextOffset == nil {
			return all
		}
		off = *p.NextOffset
	}
}

func TestStockMovements_SlotIsStartPlusLedger(t *testing.T) {
	s := newSite(t)
	drv := s.Token(auth.RoleDriver, "")
	mch := s.Token(auth.RoleMachine, "M1")
	ops := s.Token(auth.RoleOps, "")
	start := s.Stock("M1", "P1")
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 40 {
		switch rng.IntN(3) {
		case 0:
			if r := s.Do("POST", "/events/sales", mch, s.Sale(fmt.Sprintf("tx-%d", i), "M1", "P1", 1, 250)); r.Status != http.StatusCreated {
				t.Fatalf("sale: %d %s", r.Status, r.Body)
			}
		case 1:
			body := map[string]any{"movementId": fmt.Sprintf("mv-%d", i), "vanId": "VAN1",
				"items": []map[string]any{{"productId": "P1", "added": rng.IntN(5) + 1, "removedDamaged": rng.IntN(2)}}}
			if r := s.Do("POST", "/machines/M1/restock", drv, body); r.Status != http.StatusCreated {
				t.Fatalf("restock: %d %s", r.Status, r.Body)
			}
		case 2:
			body := map[string]any{"movementId": fmt.Sprintf("cnt-%d", i), "items": []map[string]any{{"productId": "P1", "countedQuantity": rng.IntN(120)}}}
			if r := s.Do("POST", "/machines/M1/restock", drv, body); r.Status != http.StatusCreated {
				t.Fatalf("count: %d %s", r.Status, r.Body)
			}
		}
		var sum int64
		for _, m := range ledger(t, s, ops, "&machineId=M1&productId=P1") {
			sum += m.Quantity
		}
		if got, want := s.Stock("M1", "P1"), start+sum; got != want {
			t.Fatalf("after op %d: slot holds %d, start %d + ledger %d = %d", i, got, start, sum, want)
		}
	}
	for _, m := range ledger(t, s, ops, "&type=restock") {
		if m.VanID != "VAN1" || m.Quantity <= 0 || m.After == nil {
			t.Fatalf("restock movement = %+v, want van VAN1, positive, with after", m)
		}
	}
	for _, m := range ledger(t, s, ops, "&type=damaged") {
		if m.VanID != "" {
			t.Fatalf("a removal carries no van: %+v", m)
		}
	}
}

func TestStockMovements_BadQueries(t *testing.T) {
	s := newSite(t)
	ops := s.Token(auth.RoleOps, "")
	for _, tc := range []struct{ name, q, field string }{
		{"type", "?type=gift", "type"},
		{"from", "?from=yesterday", "from"},
		{"range", "?from=2025-02-01&to=2025-01-01", "from"},
		{"limit", "?limit=0", "limit"},
		{"offset", "?offset=-1", "offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do("GET", "/stock-movements"+tc.q, ops, nil)
			var e struct {
				Error struct{ Field string } `json:"error"`
			}
			_ = json.Unmarshal([]byte(r.Body), &e)
			if r.Status != http.StatusBadRequest || e.Error.Field != tc.field {
				t.Fatalf("%d %s, want 400 on %s", r.Status, r.Body, tc.field)
			}
		})
	}
	if r := s.Do("GET", "/stock-movements", s.Token(auth.RoleMachine, "M1"), nil); r.Status != http.StatusForbidden {
		t.Fatalf("machine token: %d", r.Status)
	}
	if r := s.Do("POST", "/machines/M1/restock", s.Token(auth.RoleDriver, ""), map[string]any{"movementId": "x", "vanId": "bad van",
		"items": []map[string]any{{"productId": "P1", "added": 1}}}); r.Status != http.StatusBadRequest {
		t.Fatalf("bad van id: %d %s", r.Status, r.Body)
	}
}
