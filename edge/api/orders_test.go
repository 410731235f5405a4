package api_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/pickup"
)

// orderSite is a site with M1 (P1 at 2.50, 5 in stock; P2 at 1.00, 1 in
// stock) and M2, holding central's order key.
type orderSite struct {
	*edgetest.Site
	key ed25519.PrivateKey
}

func newOrderSite(t *testing.T) orderSite {
	t.Helper()
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	s.Machine("M1")
	s.Product("M1", "P1", 250, 5)
	s.Product("M1", "P2", 100, 1)
	s.Machine("M2")
	s.Product("M2", "P1", 250, 5)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Node.Orders.SetKey(context.Background(), envelope.OrderKey{PublicKey: pub}, "test"); err != nil {
		t.Fatalf("set key: %v", err)
	}
	return orderSite{Site: s, key: priv}
}

// place delivers an order for M1 as the downlink would and returns its
// pickup token and short code.
func (s orderSite) place(t *testing.T, id string, lines ...envelope.OrderLine) (token, code string) {
	t.Helper()
	token, code = pickup.Sign(s.key, "test-site", id)
	o, err := s.Node.Orders.Apply(context.Background(), envelope.OrderDownlink{OrderID: id, MachineID: "M1", Customer: "cust1",
		Lines: lines, Code: code, PlacedAt: s.Now(), ExpiresAt: s.Now().Add(2 * time.Hour)}, "central")
	if err != nil {
		t.Fatalf("apply order %s: %v", id, err)
	}
	// A standalone site is offline: every order waits for the operator.
	if o.Status != envelope.OrderPending {
		t.Fatalf("order %s is %s (%s), want PENDING", id, o.Status, o.Reason)
	}
	return token, code
}

func (s orderSite) status(t *testing.T, id string) edgeapi.Order {
	t.Helper()
	r := s.Do("GET", "/orders/"+id, s.Token(auth.RoleOps, ""), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /orders/%s: %d %s", id, r.Status, r.Body)
	}
	var o edgeapi.Order
	r.Decode(t, &o)
	return o
}

func TestOrders_ReservationBlocksWalkUpSaleUntilPickup(t *testing.T) {
	s := newOrderSite(t)
	_, code := s.place(t, "o1", envelope.OrderLine{ProductID: "P1", Quantity: 3, AmountCents: 600})
	m1 := s.Token(auth.RoleMachine, "M1")

	r := s.Do("POST", "/events/sales", m1, s.Sale("walk-1", "M1", "P1", 3, 750))
	if r.Status != http.StatusConflict || r.Error(t).Code != "STOCK_RESERVED" {
		t.Fatalf("walk-up sale of reserved units: %d %s, want 409 STOCK_RESERVED", r.Status, r.Body)
	}
	if r := s.Do("POST", "/events/sales", m1, s.Sale("walk-2", "M1", "P1", 2, 500)); r.Status != http.StatusCreated {
		t.Fatalf("walk-up sale of free units: %d %s", r.Status, r.Body)
	}
	if r := s.Do("POST", "/orders/o1/pickup", m1, edgeapi.Pickup{Code: code}); r.Status != http.StatusConflict || r.Error(t).Code != "ORDER_NOT_ACCEPTED" {
		t.Fatalf("pickup before accept: %d %s, want 409 ORDER_NOT_ACCEPTED", r.Status, r.Body)
	}
	if r := s.Do("POST", "/orders/o1/accept", s.Token(auth.RoleOps, ""), nil); r.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	r = s.Do("POST", "/orders/o1/pickup", m1, edgeapi.Pickup{Code: code})
	if r.Status != http.StatusOK {
		t.Fatalf("pickup: %d %s", r.Status, r.Body)
	}
	var o edgeapi.Order
	r.Decode(t, &o)
	if got, want := o.Status, envelope.OrderPickedUp; got != want {
		t.Fatalf("status %s, want %s", got, want)
	}
	if got, want := s.Stock("M1", "P1"), int64(0); got != want {
		t.Fatalf("stock after pickup %d, want %d", got, want)
	}
	// One PREPAID sale for what the customer paid: the revenue, once.
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE payment_method = 'PREPAID' AND amount_cents = 600 AND quantity = 3`), int64(1); got != want {
		t.Fatalf("prepaid sales %d, want %d", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM reservations`), int64(0); got != want {
		t.Fatalf("reservations left %d, want %d", got, want)
	}
	r = s.Do("POST", "/orders/o1/pickup", m1, edgeapi.Pickup{Code: code})
	if r.Status != http.StatusConflict || r.Error(t).Code != "ALREADY_PICKED_UP" {
		t.Fatalf("second pickup: %d %s, want 409 ALREADY_PICKED_UP", r.Status, r.Body)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE payment_method = 'PREPAID'`), int64(1); got != want {
		t.Fatalf("prepaid sales after a second attempt %d, want %d", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'order'`), int64(3); got != want {
		t.Fatalf("order events %d, want 3 (PENDING, ACCEPTED, PICKED_UP)", got)
	}
}

