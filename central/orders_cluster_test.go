package central_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestOrders_ClusterReplicatesThroughHQLog: an order placed through node 1
// of a 3-node cluster while its site is cut off is readable through the
// other nodes at once, with the same pickup code, token and payment (the
// HQ log, not the site, brought it there); a cancel through node 2 is
// taken; once the site cancels it, it is refunded once and every node
// shows the refund with one REFUNDED event.
func TestOrders_ClusterReplicatesThroughHQLog(t *testing.T) {
	gw, err := payment.NewStripe(payment.StripeConfig{Key: "sk_test_123", URL: testkit.StripeMock(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, func(cfg *central.Config) { cfg.Payments, cfg.RefundEvery = gw, 100*time.Millisecond })
	defer c.Close()
	n0 := c.nodes[0]
	link := testkit.NewLink(t, n0.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "mall", City: "Pune", Timezone: "Asia/Kolkata", Machines: 1, Products: 2, HubURL: link.URL()}
	s := fleet.StartSite(t, sp, fleet.Register(t, n0, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	fleet.WaitSynced(t, n0, s, syncTimeout)

	ctx := context.Background()
	creds, err := client.SignUpCustomer(ctx, n0.URL(), client.Options{})
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	custs := make([]*client.HQ, 3)
	for i, n := range c.nodes {
		if custs[i], err = client.NewHQ(n.URL(), creds, client.Options{}); err != nil {
			t.Fatal(err)
		}
	}

	link.Cut()
	natstest.WaitConnected(t, s.Node.Leaf, false)
	o, err := custs[0].PlaceOrder(ctx, hqapi.NewOrder{SiteID: s.ID, MachineID: s.Machines[0],
		Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}})
	if err != nil {
		t.Fatalf("place order through node 1: %v", err)
	}
	if o.PickupCode == "" || o.PickupToken == "" || o.Payment.Status != string(payment.Captured) {
		t.Fatalf("placed order: %+v", o)
	}
	// The other nodes apply the entry within moments of node 1; the site,
	// cut off, has reported nothing.
	for i := 1; i < 3; i++ {
		testkit.CheckFor(t, 10*time.Second, func() error {
			got, err := custs[i].Order(ctx, o.OrderID)
			if err != nil {
				return fmt.Errorf("node %d: %w", i+1, err)
			}
			if got.Status != envelope.OrderPlaced || got.PickupCode != o.PickupCode || got.PickupToken != o.PickupToken ||
				got.Payment != o.Payment || got.Total != o.Total || !got.PlacedAt.Equal(o.PlacedAt.Truncate(time.Millisecond)) {
				return fmt.Errorf("node %d shows %+v, want %+v (times to the millisecond)", i+1, got, o)
			}
			return nil
		})
	}

	link.Restore("")
	testkit.CheckFor(t, syncTimeout, func() error {
		got, err := custs[1].Order(ctx, o.OrderID)
		if err != nil || got.Status != envelope.OrderAccepted {
			return fmt.Errorf("node 2 shows %s (%v), want ACCEPTED", got.Status, err)
		}
		return nil
	})
	var cancelled hqapi.Order
	if err := custs[1].Do(ctx, http.MethodPost, "/orders/"+o.OrderID+"/cancel", nil, &cancelled); err != nil {
		t.Fatalf("cancel through node 2: %v", err)
	}
	for i, n := range c.nodes {
		testkit.CheckFor(t, syncTimeout, func() error {
			got, err := custs[i].Order(ctx, o.OrderID)
			if err != nil {
				return err
			}
			if got.Status != envelope.OrderCancelled || got.Payment.Status != string(payment.Refunded) || got.Payment.RefundID == "" {
				return fmt.Errorf("node %d shows %s, payment %+v; want CANCELLED and REFUNDED", i+1, got.Status, got.Payment)
			}
			return nil
		})
		evs, err := n.Store.OrderEvents(ctx, o.OrderID, 0)
		if err != nil {
			t.Fatal(err)
		}
		refunds := 0
		for _, ev := range evs {
			if ev.Status == envelope.OrderRefunded {
				refunds++
			}
		}
		if refunds != 1 {
			t.Fatalf("node %d has %d REFUNDED events, want 1: %+v", i+1, refunds, evs)
		}
	}
}
