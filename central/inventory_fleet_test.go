package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
)

// TestFleet_VanToMachineAtOfflineSite: a van is loaded at its depot; the
// driver restocks a machine at a site whose link is cut, naming the van;
// central deducts the van only when the site reconnects, exactly once, and
// a replayed restock changes nothing. Every depot and van balance is the
// sum of its movements throughout.
func TestFleet_VanToMachineAtOfflineSite(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	proxy := testkit.NewLink(t, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "vanx", City: "Porto", Timezone: "Europe/Lisbon", Machines: 1, Products: 2, HubURL: proxy.URL()}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	ctx := context.Background()
	fleet.WaitSynced(t, c, s, syncTimeout)

	creds, err := client.ReadCredentials(filepath.Join(c.Dir(), central.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	hq, err := client.NewHQ(c.URL(), creds, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hq.CreateDepot(ctx, hqapi.NewDepot{DepotID: "D1", Name: "Porto depot", City: "Porto"}); err != nil {
		t.Fatal(err)
	}
	if _, err := hq.CreateVan(ctx, hqapi.NewVan{VanID: "VAN1", Name: "Van 1", DepotID: "D1", Driver: "rui"}); err != nil {
		t.Fatal(err)
	}
	product := s.Products[0]
	if _, err := hq.BulkUpdate(ctx, hqapi.BulkUpdateIn{RequestKey: "receipt-1", Lines: []hqapi.BulkLine{
		{LocationKind: "depot", LocationID: "D1", ProductID: product, Type: "receipt", Quantity: 50},
	}}); err != nil {
		t.Fatal(err)
	}
	planned := int64(24)
	if _, err := hq.Transfer(ctx, hqapi.TransferIn{TransferID: "load-1", From: hqapi.StockLocation{Kind: "depot", ID: "D1"},
		To: hqapi.StockLocation{Kind: "van", ID: "VAN1"}, Lines: []hqapi.TransferLineIn{{ProductID: product, Planned: &planned, Picked: 20}}}); err != nil {
		t.Fatal(err)
	}
	vanStock := func() int64 {
		st, err := hq.Stock(ctx, "van", "VAN1")
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, l := range st {
			if l.ProductID == product {
				n += l.Quantity
			}
		}
		return n
	}
	if got := vanStock(); got != 20 {
		t.Fatalf("van holds %d after its load, want 20", got)
	}

	proxy.Cut()
	natstest.WaitConnected(t, s.Node.Leaf, false)
	cl, secret, err := s.Node.Store.AddClient(ctx, auth.RoleDriver, "", "van test")
	if err != nil {
		t.Fatal(err)
	}
	driver, err := client.NewEdge(s.Node.URL(), client.Credentials{ClientID: cl.ClientID, ClientSecret: secret}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	visit := edgeapi.Restock{MovementID: "visit-7", VanID: "VAN1", Items: []edgeapi.RestockItem{{ProductID: product, Added: 7, RemovedDamaged: 10}}}
	if _, err := driver.Restock(ctx, s.Machines[0], visit); err != nil {
		t.Fatal(err)
	}
	testkit.Consistently(t, 2*time.Second, func() error {
		if got := vanStock(); got != 20 {
			return fmt.Errorf("van holds %d while the site is offline, want 20", got)
		}
		return nil
	})

	proxy.Restore("")
	fleet.WaitSynced(t, c, s, syncTimeout)
	testkit.Eventually(t, syncTimeout, "the van to give up the restocked units", func() bool { return vanStock() == 13 })
	// The driver's app retries the visit: the edge answers the first
	// result and nothing more reaches central.
	res, err := driver.Restock(ctx, s.Machines[0], visit)
	if err != nil || !res.Replayed {
		t.Fatalf("replayed restock = %+v, %v", res, err)
	}
	fleet.WaitSynced(t, c, s, syncTimeout)
	if got := vanStock(); got != 13 {
		t.Fatalf("van holds %d after the replay, want 13", got)
	}
	page, err := hq.StockMovements(ctx, hqapi.MovementQuery{LocationKind: "van", LocationID: "VAN1"})
	if err != nil {
		t.Fatal(err)
	}
	var outs int
	for _, m := range page.Movements {
		if m.Type == "transfer_out" {
			outs++
			if m.Quantity != -7 || m.City != "Porto" {
				t.Fatalf("van deduction = %+v", m)
			}
		}
	}
	if outs != 1 {
		t.Fatalf("%d van deductions, want exactly 1: %+v", outs, page.Movements)
	}
	machine, err := hq.StockMovements(ctx, hqapi.MovementQuery{LocationKind: "machine", SiteID: "vanx", ProductID: product})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, m := range machine.Movements {
		types = append(types, fmt.Sprintf("%s %d", m.Type, m.Quantity))
	}
	if fmt.Sprint(types) != "[damaged -10 restock 7]" {
		t.Fatalf("machine movements = %v", types)
	}
	sums, err := c.Store.LedgerSums(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := hq.Stock(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range st {
		if got := sums[[3]string{l.LocationKind, l.LocationID, l.ProductID}]; got != l.Quantity || l.Quantity < 0 {
			t.Fatalf("%s %s %s: stock %d, movements %d", l.LocationKind, l.LocationID, l.ProductID, l.Quantity, got)
		}
	}
}
