package central_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestFleet_LotsReachCentral: a driver restocks a machine with two costed
// lots, the machine sells across them first expiry first, and central
// keeps the machine's lots with their quantities and costs, and the cost
// of the goods sold.
func TestFleet_LotsReachCentral(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	spec := fleet.SiteSpec{ID: "lots1", City: "Lyon", Timezone: "Europe/Paris", Machines: 1, Products: 1, HubURL: c.Hub.LeafURL()}
	s := fleet.StartSite(t, spec, fleet.Register(t, c, spec.ID, spec.City, spec.Timezone))
	defer s.Close()
	ctx := context.Background()
	vm := s.Machines[0]
	edgeClient := func(role auth.Role, machine string) *client.Edge {
		cl, secret, err := s.Node.Store.AddClient(ctx, role, machine, "lots test")
		if err != nil {
			t.Fatal(err)
		}
		e, err := client.NewEdge(s.Node.URL(), client.Credentials{ClientID: cl.ClientID, ClientSecret: secret}, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	driver, machine := edgeClient(auth.RoleDriver, ""), edgeClient(auth.RoleMachine, vm)
	now := time.Now().UTC()
	soon, later := now.AddDate(0, 0, 5).Format(time.DateOnly), now.AddDate(0, 0, 20).Format(time.DateOnly)
	zero := int64(0)
	costA, costB := wire.Money(40), wire.Money(55)
	// The fleet's slot starts full (an unknown lot): count it empty, then
	// load the later lot first and the sooner one second.
	if _, err := driver.Restock(ctx, vm, edgeapi.Restock{MovementID: "v1", Items: []edgeapi.RestockItem{
		{ProductID: "P00", CountedQuantity: &zero}}}); err != nil {
		t.Fatal(err)
	}
	for i, l := range []struct {
		expiry string
		cost   *wire.Money
		n      int64
	}{{later, &costB, 6}, {soon, &costA, 4}} {
		if _, err := driver.Restock(ctx, vm, edgeapi.Restock{MovementID: "v2-" + string(rune('a'+i)), Items: []edgeapi.RestockItem{
			{ProductID: "P00", Added: l.n, ExpiryDate: l.expiry, UnitCost: l.cost, LotCode: "LOT-" + l.expiry}}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := machine.Sale(ctx, edgeapi.Sale{TransactionID: "lot-sale-1", MachineID: vm, ProductID: "P00", Quantity: 5,
		Amount: 500, PaymentMethod: "CARD", Timestamp: now.Add(-time.Second).Format(time.RFC3339Nano)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flags) != 0 {
		t.Fatalf("sale flags %v", res.Flags)
	}
	fleet.WaitSynced(t, c, s, syncTimeout)

	creds, err := client.ReadCredentials(filepath.Join(c.Dir(), central.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	hq, err := client.NewHQ(c.URL(), creds, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lots, err := hq.Lots(ctx, hqapi.LotQuery{SiteID: "lots1", MachineID: vm})
	if err != nil {
		t.Fatal(err)
	}
	// The sooner lot (4 units) sold out, the later one gave 1 of its 6.
	if len(lots) != 1 || lots[0].ExpiryDate != later || lots[0].Quantity != 5 || lots[0].UnitCost == nil || *lots[0].UnitCost != costB ||
		lots[0].Status != "SELLABLE" || lots[0].LotCode != "LOT-"+later {
		t.Fatalf("central lots = %+v", lots)
	}
	expiring, err := hq.Lots(ctx, hqapi.LotQuery{ExpiringBefore: now.AddDate(0, 0, 10).Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if len(expiring) != 0 {
		t.Fatalf("expiring lots = %+v", expiring)
	}
	// The route carries the slot's lots for the driver's pick list.
	cands, err := hq.RouteCandidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var slotLots []hqapi.SlotLot
	for _, cd := range cands {
		for _, m := range cd.Machines {
			for _, sl := range m.Slots {
				if cd.Site == "lots1" && m.MachineID == vm && sl.ProductID == "P00" {
					slotLots = sl.Lots
				}
			}
		}
	}
	if len(slotLots) != 1 || slotLots[0].Quantity != 5 || slotLots[0].ExpiryDate != later {
		t.Fatalf("route slot lots = %+v", slotLots)
	}
	costs, err := c.Store.SaleCosts(ctx, "lots1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) != 1 || costs[0].Units != 5 || costs[0].UnknownUnits != 0 || costs[0].CostCents != 4*40+55 {
		t.Fatalf("sale costs = %+v", costs)
	}
}