func TestOrders_PickupCodes(t *testing.T) {
	s := newOrderSite(t)
	token, code := s.place(t, "o1", envelope.OrderLine{ProductID: "P1", Quantity: 1, AmountCents: 250})
	otherToken, _ := s.place(t, "o2", envelope.OrderLine{ProductID: "P1", Quantity: 1, AmountCents: 250})
	for _, id := range []string{"o1", "o2"} {
		if r := s.Do("POST", "/orders/"+id+"/accept", s.AdminToken(), nil); r.Status != http.StatusOK {
			t.Fatalf("accept %s: %d %s", id, r.Status, r.Body)
		}
	}
	_, forger, _ := ed25519.GenerateKey(nil)
	forged, _ := pickup.Sign(forger, "test-site", "o1")
	m1, m2 := s.Token(auth.RoleMachine, "M1"), s.Token(auth.RoleMachine, "M2")
	tests := []struct {
		name, id, tok, code string
		status              int
		errCode             string
	}{
		{"empty code", "o1", m1, "", http.StatusBadRequest, "VALIDATION_FAILED"},
		{"unknown order", "nope", m1, code, http.StatusNotFound, "NOT_FOUND"},
		{"wrong short code", "o1", m1, "ZZZZZZZZ", http.StatusUnprocessableEntity, "INVALID_PICKUP_CODE"},
		{"forged signature", "o1", m1, forged, http.StatusUnprocessableEntity, "INVALID_PICKUP_CODE"},
		{"another order's QR code", "o1", m1, otherToken, http.StatusUnprocessableEntity, "INVALID_PICKUP_CODE"},
		{"garbled QR code", "o1", m1, "VS1.test-site.o1.!!", http.StatusUnprocessableEntity, "INVALID_PICKUP_CODE"},
		{"another machine", "o1", m2, token, http.StatusForbidden, "FORBIDDEN"},
		{"driver may not hand over", "o1", s.Token(auth.RoleDriver, ""), token, http.StatusForbidden, "FORBIDDEN"},
		{"the QR code at its machine", "o1", m1, token, http.StatusOK, ""},
		{"the same QR code again", "o1", m1, token, http.StatusConflict, "ALREADY_PICKED_UP"},
		{"its short code after the QR code", "o1", s.Token(auth.RoleOps, ""), code, http.StatusConflict, "ALREADY_PICKED_UP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do("POST", "/orders/"+tc.id+"/pickup", tc.tok, edgeapi.Pickup{Code: tc.code})
			if r.Status != tc.status {
				t.Fatalf("status %d %s, want %d", r.Status, r.Body, tc.status)
			}
			if tc.errCode != "" {
				if got := r.Error(t).Code; got != tc.errCode {
					t.Fatalf("code %s, want %s", got, tc.errCode)
				}
			}
		})
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE payment_method = 'PREPAID'`), int64(1); got != want {
		t.Fatalf("prepaid sales %d, want %d", got, want)
	}
}

func TestOrders_RejectExpireAndShortStockRelease(t *testing.T) {
	s := newOrderSite(t)
	ops := s.Token(auth.RoleOps, "")
	s.place(t, "o1", envelope.OrderLine{ProductID: "P1", Quantity: 5, AmountCents: 1250})
	// Everything is held: an order for more is refused at once.
	o, err := s.Node.Orders.Apply(context.Background(), envelope.OrderDownlink{OrderID: "o2", MachineID: "M1", Customer: "c",
		Lines: []envelope.OrderLine{{ProductID: "P1", Quantity: 1, AmountCents: 250}}, Code: "X", PlacedAt: s.Now(), ExpiresAt: s.Now().Add(time.Hour)}, "central")
	if err != nil || o.Status != envelope.OrderRejected {
		t.Fatalf("order beyond free stock: %+v %v, want REJECTED", o, err)
	}
	if r := s.Do("POST", "/orders/o1/reject", ops, edgeapi.OrderReject{Reason: "machine jammed"}); r.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	if got := s.status(t, "o1"); got.Status != envelope.OrderRejected || got.Reason != "machine jammed" {
		t.Fatalf("after reject: %+v", got)
	}
	if r := s.Do("POST", "/events/sales", s.Token(auth.RoleMachine, "M1"), s.Sale("walk-1", "M1", "P1", 1, 250)); r.Status != http.StatusCreated {
		t.Fatalf("walk-up sale after reject: %d %s", r.Status, r.Body)
	}
	if r := s.Do("POST", "/orders/o1/accept", ops, nil); r.Status != http.StatusConflict {
		t.Fatalf("accept a rejected order: %d %s, want 409", r.Status, r.Body)
	}

	s.place(t, "o3", envelope.OrderLine{ProductID: "P1", Quantity: 4, AmountCents: 1000})
	s.Clock.Advance(3 * time.Hour)
	if err := s.Node.Orders.Expire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.status(t, "o3"); got.Status != envelope.OrderExpired {
		t.Fatalf("after its window: %s, want EXPIRED", got.Status)
	}
	if r := s.Do("POST", "/events/sales", s.Token(auth.RoleMachine, "M1"), s.Sale("walk-2", "M1", "P1", 4, 1000)); r.Status != http.StatusCreated {
		t.Fatalf("walk-up sale after expiry: %d %s", r.Status, r.Body)
	}
	r := s.Do("GET", "/orders?status=EXPIRED", s.Token(auth.RoleFinance, ""), nil)
	var list edgeapi.OrderList
	r.Decode(t, &list)
	if len(list.Orders) != 1 || list.Orders[0].OrderID != "o3" {
		t.Fatalf("GET /orders?status=EXPIRED: %s", r.Body)
	}
}

func TestOrders_RBACAndBadInput(t *testing.T) {
	s := newOrderSite(t)
	s.place(t, "o1", envelope.OrderLine{ProductID: "P2", Quantity: 1, AmountCents: 100})
	tests := []struct {
		name, method, path string
		role               auth.Role
		machine            string
		status             int
	}{
		{"driver cannot list", "GET", "/orders", auth.RoleDriver, "", http.StatusForbidden},
		{"machine cannot list", "GET", "/orders", auth.RoleMachine, "M1", http.StatusForbidden},
		{"finance lists", "GET", "/orders", auth.RoleFinance, "", http.StatusOK},
		{"finance cannot accept", "POST", "/orders/o1/accept", auth.RoleFinance, "", http.StatusForbidden},
		{"machine cannot accept", "POST", "/orders/o1/accept", auth.RoleMachine, "M1", http.StatusForbidden},
		{"machine cannot reject", "POST", "/orders/o1/reject", auth.RoleMachine, "M1", http.StatusForbidden},
		{"bad status filter", "GET", "/orders?status=LOST", auth.RoleOps, "", http.StatusBadRequest},
		{"bad limit", "GET", "/orders?limit=0", auth.RoleOps, "", http.StatusBadRequest},
		{"accept unknown", "POST", "/orders/nope/accept", auth.RoleOps, "", http.StatusNotFound},
		{"ops accepts", "POST", "/orders/o1/accept", auth.RoleOps, "", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := s.Do(tc.method, tc.path, s.Token(tc.role, tc.machine), nil); r.Status != tc.status {
				t.Fatalf("%s %s as %s: %d %s, want %d", tc.method, tc.path, tc.role, r.Status, r.Body, tc.status)
			}
		})
	}
	if r := s.Do("POST", "/orders/o1/pickup", "", edgeapi.Pickup{Code: "x"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("pickup without a token: %d, want 401", r.Status)
	}
	if r := s.Do("POST", "/orders/o1/pickup", s.AdminToken(), `{"code": 5}`); r.Status != http.StatusBadRequest {
		t.Fatalf("pickup with a bad body: %d, want 400", r.Status)
	}
}
