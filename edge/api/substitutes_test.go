package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// substituteSite is an order site whose M1 also holds P3 (2.00, 4 in
// stock), configured as P2's substitute.
func substituteSite(t *testing.T) orderSite {
	t.Helper()
	s := newOrderSite(t)
	s.Product("M1", "P3", 200, 4)
	if r := s.Do("PUT", "/products/P2/substitutes", s.Token(auth.RoleOps, ""), edgeapi.SubstitutesIn{Substitutes: []string{"P3"}}); r.Status != http.StatusOK {
		t.Fatalf("PUT substitutes: %d %s", r.Status, r.Body)
	}
	return s
}

// offer delivers an order for M1 that the site answers with a substitute
// offer.
func (s orderSite) offer(t *testing.T, id string, lines ...envelope.OrderLine) edgeapi.Order {
	t.Helper()
	o, err := s.Node.Orders.Apply(context.Background(), envelope.OrderDownlink{OrderID: id, MachineID: "M1", Customer: "cust1",
		Lines: lines, Code: "CODE" + id, PlacedAt: s.Now(), ExpiresAt: s.Now().Add(2 * time.Hour)}, "central")
	if err != nil || o.Status != envelope.OrderSubstitutionOffered {
		t.Fatalf("apply order %s: %+v %v, want SUBSTITUTION_OFFERED", id, o, err)
	}
	return s.status(t, id)
}

func (s orderSite) decide(t *testing.T, id string, accept bool) error {
	t.Helper()
	_, err := s.Node.Orders.Decide(context.Background(), id, envelope.SubstitutionDecision{Accept: accept, By: "cust1", DecidedAt: s.Now()}, "central")
	return err
}

func TestSubstitutes_Config(t *testing.T) {
	s := newOrderSite(t)
	s.Product("M1", "P3", 200, 4)
	ops := s.Token(auth.RoleOps, "")
	put := func(product string, body any) edgetest.Response {
		return s.Do("PUT", "/products/"+product+"/substitutes", ops, body)
	}
	if r := put("P1", edgeapi.SubstitutesIn{Substitutes: []string{"P3", "P2"}}); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	var got edgeapi.Substitutes
	s.Do("GET", "/products/P1/substitutes", s.Token(auth.RoleDriver, ""), nil).Decode(t, &got)
	if fmt.Sprint(got.Substitutes) != "[P3 P2]" {
		t.Fatalf("GET: %+v, want [P3 P2] in order", got)
	}
	tests := []struct {
		name, product string
		body          any
		status        int
		field         string
	}{
		{"self", "P1", edgeapi.SubstitutesIn{Substitutes: []string{"P2", "P1"}}, http.StatusBadRequest, "substitutes[1]"},
		{"duplicate", "P1", edgeapi.SubstitutesIn{Substitutes: []string{"P3", "P3"}}, http.StatusBadRequest, "substitutes[1]"},
		{"unknown substitute", "P1", edgeapi.SubstitutesIn{Substitutes: []string{"NOPE"}}, http.StatusBadRequest, "substitutes[0]"},
		{"empty id", "P1", edgeapi.SubstitutesIn{Substitutes: []string{""}}, http.StatusBadRequest, "substitutes[0]"},
		{"missing list", "P1", `{}`, http.StatusBadRequest, "substitutes"},
		{"too many", "P1", edgeapi.SubstitutesIn{Substitutes: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}}, http.StatusBadRequest, "substitutes"},
		{"unknown product", "NOPE", edgeapi.SubstitutesIn{Substitutes: []string{"P1"}}, http.StatusNotFound, "productId"},
		{"bad body", "P1", `{"substitutes": "P2"}`, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := put(tc.product, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d %s, want %d", r.Status, r.Body, tc.status)
			}
			if tc.field != "" && r.Error(t).Field != tc.field {
				t.Fatalf("field %q (%s), want %q", r.Error(t).Field, r.Body, tc.field)
			}
		})
	}
	for _, role := range []auth.Role{auth.RoleDriver, auth.RoleFinance, auth.RoleMachine} {
		m := ""
		if role == auth.RoleMachine {
			m = "M1"
		}
		if r := s.Do("PUT", "/products/P1/substitutes", s.Token(role, m), edgeapi.SubstitutesIn{Substitutes: []string{}}); r.Status != http.StatusForbidden {
			t.Fatalf("PUT as %s: %d, want 403", role, r.Status)
		}
	}
	// Nothing bad was stored; clearing works.
	if r := put("P1", edgeapi.SubstitutesIn{Substitutes: []string{}}); r.Status != http.StatusOK {
		t.Fatalf("clear: %d %s", r.Status, r.Body)
	}
	var list edgeapi.SubstitutesList
	s.Do("GET", "/substitutes", ops, nil).Decode(t, &list)
	if len(list.Products) != 0 {
		t.Fatalf("after clearing: %+v", list)
	}
}

