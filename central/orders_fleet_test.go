package central_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/edge/order"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

// orderFleet is a central node taking orders (paid through stripe-mock)
// and one site behind a cuttable link, with a customer signed up.
type orderFleet struct {
	c    *central.Node
	site *fleet.Site
	link interface {
		Cut()
		Restore(string)
	}
	customer *client.HQ
	creds    client.Credentials
	admin    *client.HQ
}

func startOrderFleet(t *testing.T, mod func(*central.Config)) orderFleet {
	t.Helper()
	gw, err := payment.NewStripe(payment.StripeConfig{Key: "sk_test_123", URL: testkit.StripeMock(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.StartCentral(t, t.TempDir(), func(cfg *central.Config) {
		cfg.Payments, cfg.RefundEvery = gw, 100*time.Millisecond
		if mod != nil {
			mod(cfg)
		}
	})
	t.Cleanup(func() { c.Close() })
	link := testkit.NewLink(t, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "kiosk", City: "Pune", Timezone: "Asia/Kolkata", Machines: 2, Products: 2, HubURL: link.URL()}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	t.Cleanup(s.Close)
	fleet.WaitSynced(t, c, s, syncTimeout)
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

// edgeAs is a client of the site's edge API with a new credential.
func (f orderFleet) edgeAs(t *testing.T, role auth.Role, machine string) *client.Edge {
	t.Helper()
	cl, secret, err := f.site.Node.Store.AddClient(context.Background(), role, machine, "test")
	if err != nil {
		t.Fatal(err)
	}
	e, err := client.NewEdge(f.site.Node.URL(), client.Credentials{ClientID: cl.ClientID, ClientSecret: secret}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitStatus waits until central shows order id in status.
func (f orderFleet) waitStatus(t *testing.T, id, status string) hqapi.Order {
	t.Helper()
	var o hqapi.Order
	testkit.CheckFor(t, syncTimeout, func() error {
		var err error
		if o, err = f.customer.Order(context.Background(), id); err != nil {
			return err
		}
		if o.Status != status {
			at, _ := f.site.Node.Orders.List(context.Background(), order.Filter{})
			st, _ := f.site.Node.Store.OutboxStats(context.Background(), time.Now())
			return fmt.Errorf("order %s is %s (%s), want %s; at the site: %+v; outbox %+v", id, o.Status, o.Reason, status, at, st)
		}
		return nil
	})
	return o
}

// sse reads an order's event stream after lastID until it ends or n
// events came; it returns the events' ids and statuses.
func sse(t *testing.T, f orderFleet, id string, lastID string, n int) (ids, statuses []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.c.URL()+"/orders/"+id+"/events", nil)
	tok := customerToken(t, f)
	req.Header.Set("Authorization", "Bearer "+tok)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(statuses) < n {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			ids = append(ids, strings.TrimPrefix(line, "id: "))
		case strings.HasPrefix(line, "data: "):
			d := strings.TrimPrefix(line, "data: ")
			i := strings.Index(d, `"status":"`)
			if i < 0 {
				t.Fatalf("event data %s", d)
			}
			rest := d[i+len(`"status":"`):]
			statuses = append(statuses, rest[:strings.IndexByte(rest, '"')])
		}
	}
	return ids, statuses
}

// TestOrders_PickupDuringLinkOutage: an order placed and paid at central
// reaches its site, which auto-accepts it (online, fresh counts); the link
// is cut; the customer picks it up with the QR code at the machine, which
// verifies it offline; a second attempt is refused; when the link heals
// central follows (PICKED_UP), the status stream resumes from
// Last-Event-ID, and the prepaid sale counts once.
func TestOrders_PickupDuringLinkOutage(t *testing.T) {
	f := startOrderFleet(t, func(cfg *central.Config) { cfg.OrderCurrency = "INR" })
	ctx := context.Background()
	machine := f.site.Machines[0]
	o, err := f.customer.PlaceOrder(ctx, hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine,
		Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 2}, {ProductID: "P01", Quantity: 1}}})
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	if o.Status != envelope.OrderPlaced || o.Total != 400 || o.Currency != "inr" || o.Payment.Status != string(payment.Captured) || o.PickupToken == "" || o.ReadyAt == nil {
		t.Fatalf("placed order: %+v", o)
	}
	f.waitStatus(t, o.OrderID, envelope.OrderAccepted)
	testkit.CheckFor(t, 10*time.Second, func() error {
		if n, err := f.c.Store.Reserved(ctx, f.site.ID, "P00"); err != nil || n != 2 {
			return fmt.Errorf("central's reserved P00 at the site: %d %v, want 2", n, err)
		}
		return nil
	})
	ids, statuses := sse(t, f, o.OrderID, "", 2)
	if got, want := strings.Join(statuses, ","), "PLACED,ACCEPTED"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}

	f.link.Cut()
	natstest.WaitConnected(t, f.site.Node.Leaf, false)
	m := f.edgeAs(t, auth.RoleMachine, machine)
	got, err := m.Pickup(ctx, o.OrderID, o.PickupToken)
	if err != nil {
		t.Fatalf("pickup offline: %v", err)
	}
	if got.Status != envelope.OrderPickedUp || len(got.Sales) != 2 {
		t.Fatalf("picked up: %+v", got)
	}
	if _, err := m.Pickup(ctx, o.OrderID, o.PickupToken); !client.HasCode(err, "ALREADY_PICKED_UP") {
		t.Fatalf("second pickup: %v, want ALREADY_PICKED_UP", err)
	}
	if _, err := f.edgeAs(t, auth.RoleOps, "").Pickup(ctx, o.OrderID, o.PickupCode); !client.HasCode(err, "ALREADY_PICKED_UP") {
		t.Fatalf("pickup by short code after the QR code: %v, want ALREADY_PICKED_UP", err)
	}
	if c, _ := f.customer.Order(ctx, o.OrderID); c.Status != envelope.OrderAccepted {
		t.Fatalf("central saw %s while the link was cut", c.Status)
	}

	f.link.Restore("")
	f.waitStatus(t, o.OrderID, envelope.OrderPickedUp)
	ids2, statuses2 := sse(t, f, o.OrderID, ids[len(ids)-1], 10)
	if got, want := strings.Join(statuses2, ","), "PICKED_UP"; got != want {
		t.Fatalf("events after Last-Event-ID %s: %s, want %s", ids[len(ids)-1], got, want)
	}
	if a, b := atoi(t, ids2[0]), atoi(t, ids[len(ids)-1]); a <= b {
		t.Fatalf("resumed stream repeats an id: %v after %v", ids2, ids)
	}
	fleet.WaitSynced(t, f.c, f.site, syncTimeout)
	// The prepaid payment is the revenue: two PREPAID sales, 4.00, once.
	tot := fleet.Sum(fleet.CentralAgg(t, f.c, readmodel.BySite, bucket.Month, "", ""))[f.site.ID]
	if tot.Tx != 2 || tot.Rev != 400 {
		t.Fatalf("central counts %d sales for %d cents at the site, want the 2 prepaid ones for 400", tot.Tx, tot.Rev)
	}
	if r, _ := f.c.Store.Reserved(ctx, f.site.ID, "P00"); r != 0 {
		t.Fatalf("central's reserved P00 after pickup: %d, want 0", r)
	}
	// HQ sees the order per site and state, without its pickup code.
	hq, err := f.admin.OrdersAt(ctx, f.site.ID, envelope.OrderPickedUp)
	if err != nil || len(hq) != 1 || hq[0].PickupToken != "" || hq[0].PickupCode != "" {
		t.Fatalf("HQ GET /orders?siteId&status: %+v %v", hq, err)
	}
}

