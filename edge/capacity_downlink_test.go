package edge

import (
	"context"
	"testing"

	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestApplyDownlink_Capacity: central's product config sets a slot's
// capacity; one below the slot's par level is skipped, not applied.
func TestApplyDownlink_Capacity(t *testing.T) {
	ctx := context.Background()
	cfg := initTestSite(t, "cap-site")
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Machines.Register(ctx, machine.In{MachineID: "M1", Location: &machine.LocationIn{City: "Testville"}}, "test"); err != nil {
		t.Fatal(err)
	}
	price, qty, par := wire.Money(100), int64(4), int64(10)
	if _, err := n.Stock.AddProduct(ctx, "M1", stock.ProductIn{ProductID: "P1", Name: "Water", Price: &price, Quantity: &qty, ParLevel: &par}, "test"); err != nil {
		t.Fatal(err)
	}
	capOf := func() int64 {
		t.Helper()
		items, err := n.Store.Inventory(ctx, "M1")
		if err != nil || len(items) != 1 {
			t.Fatalf("inventory: %v %v", items, err)
		}
		return items[0].Capacity
	}
	if err := n.applyDownlink(ctx, "product.M1.P1", []byte(`{"capacity": 16}`), 1); err != nil {
		t.Fatalf("applyDownlink: %v", err)
	}
	if got := capOf(); got != 16 {
		t.Fatalf("capacity = %d, want 16", got)
	}
	if err := n.applyDownlink(ctx, "product.M1.P1", []byte(`{"capacity": 6}`), 2); err != nil {
		t.Fatalf("applyDownlink: %v, want the bad change skipped", err)
	}
	if got := capOf(); got != 16 {
		t.Fatalf("capacity below par applied: %d, want 16", got)
	}
}
