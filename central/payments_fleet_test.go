package central_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestFleet_PaymentTotalsPerMethodPerDay: a site sells by every method
// (a GATEWAY sale through stripe-mock), refunds two payments, and central's
// GET /reports/payments shows per site-local day and method what was taken,
// refunded and the net, with counts, exactly as the site's own report does.
// Cut off from central, the site refuses GATEWAY sales and still takes
// cash; once back, central counts that sale too.
func TestFleet_PaymentTotalsPerMethodPerDay(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	link := testkit.NewLink(t, c.Hub.LeafURL())
	spec := fleet.SiteSpec{ID: "pay1", City: "Pune", Timezone: "Asia/Kolkata", Machines: 1, Products: 2, HubURL: link.URL(),
		HeartbeatEvery: 100 * time.Millisecond,
		Payments:       edge.PaymentsConfig{StripeKey: "sk_test_vendsync", StripeURL: testkit.StripeMock(t), Currency: "INR"}}
	s := fleet.StartSite(t, spec, fleet.Register(t, c, spec.ID, spec.City, spec.Timezone))
	defer s.Close()
	ctx := context.Background()
	vm := s.Machines[0]
	edgeClient := func(role auth.Role, machine string) *client.Edge {
		cl, secret, err := s.Node.Store.AddClient(ctx, role, machine, "payments test")
		if err != nil {
			t.Fatal(err)
		}
		e, err := client.NewEdge(s.Node.URL(), client.Credentials{ClientID: cl.ClientID, ClientSecret: secret}, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	machine, ops := edgeClient(auth.RoleMachine, vm), edgeClient(auth.RoleOps, "")

	// P00 costs 1.00, P01 2.00 (fleet.StartSite).
	now := time.Now().UTC()
	day := now.In(mustZone(t, spec.Timezone)).Format(time.DateOnly)
	n := 0
	sell := func(product string, amount int64, method, token string) error {
		n++
		_, err := machine.Sale(ctx, edgeapi.Sale{TransactionID: fmt.Sprintf("pay-%d", n), MachineID: vm, ProductID: product, Quantity: 1,
			Amount: wire.Money(amount), PaymentMethod: method, Timestamp: now.Format(time.RFC3339Nano), PaymentToken: token})
		return err
	}
	for _, x := range []struct {
		product       string
		amount        int64
		method, token string
	}{
		{"P00", 100, "CASH", ""}, {"P00", 100, "CASH", ""}, {"P01", 200, "CASH", ""},
		{"P01", 200, "CARD", ""}, {"P00", 100, "UPI", ""}, {"P01", 200, "MOBILE", ""},
		{"P01", 200, "GATEWAY", "pm_card_visa"},
	} {
		if err := sell(x.product, x.amount, x.method, x.token); err != nil {
			t.Fatalf("%s sale: %v", x.method, err)
		}
	}
	refund := func(method string, notDispensed bool) {
		ps, err := ops.Payments(ctx, client.PaymentQuery{Method: method})
		if err != nil || len(ps) == 0 {
			t.Fatalf("%s payments: %v %v", method, ps, err)
		}
		p, err := ops.Refund(ctx, ps[0].PaymentID, edgeapi.RefundIn{Reason: "test", NotDispensed: notDispensed})
		if err != nil || p.Status != "REFUNDED" {
			t.Fatalf("refund %s: %+v %v", method, p, err)
		}
	}
	refund("CASH", true)
	refund("GATEWAY", false)
	fleet.WaitSynced(t, c, s, syncTimeout)

	want := map[string]hqapi.PaymentTotal{
		"CASH":    {Day: day, Method: "CASH", Payments: 3, Gross: 400, Refunds: 1, Refunded: 200, Net: 200},
		"CARD":    {Day: day, Method: "CARD", Payments: 1, Gross: 200, Net: 200},
		"MOBILE":  {Day: day, Method: "MOBILE", Payments: 2, Gross: 300, Net: 300},
		"GATEWAY": {Day: day, Method: "GATEWAY", Payments: 1, Gross: 200, Refunds: 1, Refunded: 200, Net: 0},
	}
	hq := hqClient(t, c)
	check := func(want map[string]hqapi.PaymentTotal) {
		t.Helper()
		testkit.CheckFor(t, syncTimeout, func() error {
			rep, err := hq.PaymentReport(ctx, "", day, day)
			if err != nil {
				return err
			}
			got := map[string]hqapi.PaymentTotal{}
			for _, x := range rep.Totals {
				got[x.Method] = x
			}
			if len(got) != len(want) {
				return fmt.Errorf("central totals = %+v, want %+v", rep.Totals, want)
			}
			for m, w := range want {
				if got[m] != w {
					return fmt.Errorf("central %s = %+v, want %+v", m, got[m], w)
				}
			}
			if len(rep.Sites) != 1 || rep.Sites[0].SiteID != spec.ID {
				return fmt.Errorf("freshness = %+v", rep.Sites)
			}
			return nil
		})
	}
	check(want)
	// The site's own report says the same.
	er, err := ops.PaymentReport(ctx, day, day)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range er.Totals {
		w := want[x.Method]
		if x.Payments != w.Payments || x.Gross != w.Gross || x.Refunds != w.Refunds || x.Net != w.Net {
			t.Fatalf("edge %s = %+v, want %+v", x.Method, x, w)
		}
	}

	// Offline: no gateway payments, cash still sells.
	link.Cut()
	testkit.Eventually(t, 30*time.Second, "the site to see the link down", func() bool {
		st, err := ops.Sync(ctx)
		return err == nil && !st.Uplink.Connected
	})
	err = sell("P01", 200, "GATEWAY", "pm_card_visa")
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != "GATEWAY_OFFLINE" {
		t.Fatalf("offline gateway sale: %v", err)
	}
	if err := sell("P00", 100, "CASH", ""); err != nil {
		t.Fatalf("offline cash sale: %v", err)
	}
	link.Restore("")
	fleet.WaitSynced(t, c, s, syncTimeout)
	w := want["CASH"]
	w.Payments, w.Gross, w.Net = 4, 500, 300
	want["CASH"] = w
	// The refused gateway sale was refused before anything was written: it
	// is neither taken nor failed.
	check(want)

	// Finance and admins read it; ops may not; bad dates are named.
	for _, tc := range []struct {
		role   auth.Role
		query  string
		status int
	}{
		{auth.RoleFinance, "?from=" + day, 200},
		{auth.RoleOps, "", 403},
		{auth.RoleDriver, "", 403},
		{auth.RoleFinance, "?from=yesterday", 400},
		{auth.RoleFinance, "?from=2026-12-02&to=2026-12-01", 400},
	} {
		r := hqDo(t, c, tc.role, "GET", "/reports/payments"+tc.query)
		if r != tc.status {
			t.Fatalf("%s %s: %d, want %d", tc.role, tc.query, r, tc.status)
		}
	}
}

func mustZone(t *testing.T, tz string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// hqDo calls central's API as a new client of role and returns the status.
func hqDo(t *testing.T, c *central.Node, role auth.Role, method, path string) int {
	t.Helper()
	id, secret, err := c.Auth.AddClient(context.Background(), role, "payments test "+string(role))
	if err != nil {
		t.Fatal(err)
	}
	hq, err := client.NewHQ(c.URL(), client.Credentials{ClientID: id, ClientSecret: secret}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out any
	err = hq.Do(context.Background(), method, path, nil, &out)
	var ae *client.Error
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &ae):
		return ae.Status
	}
	t.Fatalf("%s %s: %v", method, path, err)
	return 0
}
