package readmodel

import (
	"context"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// TestApply_CapacityReachesRouteMachines: a slot's capacity carried in the
// inventory event is what the route reads; a newer event changes it, an
// older one does not.
func TestApply_CapacityReachesRouteMachines(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	capOf := func(t *testing.T, s *Store) *int64 {
		t.Helper()
		ms, err := s.RouteMachines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps := ms["s1"]["m1"].Products
		if len(ps) != 1 {
			t.Fatalf("products = %+v, want one", ps)
		}
		return ps[0].Capacity
	}
	c12, c20 := int64(12), int64(20)
	s := openStore(t)
	mustApply(t, s, 1, mkBatch(t, "s1", "UTC", 1,
		ev{envelope.KindMachine, t0, envelope.Machine{MachineID: "m1", City: "Paris", Status: "ACTIVE", Action: "REGISTERED"}},
		ev{envelope.KindInventory, t0, envelope.Inventory{MachineID: "m1", ProductID: "p1", Name: "Cola", PriceCents: 100, Quantity: 3, Action: "ADDED"}}))
	if got := capOf(t, s); got != nil {
		t.Fatalf("capacity of a slot without one = %d, want none", *got)
	}
	mustApply(t, s, 2, mkBatch(t, "s1", "UTC", 5,
		ev{envelope.KindInventory, t0, envelope.Inventory{MachineID: "m1", ProductID: "p1", Name: "Cola", PriceCents: 100, Quantity: 3, Capacity: &c20, Action: "UPDATED"}}))
	if got := capOf(t, s); got == nil || *got != 20 {
		t.Fatalf("capacity = %v, want 20", got)
	}
	mustApply(t, s, 3, mkBatch(t, "s1", "UTC", 3,
		ev{envelope.KindInventory, t0, envelope.Inventory{MachineID: "m1", ProductID: "p1", Name: "Cola", PriceCents: 100, Quantity: 3, Capacity: &c12, Action: "UPDATED"}}))
	if got := capOf(t, s); got == nil || *got != 20 {
		t.Fatalf("an older event changed the capacity to %v, want 20", got)
	}
}