// TestOrders_ExpiredOrderIsRefunded: an order never picked up expires at
// its site (releasing its units), and central refunds it through the
// gateway; the status stream ends with REFUNDED.
func TestOrders_ExpiredOrderIsRefunded(t *testing.T) {
	f := startOrderFleet(t, func(cfg *central.Config) {
		cfg.OrderReadyIn, cfg.OrderWindow = time.Millisecond, 2*time.Second
	})
	ctx := context.Background()
	o, err := f.customer.PlaceOrder(ctx, hqapi.NewOrder{SiteID: f.site.ID, MachineID: f.site.Machines[1],
		Lines: []hqapi.OrderLineIn{{ProductID: "P01", Quantity: 3}}})
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	// The window is shorter than the downlink may take under load: the site
	// expires the order on its sweep, or on arrival if it came too late.
	testkit.CheckFor(t, syncTimeout, func() error {
		if err := f.site.Node.Orders.Expire(ctx); err != nil {
			return err
		}
		c, err := f.customer.Order(ctx, o.OrderID)
		if err != nil {
			return err
		}
		if c.Status != envelope.OrderExpired || c.Payment.Status != string(payment.Refunded) || c.Payment.RefundID == "" {
			return fmt.Errorf("order %s, payment %+v; want EXPIRED and REFUNDED", c.Status, c.Payment)
		}
		return nil
	})
	_, statuses := sse(t, f, o.OrderID, "", 10)
	if got := strings.Join(statuses, ","); got != "PLACED,ACCEPTED,EXPIRED,REFUNDED" && got != "PLACED,EXPIRED,REFUNDED" {
		t.Fatalf("events %s, want PLACED,[ACCEPTED,]EXPIRED,REFUNDED", got)
	}
	// A late pickup attempt is refused: the site closed the order.
	_, err = f.edgeAs(t, auth.RoleMachine, f.site.Machines[1]).Pickup(ctx, o.OrderID, o.PickupToken)
	if !client.HasCode(err, "ORDER_CLOSED") {
		t.Fatalf("pickup after expiry: %v, want ORDER_CLOSED", err)
	}
}