// TestSubstitutes_OfferAcceptPickup: P2 is short (1 free, 3 ordered); P3
// is offered for the 2 missing units, held from walk-up buyers; a pickup
// waits for the answer; accepted, the pickup records a PREPAID sale of 1
// P2 and one of 2 P3 for the amounts paid, and each stock goes down once.
func TestSubstitutes_OfferAcceptPickup(t *testing.T) {
	s := substituteSite(t)
	o := s.offer(t, "o1", envelope.OrderLine{ProductID: "P2", Quantity: 3, AmountCents: 300})
	sub := o.Substitution
	if sub == nil || sub.State != envelope.SubstitutionOffered || len(sub.Lines) != 1 || sub.Then != envelope.OrderPending {
		t.Fatalf("offer: %+v", o)
	}
	if l := sub.Lines[0]; l.SubstituteID != "P3" || l.Quantity != 2 || l.KeptQuantity != 1 || l.Amount != 200 || l.ListPrice != 400 {
		t.Fatalf("offered line: %+v", l)
	}
	if !sub.ExpiresAt.Equal(s.Now().Add(15 * time.Minute)) {
		t.Fatalf("answer by %s, want 15 minutes from now", sub.ExpiresAt)
	}
	m1 := s.Token(auth.RoleMachine, "M1")
	if r := s.Do("POST", "/events/sales", m1, s.Sale("walk-1", "M1", "P3", 3, 600)); r.Status != http.StatusConflict || r.Error(t).Code != "STOCK_RESERVED" {
		t.Fatalf("walk-up sale of the held substitute: %d %s, want 409 STOCK_RESERVED", r.Status, r.Body)
	}
	if r := s.Do("POST", "/orders/o1/pickup", m1, edgeapi.Pickup{Code: "CODEo1"}); r.Status != http.StatusConflict || r.Error(t).Code != "ORDER_NOT_ACCEPTED" {
		t.Fatalf("pickup before the answer: %d %s, want 409 ORDER_NOT_ACCEPTED", r.Status, r.Body)
	}
	var list edgeapi.OrderList
	s.Do("GET", "/orders?status=SUBSTITUTION_OFFERED", s.Token(auth.RoleOps, ""), nil).Decode(t, &list)
	if len(list.Orders) != 1 {
		t.Fatalf("GET /orders?status=SUBSTITUTION_OFFERED: %+v", list)
	}

	if err := s.decide(t, "o1", true); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if err := s.decide(t, "o1", true); err != nil {
		t.Fatalf("the same answer again (a downlink replay): %v", err)
	}
	if err := s.decide(t, "o1", false); errs.CodeOf(err) != "SUBSTITUTION_ANSWERED" {
		t.Fatalf("the other answer after accepting: %v, want SUBSTITUTION_ANSWERED", err)
	}
	got := s.status(t, "o1")
	if got.Status != envelope.OrderPending || got.Substitution.State != envelope.SubstitutionAccepted || len(got.Lines) != 2 ||
		got.Lines[0] != (edgeapi.OrderLine{ProductID: "P2", Quantity: 1, Amount: 100}) || got.Lines[1] != (edgeapi.OrderLine{ProductID: "P3", Quantity: 2, Amount: 200}) {
		t.Fatalf("accepted: %+v", got)
	}
	if r := s.Do("POST", "/orders/o1/accept", s.Token(auth.RoleOps, ""), nil); r.Status != http.StatusOK {
		t.Fatalf("operator accept: %d %s", r.Status, r.Body)
	}
	r := s.Do("POST", "/orders/o1/pickup", m1, edgeapi.Pickup{Code: "CODEo1"})
	if r.Status != http.StatusOK {
		t.Fatalf("pickup: %d %s", r.Status, r.Body)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE payment_method = 'PREPAID' AND product_id = 'P3' AND quantity = 2 AND amount_cents = 200`), int64(1); got != want {
		t.Fatalf("prepaid sales of the substitute %d, want %d", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE payment_method = 'PREPAID' AND product_id = 'P2' AND quantity = 1 AND amount_cents = 100`), int64(1); got != want {
		t.Fatalf("prepaid sales of the kept units %d, want %d", got, want)
	}
	if p2, p3 := s.Stock("M1", "P2"), s.Stock("M1", "P3"); p2 != 0 || p3 != 2 {
		t.Fatalf("stock P2 %d P3 %d, want 0 and 2", p2, p3)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM reservations`), int64(0); got != want {
		t.Fatalf("reservations left %d", got)
	}
}

// TestSubstitutes_RefuseTimeoutAndErrors: a refusal drops the substituted
// units (refund of what they were paid) and keeps the rest; a refusal of
// the only line rejects the order; no answer in time is a refusal.
func TestSubstitutes_RefuseTimeoutAndErrors(t *testing.T) {
	s := substituteSite(t)
	m1 := s.Token(auth.RoleMachine, "M1")

	s.offer(t, "o1", envelope.OrderLine{ProductID: "P1", Quantity: 2, AmountCents: 500}, envelope.OrderLine{ProductID: "P2", Quantity: 2, AmountCents: 200})
	if err := s.decide(t, "o1", false); err != nil {
		t.Fatalf("refuse: %v", err)
	}
	got := s.status(t, "o1")
	if got.Status != envelope.OrderPending || got.Substitution.State != envelope.SubstitutionRefused || got.Substitution.Refund != 100 || len(got.Lines) != 2 ||
		got.Lines[1] != (edgeapi.OrderLine{ProductID: "P2", Quantity: 1, Amount: 100}) {
		t.Fatalf("refused: %+v %+v", got, got.Substitution)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM reservations WHERE product_id = 'P3'`); got != 0 {
		t.Fatalf("the refused substitute is still held (%d rows)", got)
	}

	// The last P2 is gone: a whole line substituted, refused: no line left.
	s.Do("POST", "/orders/o1/reject", s.Token(auth.RoleOps, ""), nil)
	if r := s.Do("POST", "/events/sales", m1, s.Sale("walk-2", "M1", "P2", 1, 100)); r.Status != http.StatusCreated {
		t.Fatalf("walk-up sale: %d %s", r.Status, r.Body)
	}
	s.offer(t, "o2", envelope.OrderLine{ProductID: "P2", Quantity: 1, AmountCents: 100})
	if err := s.decide(t, "o2", false); err != nil {
		t.Fatalf("refuse: %v", err)
	}
	if got := s.status(t, "o2"); got.Status != envelope.OrderRejected || got.Substitution.Refund != 100 {
		t.Fatalf("refused, no line left: %+v", got)
	}

	// No answer within the window: refused by the site.
	s.offer(t, "o3", envelope.OrderLine{ProductID: "P2", Quantity: 2, AmountCents: 200})
	s.Clock.Advance(15*time.Minute + time.Second)
	s.Sweep()
	got = s.status(t, "o3")
	if got.Status != envelope.OrderRejected || got.Substitution.State != envelope.SubstitutionRefused || got.Substitution.By != "system" {
		t.Fatalf("after the window: %+v %+v", got, got.Substitution)
	}
	if err := s.decide(t, "o3", true); errs.CodeOf(err) != "SUBSTITUTION_ANSWERED" {
		t.Fatalf("accept after the window: %v, want SUBSTITUTION_ANSWERED", err)
	}
	// An answer made after the offer expired, arriving before the sweep,
	// is a refusal too.
	s.offer(t, "o4", envelope.OrderLine{ProductID: "P2", Quantity: 1, AmountCents: 100})
	late := envelope.SubstitutionDecision{Accept: true, By: "cust1", DecidedAt: s.Now().Add(time.Hour)}
	if o, err := s.Node.Orders.Decide(context.Background(), "o4", late, "central"); err != nil || o.Status != envelope.OrderRejected {
		t.Fatalf("late accept: %+v %v, want REJECTED", o, err)
	}

	if err := s.decide(t, "nope", true); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("answer for an unknown order: %v", err)
	}
	s.place(t, "o5", envelope.OrderLine{ProductID: "P1", Quantity: 1, AmountCents: 250})
	if err := s.decide(t, "o5", true); errs.CodeOf(err) != "NO_SUBSTITUTION_OFFER" {
		t.Fatalf("answer for an order with no offer: %v, want NO_SUBSTITUTION_OFFER", err)
	}
	// A cancel while offered releases everything.
	s.offer(t, "o6", envelope.OrderLine{ProductID: "P2", Quantity: 1, AmountCents: 100})
	if _, err := s.Node.Orders.Apply(context.Background(), envelope.OrderDownlink{OrderID: "o6", MachineID: "M1", Customer: "cust1",
		Lines: []envelope.OrderLine{{ProductID: "P2", Quantity: 1, AmountCents: 100}}, Code: "CODEo6", PlacedAt: s.Now(), ExpiresAt: s.Now().Add(time.Hour), Cancel: true}, "central"); err != nil {
		t.Fatal(err)
	}
	if got := s.status(t, "o6"); got.Status != envelope.OrderCancelled {
		t.Fatalf("cancelled while offered: %+v", got)
	}
	if err := s.decide(t, "o6", true); errs.CodeOf(err) != "ORDER_CLOSED" {
		t.Fatalf("answer for a cancelled order: %v, want ORDER_CLOSED", err)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM reservations WHERE order_id <> 'o5'`), int64(0); got != want {
		t.Fatalf("reservations left %d, want %d", got, want)
	}
}

// TestSubstitutes_NoneShortRejects: a substitute with too few free units is
// not offered, and the order is rejected as without substitutes.
func TestSubstitutes_NoneShortRejects(t *testing.T) {
	s := substituteSite(t)
	o, err := s.Node.Orders.Apply(context.Background(), envelope.OrderDownlink{OrderID: "o1", MachineID: "M1", Customer: "c",
		Lines: []envelope.OrderLine{{ProductID: "P2", Quantity: 6, AmountCents: 600}}, Code: "X", PlacedAt: s.Now(), ExpiresAt: s.Now().Add(time.Hour)}, "central")
	if err != nil || o.Status != envelope.OrderRejected || o.Substitution != nil || o.Reason != "OUT_OF_STOCK: 1 of P2 free in machine M1, 6 ordered" {
		t.Fatalf("order beyond the substitute's stock: %+v %v, want REJECTED", o, err)
	}
}
