package payment_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/testkit"
)

func newStripe(t *testing.T) *payment.Stripe {
	t.Helper()
	p, err := payment.NewStripe(payment.StripeConfig{Key: "sk_test_vendsync", URL: testkit.StripeMock(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStripe_Lifecycle(t *testing.T) {
	p := newStripe(t)
	ctx := context.Background()

	in, err := p.Authorize(ctx, payment.Request{
		Amount: 250, Currency: "EUR", Method: "pm_card_visa",
		Metadata:       map[string]string{"site": "s1", "transactionId": "t1"},
		IdempotencyKey: "s1:t1",
	})
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if in.ID == "" {
		t.Fatal("authorize: no intent id")
	}
	if got, want := in.Status, payment.Authorized; got != want {
		t.Fatalf("status after authorize = %s, want %s", got, want)
	}
	if got, want := in.Amount, int64(250); got != want {
		t.Fatalf("amount = %d, want %d", got, want)
	}

	c, err := p.Capture(ctx, in.ID, "s1:t1:capture")
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	if got, want := c.Status, payment.Captured; got != want {
		t.Fatalf("status after capture = %s, want %s", got, want)
	}

	r, err := p.Refund(ctx, in.ID, 100, "s1:t1:refund")
	if err != nil {
		t.Fatalf("refund: %v", err)
	}
	if r.ID == "" || r.IntentID != in.ID {
		t.Fatalf("refund = %+v, want an id for intent %s", r, in.ID)
	}
	if got, want := r.Amount, int64(100); got != want {
		t.Fatalf("refunded = %d, want %d", got, want)
	}

	v, err := p.Void(ctx, in.ID, "s1:t1:void")
	if err != nil {
		t.Fatalf("void: %v", err)
	}
	if got, want := v.Status, payment.Voided; got != want {
		t.Fatalf("status after void = %s, want %s", got, want)
	}

	g, err := p.Get(ctx, in.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if g.ID != in.ID || g.GatewayStatus == "" {
		t.Fatalf("get = %+v", g)
	}
}

func TestStripe_GatewayRefusalIsDeclined(t *testing.T) {
	p := newStripe(t)
	// stripe-mock validates requests against Stripe's OpenAPI spec: a
	// payment without a currency is refused with a 400, as Stripe does.
	_, err := p.Authorize(context.Background(), payment.Request{Amount: 250, Currency: "", Method: "pm_card_visa"})
	if !errors.Is(err, payment.ErrDeclined) {
		t.Fatalf("err = %v, want ErrDeclined", err)
	}
	if _, err := p.Authorize(context.Background(), payment.Request{Amount: 0, Currency: "eur", Method: "pm_card_visa"}); !errors.Is(err, payment.ErrDeclined) {
		t.Fatalf("zero amount: err = %v, want ErrDeclined", err)
	}
}

func TestStripe_UnreachableIsUnavailable(t *testing.T) {
	p, err := payment.NewStripe(payment.StripeConfig{Key: "sk_test_x", URL: "http://" + testkit.FreeAddr(t), Timeout: 2 * time.Second, MaxRetries: new(int64)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Authorize(context.Background(), payment.Request{Amount: 250, Currency: "eur", Method: "pm_card_visa"})
	if !errors.Is(err, payment.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestStripeConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfg  payment.StripeConfig
		ok   bool
	}{
		{"ok", payment.StripeConfig{Key: "sk_test_1", URL: "http://127.0.0.1:1"}, true},
		{"no key", payment.StripeConfig{URL: "http://127.0.0.1:1"}, false},
		{"bad url", payment.StripeConfig{Key: "k", URL: "127.0.0.1:1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.Validate() == nil; got != tc.ok {
				t.Fatalf("Validate ok = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestCanMove(t *testing.T) {
	tests := []struct {
		from, to payment.Status
		want     bool
	}{
		{payment.Pending, payment.Authorized, true},
		{payment.Authorized, payment.Captured, true},
		{payment.Authorized, payment.Voided, true},
		{payment.Captured, payment.Refunded, true},
		{payment.Captured, payment.Voided, false},
		{payment.Refunded, payment.Captured, false},
		{payment.Failed, payment.Captured, false},
		{payment.Pending, payment.Refunded, false},
	}
	for _, tc := range tests {
		if got := payment.CanMove(tc.from, tc.to); got != tc.want {
			t.Errorf("CanMove(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

func signed(t *testing.T, body, secret string) (payload []byte, header string) {
	t.Helper()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: time.Now()})
	return sp.Payload, sp.Header
}

func TestParseStripeEvent(t *testing.T) {
	const secret = "whsec_test"
	ev := func(id, typ, obj string) string {
		return fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"data":{"object":%s}}`, id, typ, obj)
	}
	tests := []struct {
		name     string
		body     string
		secret   string
		want     payment.Event
		wantErr  error
		anyError bool
	}{
		{name: "succeeded", body: ev("evt_1", "payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent"}`), secret: secret,
			want: payment.Event{ID: "evt_1", Type: "payment_intent.succeeded", IntentID: "pi_1", Status: payment.Captured}},
		{name: "capturable", body: ev("evt_2", "payment_intent.amount_capturable_updated", `{"id":"pi_2"}`), secret: secret,
			want: payment.Event{ID: "evt_2", Type: "payment_intent.amount_capturable_updated", IntentID: "pi_2", Status: payment.Authorized}},
		{name: "refunded charge", body: ev("evt_3", "charge.refunded", `{"id":"ch_1","payment_intent":"pi_3"}`), secret: secret,
			want: payment.Event{ID: "evt_3", Type: "charge.refunded", IntentID: "pi_3", Status: payment.Refunded}},
		{name: "failed", body: ev("evt_4", "payment_intent.payment_failed", `{"id":"pi_4"}`), secret: secret,
			want: payment.Event{ID: "evt_4", Type: "payment_intent.payment_failed", IntentID: "pi_4", Status: payment.Failed}},
		{name: "wrong secret", body: ev("evt_5", "payment_intent.succeeded", `{"id":"pi_5"}`), secret: "whsec_other", wantErr: payment.ErrBadSignature},
		{name: "ignored type", body: ev("evt_6", "customer.created", `{"id":"cus_1"}`), secret: secret, wantErr: payment.ErrIgnoredEvent},
		{name: "no intent", body: ev("evt_7", "payment_intent.succeeded", `{"object":"payment_intent"}`), secret: secret, anyError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload, header := signed(t, tc.body, tc.secret)
			got, err := payment.ParseStripeEvent(payload, header, secret)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			case tc.anyError:
				if err == nil {
					t.Fatal("want an error")
				}
				return
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if got != tc.want {
				t.Fatalf("event = %+v, want %+v", got, tc.want)
			}
		})
	}
}