// TestOrders_CentralRBACAndBadInput: a customer sees only its own orders;
// HQ roles read, only customers order; bad carts are refused naming the
// field.
func TestOrders_CentralRBACAndBadInput(t *testing.T) {
	f := startOrderFleet(t, nil)
	ctx := context.Background()
	machine := f.site.Machines[0]
	o, err := f.customer.PlaceOrder(ctx, hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}})
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	otherCreds, err := client.SignUpCustomer(ctx, f.c.URL(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := client.NewHQ(f.c.URL(), otherCreds, client.Options{})
	if _, err := other.Order(ctx, o.OrderID); !client.HasCode(err, "NOT_FOUND") {
		t.Fatalf("another customer's order: %v, want NOT_FOUND", err)
	}
	if list, err := other.OrdersAt(ctx, "", ""); err != nil || len(list) != 0 {
		t.Fatalf("another customer's list: %v %v, want empty", list, err)
	}
	if err := other.Do(ctx, "GET", "/orders?customer="+o.Customer, nil, nil); !client.HasCode(err, "FORBIDDEN") {
		t.Fatalf("listing another customer's orders: %v, want FORBIDDEN", err)
	}
	if _, err := f.admin.PlaceOrder(ctx, hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}}); !client.HasCode(err, "FORBIDDEN") {
		t.Fatalf("admin placing an order: %v, want FORBIDDEN", err)
	}
	if got, err := f.admin.Order(ctx, o.OrderID); err != nil || got.PickupToken != "" {
		t.Fatalf("admin reading an order: %+v %v (no pickup token for HQ)", got, err)
	}
	id, secret, err := f.c.Auth.AddClient(ctx, auth.RoleDriver, "driver")
	if err != nil {
		t.Fatal(err)
	}
	driver, _ := client.NewHQ(f.c.URL(), client.Credentials{ClientID: id, ClientSecret: secret}, client.Options{})
	if _, err := driver.OrdersAt(ctx, "", ""); !client.HasCode(err, "FORBIDDEN") {
		t.Fatalf("driver listing orders: %v, want FORBIDDEN", err)
	}
	resp, err := http.Get(f.c.URL() + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /orders without a token: %d, want 401", resp.StatusCode)
	}

	bad := []struct {
		name string
		in   hqapi.NewOrder
		code string
	}{
		{"no site", hqapi.NewOrder{MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}}, "VALIDATION_FAILED"},
		{"unknown site", hqapi.NewOrder{SiteID: "nowhere", MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}}, "NOT_FOUND"},
		{"no lines", hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine}, "VALIDATION_FAILED"},
		{"zero quantity", hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 0}}}, "VALIDATION_FAILED"},
		{"product twice", hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}, {ProductID: "P00", Quantity: 1}}}, "VALIDATION_FAILED"},
		{"unknown product", hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "NOPE", Quantity: 1}}}, "UNKNOWN_PRODUCT"},
		{"unknown machine", hqapi.NewOrder{SiteID: f.site.ID, MachineID: "NOPE", Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}}, "UNKNOWN_PRODUCT"},
		{"unknown promotion code", hqapi.NewOrder{SiteID: f.site.ID, MachineID: machine, Lines: []hqapi.OrderLineIn{{ProductID: "P00", Quantity: 1}}, PromotionCode: "NOSUCH"}, "INVALID_PROMOTION_CODE"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.customer.PlaceOrder(ctx, tc.in)
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want an API error", err)
			}
			if ce.Code != tc.code {
				t.Fatalf("code %s (%v), want %s", ce.Code, err, tc.code)
			}
		})
	}
}

// customerToken signs the customer in at POST /auth/token.
func customerToken(t *testing.T, f orderFleet) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": f.creds.ClientID, "client_secret": f.creds.ClientSecret})
	resp, err := http.Post(f.c.URL()+"/auth/token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("event id %q: %v", s, err)
	}
	return n
}
