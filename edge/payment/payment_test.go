package payment_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/testkit"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const whsec = "whsec_vendsync_test"

// must sends a request with the admin token and fails the test unless it
// answers status.
func must(t *testing.T, s *edgetest.Site, method, path string, body any, status int) edgetest.Response {
	t.Helper()
	r := s.Do(method, path, s.AdminToken(), body)
	if r.Status != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}

// site starts a site whose gateway is the stripe-mock at stripeURL ("" for
// none), with machine M1 taking methods and product P1 at 2.50 (10 units).
func site(t *testing.T, stripeURL string, methods ...string) *edgetest.Site {
	t.Helper()
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0), Configure: func(c *edge.Config) {
		if stripeURL != "" {
			c.Payments = edge.PaymentsConfig{StripeKey: "sk_test_vendsync", StripeURL: stripeURL, WebhookSecret: whsec}
		}
	}})
	s.Machine("M1", map[string]any{"paymentMethods": methods})
	s.Product("M1", "P1", 250, 10)
	return s
}

func sale(s *edgetest.Site, tx, method string, extra map[string]any) map[string]any {
	b := s.Sale(tx, "M1", "P1", 1, 250)
	b["paymentMethod"] = method
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func payments(t *testing.T, s *edgetest.Site, query string) []edgeapi.Payment {
	t.Helper()
	var out edgeapi.PaymentList
	must(t, s, "GET", "/payments"+query, nil, http.StatusOK).Decode(t, &out)
	return out.Payments
}

func payment(t *testing.T, s *edgetest.Site, id int64) edgeapi.Payment {
	t.Helper()
	var p edgeapi.Payment
	must(t, s, "GET", fmt.Sprintf("/payments/%d", id), nil, http.StatusOK).Decode(t, &p)
	return p
}

func history(p edgeapi.Payment) string {
	var out []string
	for _, c := range p.History {
		out = append(out, c.To)
	}
	return strings.Join(out, ">")
}

func TestSale_PaymentMethods(t *testing.T) {
	s := site(t, "", "CASH", "UPI")
	tests := []struct {
		name   string
		method string
		status int
		code   string
		says   []string
	}{
		{name: "accepted", method: "CASH", status: 201},
		{name: "alias of an accepted method", method: "WALLET", status: 201},
		{name: "accepted by its alias", method: "MOBILE", status: 201},
		{name: "unknown method", method: "BITCOIN", status: 400, code: "VALIDATION_FAILED", says: []string{"BITCOIN", "CASH, CARD, MOBILE"}},
		{name: "not accepted", method: "CARD", status: 422, code: "PAYMENT_METHOD_NOT_ACCEPTED", says: []string{"CARD", "CASH, UPI"}},
		{name: "gateway not accepted", method: "GATEWAY", status: 400, code: "VALIDATION_FAILED", says: []string{"paymentToken"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do("POST", "/events/sales", s.Token(auth.RoleMachine, "M1"), sale(s, fmt.Sprintf("tx-%d", i), tc.method, nil))
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.code == "" {
				return
			}
			e := r.Error(t)
			if e.Code != tc.code || e.Field != "paymentMethod" && e.Field != "paymentToken" {
				t.Fatalf("error = %+v, want code %s", e, tc.code)
			}
			for _, w := range tc.says {
				if !strings.Contains(e.Message, w) {
					t.Fatalf("message %q does not say %q", e.Message, w)
				}
			}
		})
	}
	// The refused sales left nothing behind; the accepted ones each have
	// a payment, counted under MOBILE for WALLET.
	if got, want := edgetest.Count(t, s.DB(), `SELECT count(*) FROM sales_events`), int64(3); got != want {
		t.Fatalf("sales = %d, want %d", got, want)
	}
	ps := payments(t, s, "?method=UPI")
	if len(ps) != 2 || ps[0].Method != "MOBILE" || ps[0].Status != "CAPTURED" {
		t.Fatalf("mobile payments = %+v", ps)
	}
	if ps[1].MethodName != "WALLET" && ps[0].MethodName != "WALLET" {
		t.Fatalf("method names = %q, %q; want WALLET kept", ps[0].MethodName, ps[1].MethodName)
	}

	// Machines take only the closed set.
	r := s.Do("POST", "/machines", s.AdminToken(), map[string]any{"machineId": "M2", "location": map[string]any{"city": "X", "building": "B"},
		"paymentMethods": []string{"CASH", "BITCOIN"}})
	if r.Status != 400 || r.Error(t).Field != "paymentMethods" {
		t.Fatalf("machine with BITCOIN: %d %s", r.Status, r.Body)
	}
}

func TestSale_CardNumberRefused(t *testing.T) {
	s := site(t, "", "CARD")
	m := s.Token(auth.RoleMachine, "M1")
	for i, card := range []map[string]any{
		{"reference": "4242 4242 4242 4242"},
		{"reference": "T1-4000056655665556-X"},
		{"reference": "ok", "last4": "4242424242424242"},
		{"reference": "ok", "last4": "4000-0566-5566-5556"},
	} {
		r := s.Do("POST", "/events/sales", m, sale(s, fmt.Sprintf("pan-%d", i), "CARD", map[string]any{"card": card}))
		if r.Status != 400 {
			t.Fatalf("card %d: status %d, want 400: %s", i, r.Status, r.Body)
		}
		e := r.Error(t)
		if e.Code != "CARD_NUMBER_REFUSED" || !strings.HasPrefix(e.Field, "card.") {
			t.Fatalf("card %d: error %+v", i, e)
		}
		if strings.Contains(string(r.Body), "4242") || strings.Contains(string(r.Body), "5556") {
			t.Fatalf("card %d: the answer repeats the number: %s", i, r.Body)
		}
	}
	r := s.Do("POST", "/events/sales", m, sale(s, "last5", "CARD", map[string]any{"card": map[string]any{"last4": "12345"}}))
	if r.Status != 400 || r.Error(t).Field != "card.last4" {
		t.Fatalf("5 digits: %d %s", r.Status, r.Body)
	}
	r = s.Do("POST", "/events/sales", m, sale(s, "token", "CARD", map[string]any{"paymentToken": "4242424242424242"}))
	if r.Status != 400 || r.Error(t).Code != "CARD_NUMBER_REFUSED" {
		t.Fatalf("number as token: %d %s", r.Status, r.Body)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT count(*) FROM sales_events`); got != 0 {
		t.Fatalf("%d sales recorded, want none", got)
	}

	must(t, s, "POST", "/events/sales", sale(s, "ok", "CARD", map[string]any{"card": map[string]any{"reference": "TERM-7/000123", "last4": "4242"}}), 201)
	ps := payments(t, s, "")
	if len(ps) != 1 || ps[0].Card == nil || ps[0].Card.Last4 != "4242" || ps[0].Card.Reference != "TERM-7/000123" {
		t.Fatalf("payments = %+v", ps)
	}
	// Nothing shaped like a card number anywhere in the store.
	if n := edgetest.Count(t, s.DB(), `SELECT count(*) FROM payment_ledger WHERE card_reference GLOB '*[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*'`); n != 0 {
		t.Fatalf("%d payments hold 13 digits in a row", n)
	}
}

func TestGateway_LifecycleWithRefund(t *testing.T) {
	s := site(t, testkit.StripeMock(t), "CASH", "GATEWAY")
	m := s.Token(auth.RoleMachine, "M1")
	body := sale(s, "gw-1", "GATEWAY", map[string]any{"paymentToken": "pm_card_visa"})
	if r := s.Do("POST", "/events/sales", m, body); r.Status != 201 {
		t.Fatalf("gateway sale: %d %s", r.Status, r.Body)
	}
	// The same sale again is a replay: no second payment, no second charge.
	if r := s.Do("POST", "/events/sales", m, body); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", r.Status, r.Header, r.Body)
	}
	ps := payments(t, s, "?method=GATEWAY")
	if len(ps) != 1 {
		t.Fatalf("gateway payments = %+v", ps)
	}
	p := payment(t, s, ps[0].PaymentID)
	if p.Status != "CAPTURED" || !strings.HasPrefix(p.GatewayID, "pi_") {
		t.Fatalf("payment = %+v", p)
	}
	if got, want := history(p), "PENDING>AUTHORIZED>CAPTURED"; got != want {
		t.Fatalf("history = %s, want %s", got, want)
	}
	if got, want := s.Stock("M1", "P1"), int64(9); got != want {
		t.Fatalf("stock = %d, want %d", got, want)
	}

	// Refund: the goods never came out, so the unit goes back.
	var out edgeapi.Payment
	r := s.Do("POST", fmt.Sprintf("/payments/%d/refund", p.PaymentID), s.Token(auth.RoleOps, ""),
		map[string]any{"reason": "stuck in the spiral", "notDispensed": true})
	if r.Status != 200 {
		t.Fatalf("refund: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &out)
	if out.Status != "REFUNDED" || out.Refunded != out.Amount {
		t.Fatalf("refunded payment = %+v", out)
	}
	if got, want := s.Stock("M1", "P1"), int64(10); got != want {
		t.Fatalf("stock after the refund = %d, want %d", got, want)
	}
	p = payment(t, s, p.PaymentID)
	if got, want := history(p), "PENDING>AUTHORIZED>CAPTURED>REFUNDED"; got != want {
		t.Fatalf("history = %s, want %s", got, want)
	}
	if last := p.History[len(p.History)-1]; !strings.HasPrefix(last.Reference, "re_") || last.Reason != "stuck in the spiral" {
		t.Fatalf("refund change = %+v", last)
	}
	// Refunding again changes nothing (no second refund, no second unit).
	r = s.Do("POST", fmt.Sprintf("/payments/%d/refund", p.PaymentID), s.Token(auth.RoleAdmin, ""), map[string]any{"notDispensed": true})
	if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("second refund: %d %v %s", r.Status, r.Header, r.Body)
	}
	if got, want := s.Stock("M1", "P1"), int64(10); got != want {
		t.Fatalf("stock after the second refund = %d, want %d", got, want)
	}
	// Every change is audited and went up as an event (the capture rode on
	// the sale's event).
	if got, want := edgetest.Count(t, s.DB(), `SELECT count(*) FROM audit_logs WHERE entity_type = 'payment'`), int64(3); got != want {
		t.Fatalf("payment audit entries = %d, want %d (AUTHORIZED, CAPTURED, REFUNDED)", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT count(*) FROM outbox WHERE kind = 'payment'`), int64(3); got != want {
		t.Fatalf("payment events = %d, want %d (PENDING, AUTHORIZED, REFUNDED)", got, want)
	}
}

func TestGateway_UnreachableThenResumed(t *testing.T) {
	mock := testkit.StripeMock(t)
	link := testkit.NewLink(t, strings.TrimPrefix(mock, "http://"))
	s := site(t, "http://"+link.Addr(), "GATEWAY", "CASH")
	m := s.Token(auth.RoleMachine, "M1")
	body := sale(s, "gw-cut", "GATEWAY", map[string]any{"paymentToken": "pm_card_visa"})

	link.Cut()
	r := s.Do("POST", "/events/sales", m, body)
	if r.Status != 503 || r.Error(t).Code != "GATEWAY_UNAVAILABLE" {
		t.Fatalf("gateway cut: %d %s", r.Status, r.Body)
	}
	ps := payments(t, s, "")
	if len(ps) != 1 || ps[0].Status != "PENDING" {
		t.Fatalf("payments while cut = %+v", ps)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT count(*) FROM sales_events`); got != 0 {
		t.Fatalf("%d sales recorded while the gateway was cut", got)
	}
	// Cash still sells.
	must(t, s, "POST", "/events/sales", sale(s, "cash-1", "CASH", nil), 201)

	link.Restore("")
	if r := s.Do("POST", "/events/sales", m, body); r.Status != 201 {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	p := payment(t, s, ps[0].PaymentID)
	if got, want := history(p), "PENDING>AUTHORIZED>CAPTURED"; got != want {
		t.Fatalf("history = %s, want %s (the retry resumed the same payment)", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT count(*) FROM payments WHERE method = 'GATEWAY'`), int64(1); got != want {
		t.Fatalf("gateway payments = %d, want %d", got, want)
	}
}

func TestGateway_RefusedWithoutGateway(t *testing.T) {
	s := site(t, "", "GATEWAY")
	m := s.Token(auth.RoleMachine, "M1")
	r := s.Do("POST", "/events/sales", m, sale(s, "g1", "GATEWAY", map[string]any{"paymentToken": "pm_card_visa"}))
	if r.Status != 503 || r.Error(t).Code != "GATEWAY_NOT_CONFIGURED" {
		t.Fatalf("no gateway: %d %s", r.Status, r.Body)
	}
	// Gateway sales are charged one at a time, never in a batch.
	var res []map[string]any
	r = s.Do("POST", "/events/batch", m, map[string]any{"events": []any{sale(s, "g2", "GATEWAY", map[string]any{"paymentToken": "pm_card_visa"})}})
	if r.Status != 200 {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	var batch struct {
		Results []map[string]any `json:"results"`
	}
	r.Decode(t, &batch)
	res = batch.Results
	if len(res) != 1 || res[0]["status"] != "REJECTED" || !strings.Contains(fmt.Sprint(res[0]["error"]), "one at a time") {
		t.Fatalf("batch results = %v (%s)", res, r.Body)
	}
}

func TestWebhook_AppliedOncePerEvent(t *testing.T) {
	s := site(t, testkit.StripeMock(t), "GATEWAY")
	must(t, s, "POST", "/events/sales", sale(s, "w1", "GATEWAY", map[string]any{"paymentToken": "pm_card_visa"}), 201)
	p := payments(t, s, "")[0]

	send := func(id, typ, intent, secret string) edgetest.Response {
		body := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"data":{"object":{"id":"ch_1","object":"charge","payment_intent":%q}}}`, id, typ, intent)
		sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: time.Now()})
		return s.Do("POST", "/payments/webhook", "", json.RawMessage(sp.Payload), "Stripe-Signature", sp.Header)
	}
	var res edgeapi.WebhookResult
	r := send("evt_1", "charge.refunded", p.GatewayID, whsec)
	if r.Status != 200 {
		t.Fatalf("webhook: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &res)
	if !res.Applied || res.Duplicate || res.Status != "REFUNDED" || res.PaymentID != p.PaymentID {
		t.Fatalf("first delivery = %+v", res)
	}
	r = send("evt_1", "charge.refunded", p.GatewayID, whsec)
	r.Decode(t, &res)
	if r.Status != 200 || res.Applied || !res.Duplicate {
		t.Fatalf("second delivery = %d %+v", r.Status, res)
	}
	if got, want := history(payment(t, s, p.PaymentID)), "PENDING>AUTHORIZED>CAPTURED>REFUNDED"; got != want {
		t.Fatalf("history = %s, want %s", got, want)
	}
	// Another event that would move it back is kept, not applied.
	r = send("evt_2", "payment_intent.succeeded", p.GatewayID, whsec)
	r.Decode(t, &res)
	if r.Status != 200 || res.Applied || res.Status != "REFUNDED" {
		t.Fatalf("stale event = %d %+v", r.Status, res)
	}
	if r := send("evt_3", "charge.refunded", p.GatewayID, "whsec_wrong"); r.Status != 400 || r.Error(t).Code != "INVALID_SIGNATURE" {
		t.Fatalf("bad signature: %d %s", r.Status, r.Body)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT count(*) FROM payment_confirmations`), int64(2); got != want {
		t.Fatalf("confirmations kept = %d, want %d", got, want)
	}
}

func TestPayments_RefundsReportsAndRBAC(t *testing.T) {
	s := site(t, "", "CASH", "CARD", "UPI")
	m := s.Token(auth.RoleMachine, "M1")
	for i, method := range []string{"CASH", "CASH", "CARD", "UPI"} {
		if r := s.Do("POST", "/events/sales", m, sale(s, fmt.Sprintf("r-%d", i), method, nil)); r.Status != 201 {
			t.Fatalf("sale %d: %d %s", i, r.Status, r.Body)
		}
	}
	cash := payments(t, s, "?method=CASH&status=CAPTURED&machineId=M1&day=2026-12-01")
	if len(cash) != 2 {
		t.Fatalf("cash payments = %+v", cash)
	}
	// A cash refund with the goods dispensed: the ledger only, stock as is.
	stock := s.Stock("M1", "P1")
	r := s.Do("POST", fmt.Sprintf("/payments/%d/refund", cash[0].PaymentID), s.Token(auth.RoleOps, ""), map[string]any{"reason": "wrong flavour", "reference": "till-3"})
	if r.Status != 200 {
		t.Fatalf("refund: %d %s", r.Status, r.Body)
	}
	if got := s.Stock("M1", "P1"); got != stock {
		t.Fatalf("stock = %d, want %d", got, stock)
	}

	var rep edgeapi.PaymentReport
	must(t, s, "GET", "/reports/payments?from=2026-12-01&to=2026-12-01", nil, 200).Decode(t, &rep)
	got := map[string]edgeapi.PaymentTotal{}
	for _, x := range rep.Totals {
		got[x.Method] = x
	}
	if c := got["CASH"]; c.Payments != 2 || c.Gross != 500 || c.Refunds != 1 || c.Refunded != 250 || c.Net != 250 || c.Day != "2026-12-01" {
		t.Fatalf("cash total = %+v", c)
	}
	if c := got["MOBILE"]; c.Payments != 1 || c.Net != 250 {
		t.Fatalf("mobile total = %+v", c)
	}
	if c := got["CARD"]; c.Payments != 1 || c.Net != 250 {
		t.Fatalf("card total = %+v", c)
	}

	id := cash[1].PaymentID
	tests := []struct {
		name, method, path string
		role               auth.Role
		body               any
		status             int
		field              string
	}{
		{"finance lists", "GET", "/payments", auth.RoleFinance, nil, 200, ""},
		{"driver may not list", "GET", "/payments", auth.RoleDriver, nil, 403, ""},
		{"machine may not list", "GET", "/payments", auth.RoleMachine, nil, 403, ""},
		{"finance reads one", "GET", fmt.Sprintf("/payments/%d", id), auth.RoleFinance, nil, 200, ""},
		{"finance may not refund", "POST", fmt.Sprintf("/payments/%d/refund", id), auth.RoleFinance, map[string]any{}, 403, ""},
		{"driver may not refund", "POST", fmt.Sprintf("/payments/%d/refund", id), auth.RoleDriver, map[string]any{}, 403, ""},
		{"machine may not refund", "POST", fmt.Sprintf("/payments/%d/refund", id), auth.RoleMachine, map[string]any{}, 403, ""},
		{"finance reports", "GET", "/reports/payments", auth.RoleFinance, nil, 200, ""},
		{"driver may not report", "GET", "/reports/payments", auth.RoleDriver, nil, 403, ""},
		{"bad status", "GET", "/payments?status=PAID", auth.RoleAdmin, nil, 400, "status"},
		{"bad method", "GET", "/payments?method=BITCOIN", auth.RoleAdmin, nil, 400, "method"},
		{"bad day", "GET", "/payments?day=yesterday", auth.RoleAdmin, nil, 400, "day"},
		{"bad id", "GET", "/payments/abc", auth.RoleAdmin, nil, 400, "id"},
		{"unknown id", "GET", "/payments/999", auth.RoleAdmin, nil, 404, "id"},
		{"refund unknown", "POST", "/payments/999/refund", auth.RoleAdmin, map[string]any{}, 404, "id"},
		{"refund unknown field", "POST", fmt.Sprintf("/payments/%d/refund", id), auth.RoleAdmin, map[string]any{"amount": 1}, 400, ""},
		{"refund with a card number", "POST", fmt.Sprintf("/payments/%d/refund", id), auth.RoleAdmin, map[string]any{"reference": "4242424242424242"}, 400, "reference"},
		{"report backwards", "GET", "/reports/payments?from=2026-12-02&to=2026-12-01", auth.RoleAdmin, nil, 400, "to"},
		{"report bad from", "GET", "/reports/payments?from=12/01/2026", auth.RoleAdmin, nil, 400, "from"},
		{"report too long", "GET", "/reports/payments?from=2020-01-01&to=2026-12-01", auth.RoleAdmin, nil, 400, "to"},
		{"webhook without a secret", "POST", "/payments/webhook", "", map[string]any{}, 503, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			switch tc.role {
			case "":
			case auth.RoleMachine:
				tok = s.Token(tc.role, "M1")
			default:
				tok = s.Token(tc.role, "")
			}
			r := s.Do(tc.method, tc.path, tok, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.field != "" {
				if got := r.Error(t).Field; got != tc.field {
					t.Fatalf("field = %q, want %q", got, tc.field)
				}
			}
		})
	}
	// The bad requests changed nothing: the second cash payment is as it was.
	if p := payment(t, s, id); p.Status != "CAPTURED" || len(p.History) != 1 {
		t.Fatalf("payment %d = %+v", id, p)
	}
}
