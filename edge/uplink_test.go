package edge

import (
	"context"
	"errors"
	"testing"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestApplyDownlink_SkipsRejectedRetriesFailed: a change the rules reject
// (unknown machine, product or fault, a bad value) is skipped, so later
// changes are not held up behind it; a change that fails for another reason
// is returned for the watcher to retry.
func TestApplyDownlink_SkipsRejectedRetriesFailed(t *testing.T) {
	ctx := context.Background()
	cfg := initTestSite(t, "dl-site")
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
	price, qty := wire.Money(100), int64(10)
	if _, err := n.Stock.AddProduct(ctx, "M1", stock.ProductIn{ProductID: "P1", Name: "Water", Price: &price, Quantity: &qty}, "test"); err != nil {
		t.Fatal(err)
	}
	priceOf := func() wire.Money {
		t.Helper()
		items, err := n.Store.Inventory(ctx, "M1")
		if err != nil || len(items) != 1 {
			t.Fatalf("inventory: %v %v", items, err)
		}
		return items[0].Price
	}

	tests := []struct {
		name, key, value string
		wantPrice        wire.Money
	}{
		{"unknown machine is skipped", "product.NOPE.P1", `{"priceCents": 300}`, 100},
		{"unknown product is skipped", "product.M1.NOPE", `{"priceCents": 300}`, 100},
		{"a bad price is skipped", "product.M1.P1", `{"priceCents": -5}`, 100},
		{"a bad machine status is skipped", "machine.M1", `{"status": "BROKEN"}`, 100},
		{"an unknown fault is skipped", "fault.99", `{"status": "RESOLVED"}`, 100},
		{"a good change applies", "product.M1.P1", `{"priceCents": 250}`, 250},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := n.applyDownlink(ctx, tt.key, []byte(tt.value), uint64(i+1)); err != nil {
				t.Fatalf("applyDownlink: %v, want nil (applied or skipped)", err)
			}
			if got := priceOf(); got != tt.wantPrice {
				t.Fatalf("price = %s, want %s", got, tt.wantPrice)
			}
		})
	}
	var audited int
	if err := n.Store.DB.R.QueryRow(`SELECT COUNT(*) FROM audit_logs WHERE performed_by = 'central (downlink rev 6)'`).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("%d audit rows by central for the applied change (%v), want 1", audited, err)
	}

	// The writer is gone: the change failed, not rejected, and must be retried.
	if err := n.Writer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.applyDownlink(ctx, "product.M1.P1", []byte(`{"priceCents": 400}`), 7); !errors.Is(err, ingest.ErrClosed) {
		t.Fatalf("applyDownlink with the writer closed: %v, want ErrClosed returned for a retry", err)
	}
}

// initTestSite makes a site with id in a temporary directory and returns
// the default configuration for it, listening on a random port.
func initTestSite(t *testing.T, id string) Config {
	t.Helper()
	dir := t.TempDir()
	if _, err := Init(context.Background(), dir, store.SiteInit{ID: id, Name: "Test", City: "Testville", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dir, cfg.HTTPAddr = dir, "127.0.0.1:0"
	return cfg
}
