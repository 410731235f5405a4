package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit"
)

// TestCluster_InventoryAndPurchasingReplicate: central-owned writes go
// through the replicated HQ log, so a depot and a transfer made through
// node 1 are on nodes 2 and 3 with the same movements, a purchase order
// made at node 2 is received at node 3, and a retried transfer or receipt
// (same key, at any node) applies once.
func TestCluster_InventoryAndPurchasingReplicate(t *testing.T) {
	c := startCluster(t)
	defer c.Close()
	ctx := context.Background()
	hq := make([]*client.HQ, 3)
	for i, n := range c.nodes {
		creds, err := client.ReadCredentials(filepath.Join(n.Dir(), central.CredentialsFile))
		if err != nil {
			t.Fatal(err)
		}
		if hq[i], err = client.NewHQ(n.URL(), creds, client.Options{}); err != nil {
			t.Fatal(err)
		}
	}

	for _, d := range []string{"D1", "D2"} {
		if _, err := hq[0].CreateDepot(ctx, hqapi.NewDepot{DepotID: d, Name: "Depot " + d, City: "Lisbon"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := hq[1].CreateDepot(ctx, hqapi.NewDepot{DepotID: "D1", Name: "again", City: "Lisbon"}); err == nil {
		t.Fatal("a depot id taken at node 1 was accepted at node 2")
	}
	if _, err := hq[0].BulkUpdate(ctx, hqapi.BulkUpdateIn{RequestKey: "in-1", Lines: []hqapi.BulkLine{
		{LocationKind: "depot", LocationID: "D1", ProductID: "P1", Type: "receipt", Quantity: 50},
	}}); err != nil {
		t.Fatal(err)
	}
	tr := hqapi.TransferIn{TransferID: "t-1", From: hqapi.StockLocation{Kind: "depot", ID: "D1"},
		To: hqapi.StockLocation{Kind: "depot", ID: "D2"}, Lines: []hqapi.TransferLineIn{{ProductID: "P1", Picked: 20}}}
	if _, err := hq[0].Transfer(ctx, tr); err != nil {
		t.Fatal(err)
	}
	// A retry, at the same node and at another, moves nothing more.
	for _, i := range []int{0, 2} {
		if _, err := hq[i].Transfer(ctx, tr); err != nil {
			t.Fatalf("retried transfer at node %d: %v", i+1, err)
		}
	}

	stockOf := func(i int, depot string) (int64, error) {
		st, err := hq[i].Stock(ctx, "depot", depot)
		if err != nil {
			return 0, err
		}
		var n int64
		for _, l := range st {
			n += l.Quantity
		}
		return n, nil
	}
	ledger := func(i int) ([]hqapi.Movement, error) {
		l, err := hq[i].StockMovements(ctx, hqapi.MovementQuery{LocationKind: "depot"})
		return l.Movements, err
	}
	want, err := ledger(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 {
		t.Fatalf("node 1 has %d depot movements, want 3 (receipt, transfer out, transfer in): %+v", len(want), want)
	}
	for i := range 3 {
		testkit.CheckFor(t, 30*time.Second, func() error {
			got, err := ledger(i)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("node %d movements %+v, want %+v", i+1, got, want)
			}
			for d, q := range map[string]int64{"D1": 30, "D2": 20} {
				if n, err := stockOf(i, d); err != nil || n != q {
					return fmt.Errorf("node %d: %s holds %d (%v), want %d", i+1, d, n, err, q)
				}
			}
			return nil
		})
	}

	// Purchasing: a supplier at node 1, an order at node 2, received at node 3.
	if _, err := hq[0].CreateSupplier(ctx, hqapi.Supplier{ID: "S1", Name: "Supplier", LeadTimeDays: 2,
		Products: []hqapi.SupplierProduct{{ProductID: "P1", CasePack: 1, UnitCost: 100}}}); err != nil {
		t.Fatal(err)
	}
	po, err := hq[1].CreatePurchaseOrder(ctx, hqapi.PurchaseOrderIn{SupplierID: "S1", DepotID: "D1", Lines: []hqapi.POLineIn{{ProductID: "P1", Quantity: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hq[1].SendPurchaseOrder(ctx, po.ID); err != nil {
		t.Fatal(err)
	}
	rc := hqapi.ReceiptIn{ReceiptKey: "rc-1", Lines: []hqapi.ReceiptLineIn{{Line: 1, Quantity: 10}}}
	first, err := hq[2].ReceivePurchaseOrder(ctx, po.ID, rc)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed || first.PurchaseOrder.Status != "RECEIVED" || len(first.Lots) != 1 {
		t.Fatalf("receipt at node 3: %+v", first)
	}
	for _, i := range []int{2, 0} {
		again, err := hq[i].ReceivePurchaseOrder(ctx, po.ID, rc)
		if err != nil {
			t.Fatalf("retried receipt at node %d: %v", i+1, err)
		}
		if !again.Replayed || !reflect.DeepEqual(again.Lots, first.Lots) {
			t.Fatalf("retried receipt at node %d: %+v, want a replay of %+v", i+1, again, first)
		}
	}
	for i := range 3 {
		testkit.CheckFor(t, 30*time.Second, func() error {
			if n, err := stockOf(i, "D1"); err != nil || n != 40 {
				return fmt.Errorf("node %d: D1 holds %d (%v), want 40", i+1, n, err)
			}
			return nil
		})
	}
}
