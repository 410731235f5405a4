package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/edge/dex/dextest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestFleet_DEXGapReachesCentral: a machine sells through its site, and
// some vends never reach the ledger; the driver uploads the machine's DEX
// reads (made by the generator from every vend), records a visit and a
// cash collection; central's reconciliation report shows the gap per
// machine and site, and the cash report the over/short per driver.
func TestFleet_DEXGapReachesCentral(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	spec := fleet.SiteSpec{ID: "dex1", City: "Lyon", Timezone: "Europe/Paris", Machines: 1, Products: 2, HubURL: c.Hub.LeafURL()}
	s := fleet.StartSite(t, spec, fleet.Register(t, c, spec.ID, spec.City, spec.Timezone))
	defer s.Close()
	ctx := context.Background()
	vm := s.Machines[0]
	edgeClient := func(role auth.Role, machine string) *client.Edge {
		cl, secret, err := s.Node.Store.AddClient(ctx, role, machine, "dex test")
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

	// Product P00 costs 1.00 and P01 2.00 (fleet.StartSite).
	meters := &dextest.Machine{Serial: "CTRL-" + vm, Model: "SIM"}
	meters.Add("P00", "", 100)
	meters.Add("P01", "", 200)
	meters.Vend("P00", 20, 2000, true) // before the first read
	now := time.Now().UTC()
	if _, err := driver.UploadDEXAt(ctx, vm, meters.Read(dextest.ReadOptions{}), now.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sold := 0
	sell := func(product string, amount int64, pay string) {
		sold++
		_, err := machine.Sale(ctx, edgeapi.Sale{TransactionID: fmt.Sprintf("dex-%d", sold), MachineID: vm, ProductID: product, Quantity: 1,
			Amount: wire.Money(amount), PaymentMethod: pay, Timestamp: now.Add(-time.Minute).Format(time.RFC3339Nano)})
		if err != nil {
			t.Fatal(err)
		}
		meters.Vend(product, 1, amount, pay == "CASH")
	}
	for range 3 {
		sell("P00", 100, "CASH")
	}
	sell("P01", 200, "CARD")
	sell("P01", 200, "CASH")
	meters.Vend("P01", 3, 600, true) // dropped: the ledger never hears of them
	meters.FreeVend(1, 100)
	read, err := driver.UploadDEXAt(ctx, vm, meters.Read(dextest.ReadOptions{}), now)
	if err != nil {
		t.Fatal(err)
	}
	if r := read.Reconciliation; r == nil || r.UnreportedValue != 600 || !r.Alerted {
		t.Fatalf("edge reconciliation = %+v", r)
	}
	if _, err := driver.PostVisit(ctx, vm, edgeapi.VisitIn{VisitID: "visit-1", ArrivedAt: now.Add(-5 * time.Minute).Format(time.RFC3339),
		LeftAt: now.Format(time.RFC3339), Driver: "Asha", Actions: []string{edgeapi.ActionDEXRead, edgeapi.ActionCashCollected}}); err != nil {
		t.Fatal(err)
	}
	// The ledger expects 5.00 in cash (three P00 and one P01); 11.00 were
	// in the box (the dropped vends were paid in cash too).
	cash, err := driver.PostCashCollection(ctx, vm, edgeapi.CashIn{CollectionID: "cash-1", CollectedAt: now.Format(time.RFC3339Nano), Amount: 1100, Driver: "Asha"})
	if err != nil {
		t.Fatal(err)
	}
	if cash.ExpectedLedger != 500 || cash.OverShortLedger != 600 {
		t.Fatalf("cash collection = %+v", cash)
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
	rep, err := hq.ReconciliationReport(ctx, hqapi.ReconciliationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 {
		t.Fatalf("reconciliation rows = %+v", rep.Rows)
	}
	row := rep.Rows[0]
	if row.SiteID != "dex1" || row.MachineID != vm || row.UnreportedCount != 3 || row.UnreportedValue != 600 ||
		row.LedgerValue != 700 || row.MachineValue != 1300 || row.FreeVends != 1 || row.Alerts != 1 {
		t.Fatalf("machine row = %+v", row)
	}
	bySite, err := hq.ReconciliationReport(ctx, hqapi.ReconciliationQuery{GroupBy: "site", SiteID: "dex1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(bySite.Rows) != 1 || bySite.Rows[0].Key != "dex1" || bySite.Totals.UnreportedValue != 600 || len(bySite.Sites) != 1 {
		t.Fatalf("site report = %+v", bySite)
	}
	cr, err := hq.CashReport(ctx, hqapi.CashQuery{GroupBy: "driver"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.Rows) != 1 || cr.Rows[0].Key != "Asha" || cr.Rows[0].Counted != 1100 || cr.Rows[0].OverShortLedger != 600 {
		t.Fatalf("cash report = %+v", cr)
	}
}
