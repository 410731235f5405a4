package central_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// substituteWindow is the test site's time to answer an offer: long enough
// for central to see the offer and the customer to answer under load,
// short enough to watch an unanswered one time out.
const substituteWindow = 30 * time.Second

// startSubstituteFleet is startOrderFleet with a short substitute window
// at the site.
func startSubstituteFleet(t *testing.T) orderFleet {
	t.Helper()
	gw, err := payment.NewStripe(payment.StripeConfig{Key: "sk_test_123", URL: testkit.StripeMock(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.StartCentral(t, t.TempDir(), func(cfg *central.Config) {
		cfg.Payments, cfg.RefundEvery = gw, 100*time.Millisecond
	})
	t.Cleanup(func() { c.Close() })
	link := testkit.NewLink(t, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "kiosk", City: "Pune", Timezone: "Asia/Kolkata", Machines: 1, Products: 2, HubURL: link.URL(),
		OrderSubstituteWindow: substituteWindow}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	t.Cleanup(s.Close)
	creds, err := client.SignUpCustomer(context.Background(), c.URL(), client.Options{})
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	cust, err := client.NewHQ(c.URL(), creds, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return orderFleet{c: c, site: s, link: link, customer: cust, creds: creds, admin: hqClient(t, c)}
}

// TestSubstitution_EndToEnd: the machine holds P00 (1.00), P01 (2.00) and
// 3 of P02 (3.00), whose substitute is P01. While the link is cut the 3
// P02 are sold at the machine, and the customer (whose central still sees
// them) orders A: 2 P02, B: 1 P00 + 1 P02, C: 1 P02. When the link
// returns the site offers P01 for every P02 and central shows the offers.
// With the link cut again the customer accepts A and refuses B; the
// answers reach the site when it reconnects. A is picked up: the machine
// hands over 2 P01 for the 6.00 paid, P01's stock goes down by 2 once. B
// keeps P00 and central refunds the 3.00 of its P02 (payment still
// captured, the rest is the sale). C is not answered: the site refuses it
// after the window, no line is left, the order is REJECTED and refunded.
func TestSubstitution_EndToEnd(t *testing.T) {
	f := startSubstituteFleet(t)
	ctx := context.Background()
	m := f.site.Machines[0]
	price, three := wire.Money(300), int64(3)
	if _, err := f.site.Node.Stock.AddProduct(ctx, m, stockIn("P02", price, three), "test"); err != nil {
		t.Fatal(err)
	}
	ops := f.edgeAs(t, auth.RoleOps, "")
	if _, err := ops.SetSubstitutes(ctx, "P02", []string{"P01"}); err != nil {
		t.Fatalf("set substitutes: %v", err)
	}
	fleet.WaitSynced(t, f.c, f.site, syncTimeout)
	testkit.CheckFor(t, syncTimeout, func() error {
		items, err := f.c.Store.Menu(ctx, f.site.ID)
		for _, it := range items {
			if it.ProductID == "P02" && it.Units == 3 {
				return nil
			}
		}
		return fmt.Errorf("central's menu has no 3 P02 yet: %+v %v", items, err)
	})

	f.link.Cut()
	natstest.WaitConnected(t, f.site.Node.Leaf, false)
	if _, err := f.edgeAs(t, auth.RoleMachine, m).Sale(ctx, edgeapi.Sale{TransactionID: "walk-1", MachineID: m, ProductID: "P02", Quantity: 3,
		Amount: 900, PaymentMethod: "CASH", Timestamp: time.Now().UTC().Format(time.RFC3339)}); err != nil {
		t.Fatalf("walk-up sale: %v", err)
	}
	place := func(lines ...hqapi.OrderLineIn) hqapi.Order {
		t.Helper()
		o, err := f.customer.PlaceOrder(ctx, hqapi.NewOrder{SiteID: f.site.ID, MachineID: m, Lines: lines})
		if err != nil {
			t.Fatalf("place order: %v", err)
		}
		return o
	}
	a := place(hqapi.OrderLineIn{ProductID: "P02", Quantity: 2})
	b := place(hqapi.OrderLineIn{ProductID: "P00", Quantity: 1}, hqapi.OrderLineIn{ProductID: "P02", Quantity: 1})
	c := place(hqapi.OrderLineIn{ProductID: "P02", Quantity: 1})
	if a.Total != 600 || b.Total != 400 || c.Total != 300 {
		t.Fatalf("totals %s %s %s, want 6.00 4.00 3.00", a.Total, b.Total, c.Total)
	}

	f.link.Restore("")
	for _, o := range []hqapi.Order{a, b, c} {
		f.waitStatus(t, o.OrderID, envelope.OrderSubstitutionOffered)
	}
	got, err := f.customer.Order(ctx, a.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Substitution; s == nil || s.State != envelope.SubstitutionOffered || len(s.Lines) != 1 || s.Lines[0].SubstituteID != "P01" ||
		s.Lines[0].Quantity != 2 || s.Lines[0].Amount != 600 || s.Lines[0].ListPrice != 400 || s.AnswerBy.IsZero() {
		t.Fatalf("A's offer at central: %+v", got.Substitution)
	}
	offered, err := f.admin.OrdersAt(ctx, f.site.ID, envelope.OrderSubstitutionOffered)
	if err != nil || len(offered) != 3 {
		t.Fatalf("HQ's offered orders: %d %v, want 3", len(offered), err)
	}

	// Answers while the site is offline: recorded, sent when it returns.
	f.link.Cut()
	natstest.WaitConnected(t, f.site.Node.Leaf, false)
	if o, err := f.customer.AnswerSubstitution(ctx, a.OrderID, true); err != nil || o.Substitution.Answer != readmodel.SubstitutionAccept {
		t.Fatalf("accept A: %+v %v", o.Substitution, err)
	}
	if _, err := f.customer.AnswerSubstitution(ctx, a.OrderID, true); err != nil {
		t.Fatalf("the same answer again before the site applied it (a retry): %v", err)
	}
	if _, err := f.customer.AnswerSubstitution(ctx, a.OrderID, false); !client.HasCode(err, "SUBSTITUTION_ANSWERED") {
		t.Fatalf("refuse A after accepting it: %v, want SUBSTITUTION_ANSWERED", err)
	}
	if _, err := f.customer.AnswerSubstitution(ctx, b.OrderID, false); err != nil {
		t.Fatalf("refuse B: %v", err)
	}
	if at, _ := f.site.Node.Orders.Get(ctx, a.OrderID); at.Status != envelope.OrderSubstitutionOffered {
		t.Fatalf("the site applied an answer while cut off: %s", at.Status)
	}
	f.link.Restore("")

	// A: accepted; the site goes on (auto-accepted, or the operator).
	testkit.CheckFor(t, syncTimeout, func() error {
		o, err := f.site.Node.Orders.Get(ctx, a.OrderID)
		if err != nil || o.Substitution == nil || o.Substitution.State != envelope.SubstitutionAccepted {
			return fmt.Errorf("A at the site: %+v %v", o, err)
		}
		return nil
	})
	if o, _ := f.site.Node.Orders.Get(ctx, a.OrderID); o.Status == envelope.OrderPending {
		if _, err := ops.AcceptOrder(ctx, a.OrderID); err != nil {
			t.Fatalf("operator accept: %v", err)
		}
	}
	got = f.waitStatus(t, a.OrderID, envelope.OrderAccepted)
	if len(got.Lines) != 1 || got.Lines[0].ProductID != "P01" || got.Lines[0].Quantity != 2 || got.Lines[0].Amount != 600 {
		t.Fatalf("A's lines at central after accepting: %+v", got.Lines)
	}
	if _, err := f.customer.AnswerSubstitution(ctx, a.OrderID, true); !client.HasCode(err, "SUBSTITUTION_ANSWERED") {
		t.Fatalf("answer A once the site applied it: %v, want SUBSTITUTION_ANSWERED", err)
	}
	before := stockOf(t, f, m, "P01")
	mc := f.edgeAs(t, auth.RoleMachine, m)
	picked, err := mc.Pickup(ctx, a.OrderID, a.PickupToken)
	if err != nil || picked.Status != envelope.OrderPickedUp || len(picked.Sales) != 1 {
		t.Fatalf("pickup A: %+v %v", picked, err)
	}
	if after := stockOf(t, f, m, "P01"); after != before-2 {
		t.Fatalf("P01 stock %d after the pickup, want %d", after, before-2)
	}
	if _, err := mc.Pickup(ctx, a.OrderID, a.PickupToken); !client.HasCode(err, "ALREADY_PICKED_UP") {
		t.Fatalf("second pickup: %v", err)
	}
	if after := stockOf(t, f, m, "P01"); after != before-2 {
		t.Fatalf("P01 stock %d after a second attempt, want %d", after, before-2)
	}
	got = f.waitStatus(t, a.OrderID, envelope.OrderPickedUp)
	if got.Payment.Status != string(payment.Captured) || got.Substitution.RefundID != "" {
		t.Fatalf("A's payment after pickup: %+v %+v, want captured, nothing refunded", got.Payment, got.Substitution)
	}

	// B: refused; P00 kept, the P02's 3.00 refunded, the payment captured.
	testkit.CheckFor(t, syncTimeout, func() error {
		o, err := f.customer.Order(ctx, b.OrderID)
		if err != nil {
			return err
		}
		if s := o.Substitution; s == nil || s.State != envelope.SubstitutionRefused || s.Refund != 300 || s.RefundID == "" ||
			o.Payment.Status != string(payment.Captured) || len(o.Lines) != 1 || o.Lines[0].ProductID != "P00" {
			return fmt.Errorf("B at central: %s %+v %+v lines %+v", o.Status, o.Substitution, o.Payment, o.Lines)
		}
		return nil
	})
	if o, _ := f.site.Node.Orders.Get(ctx, b.OrderID); o.Status == envelope.OrderPending {
		if _, err := ops.AcceptOrder(ctx, b.OrderID); err != nil {
			t.Fatalf("operator accept B: %v", err)
		}
	}
	if picked, err := mc.Pickup(ctx, b.OrderID, b.PickupCode); err != nil || len(picked.Sales) != 1 {
		t.Fatalf("pickup B: %+v %v", picked, err)
	}
	f.waitStatus(t, b.OrderID, envelope.OrderPickedUp)
	_, statuses := sse(t, f, b.OrderID, "", 10)
	if got := strings.Join(statuses, ","); !strings.HasPrefix(got, "PLACED,SUBSTITUTION_OFFERED,") || !strings.Contains(got, "PARTLY_REFUNDED") ||
		!strings.HasSuffix(got, "PICKED_UP") {
		t.Fatalf("B's events %s, want PLACED, SUBSTITUTION_OFFERED, …, PARTLY_REFUNDED, …, PICKED_UP", got)
	}

	// C: no answer; the site refuses it after the window: REJECTED, refunded.
	testkit.CheckFor(t, syncTimeout, func() error {
		if err := f.site.Node.Orders.Expire(ctx); err != nil {
			return err
		}
		o, err := f.customer.Order(ctx, c.OrderID)
		if err != nil {
			return err
		}
		if o.Status != envelope.OrderRejected || o.Substitution == nil || o.Substitution.State != envelope.SubstitutionRefused ||
			o.Payment.Status != string(payment.Refunded) {
			return fmt.Errorf("C at central: %s (%s) %+v %+v", o.Status, o.Reason, o.Substitution, o.Payment)
		}
		return nil
	})
	if _, err := f.customer.AnswerSubstitution(ctx, c.OrderID, true); !client.HasCode(err, "SUBSTITUTION_ANSWERED") {
		t.Fatalf("answer C after it timed out: %v, want SUBSTITUTION_ANSWERED", err)
	}

	// The prepaid sales at central: A's 2 P01 for 6.00, B's P00 for 1.00.
	fleet.WaitSynced(t, f.c, f.site, syncTimeout)
	byProduct := fleet.Sum(fleet.CentralAgg(t, f.c, readmodel.ByProduct, bucket.Month, "", f.site.ID))
	if p := byProduct["P01"]; p.Qty != 2 || p.Rev != 600 {
		t.Fatalf("central's P01 sales %+v, want 2 units for 600", p)
	}
	if p := byProduct["P02"]; p.Qty != 3 || p.Rev != 900 {
		t.Fatalf("central's P02 sales %+v, want only the 3 walk-up units for 900", p)
	}
}

// TestSubstitution_BadAnswers: every bad answer is a clear error.
func TestSubstitution_BadAnswers(t *testing.T) {
	f := startSubstituteFleet(t)
	ctx := context.Background()
	fleet.WaitSynced(t, f.c, f.site, syncTimeout)
	o, err := f.customer.PlaceOrder(ctx, hqapi.NewOrder{SiteID: f.site.ID, MachineID: f.site.Machines[0],
		Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.customer.AnswerSubstitution(ctx, o.OrderID, true); !client.HasCode(err, "NO_SUBSTITUTION_OFFER") {
		t.Fatalf("answer an order with no offer: %v, want NO_SUBSTITUTION_OFFER", err)
	}
	if _, err := f.customer.AnswerSubstitution(ctx, "ord_nope", true); !client.HasCode(err, "NOT_FOUND") {
		t.Fatalf("answer an unknown order: %v, want NOT_FOUND", err)
	}
	creds, err := client.SignUpCustomer(ctx, f.c.URL(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.NewHQ(f.c.URL(), creds, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.AnswerSubstitution(ctx, o.OrderID, true); !client.HasCode(err, "NOT_FOUND") {
		t.Fatalf("answer another customer's order: %v, want NOT_FOUND", err)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"accept": "yes"}, map[string]any{"accept": true, "extra": 1}} {
		err := f.customer.Do(ctx, "POST", "/orders/"+o.OrderID+"/substitution", body, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || (e.Field != "accept" && e.Field != "extra") {
			t.Fatalf("answer %v: %v, want 400 naming the field", body, err)
		}
	}
}

func stockIn(product string, price wire.Money, qty int64) stock.ProductIn {
	return stock.ProductIn{ProductID: product, Name: "Product " + product, Price: &price, Quantity: &qty}
}

// stockOf is the site's count of product in machine.
func stockOf(t *testing.T, f orderFleet, machine, product string) int64 {
	t.Helper()
	var q int64
	if err := f.site.Node.Store.DB.R.QueryRow(`SELECT quantity FROM machine_inventory WHERE machine_id = ? AND product_id = ?`, machine, product).Scan(&q); err != nil {
		t.Fatalf("stock of %s/%s: %v", machine, product, err)
	}
	return q
}
