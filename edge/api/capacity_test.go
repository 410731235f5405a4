package api_test

import (
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

// slotOf is product's item in GET /machines/{machine}/inventory.
func slotOf(t *testing.T, s *edgetest.Site, machine, product string) edgeapi.InventoryItem {
	t.Helper()
	r := s.Do("GET", "/machines/"+machine+"/inventory", s.AdminToken(), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET inventory: %d %s", r.Status, r.Body)
	}
	var inv edgeapi.Inventory
	r.Decode(t, &inv)
	for _, it := range inv.Items {
		if it.ProductID == product {
			return it
		}
	}
	t.Fatalf("no %s in %s's inventory: %s", product, machine, r.Body)
	return edgeapi.InventoryItem{}
}

// TestProductCapacity_SetCheckedAndPatched: a slot's capacity is set when
// the product is added, shown in the inventory, changed by PATCH, and
// refused (400 naming the field) when not positive or below the par level.
func TestProductCapacity_SetCheckedAndPatched(t *testing.T) {
	s := newSite(t)
	adm := s.AdminToken()
	if got := slotOf(t, s, "M1", "P1").Capacity; got != 0 {
		t.Fatalf("capacity of a slot never given one = %d, want 0", got)
	}
	r := s.Do("POST", "/machines/M1/products", adm, map[string]any{"productId": "P2", "name": "Chips", "price": 1, "quantity": 3, "parLevel": 8, "capacity": 12})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST product with capacity: %d %s", r.Status, r.Body)
	}
	var it edgeapi.InventoryItem
	r.Decode(t, &it)
	if it.Capacity != 12 {
		t.Fatalf("answer capacity %d, want 12: %s", it.Capacity, r.Body)
	}
	if got := slotOf(t, s, "M1", "P2").Capacity; got != 12 {
		t.Fatalf("inventory capacity %d, want 12", got)
	}

	bad := []struct {
		name   string
		method string
		path   string
		body   map[string]any
		field  string
	}{
		{"zero capacity", "POST", "/machines/M1/products", map[string]any{"productId": "P3", "name": "Gum", "price": 1, "quantity": 1, "capacity": 0}, "capacity"},
		{"negative capacity", "PATCH", "/machines/M1/products/P2", map[string]any{"capacity": -1}, "capacity"},
		{"capacity below par on add", "POST", "/machines/M1/products", map[string]any{"productId": "P3", "name": "Gum", "price": 1, "quantity": 1, "parLevel": 10, "capacity": 6}, "capacity"},
		{"capacity below the slot's par", "PATCH", "/machines/M1/products/P2", map[string]any{"capacity": 7}, "capacity"},
		{"par above the slot's capacity", "PATCH", "/machines/M1/products/P2", map[string]any{"parLevel": 13}, "parLevel"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do(tt.method, tt.path, adm, tt.body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if got := r.Error(t).Field; got != tt.field {
				t.Fatalf("field %q, want %q: %s", got, tt.field, r.Body)
			}
		})
	}
	if got := slotOf(t, s, "M1", "P2"); got.Capacity != 12 || got.ParLevel != 8 {
		t.Fatalf("refused changes changed the slot: capacity %d par %d", got.Capacity, got.ParLevel)
	}

	r = s.Do("PATCH", "/machines/M1/products/P2", adm, map[string]any{"capacity": 20, "parLevel": 15})
	if r.Status != http.StatusOK {
		t.Fatalf("PATCH capacity: %d %s", r.Status, r.Body)
	}
	if got := slotOf(t, s, "M1", "P2"); got.Capacity != 20 || got.ParLevel != 15 {
		t.Fatalf("after PATCH capacity %d par %d, want 20 and 15", got.Capacity, got.ParLevel)
	}
	r = s.Do("PATCH", "/machines/M1/products/P1", adm, map[string]any{"capacity": 30})
	if r.Status != http.StatusOK || slotOf(t, s, "M1", "P1").Capacity != 30 {
		t.Fatalf("PATCH capacity of a slot without par: %d %s", r.Status, r.Body)
	}
}
