package payment

import (
	"errors"
	"fmt"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// Event is a gateway's confirmation of a change to a payment, as a webhook
// delivers it. The gateway may deliver one event more than once: whoever
// applies events keeps their IDs and applies each once.
type Event struct {
	// ID is the gateway's event id (Stripe: evt_…), the key of idempotence.
	ID string
	// Type is the gateway's event type (payment_intent.succeeded, …).
	Type string
	// IntentID is the payment the event is about.
	IntentID string
	// Status is the status the event confirms.
	Status Status
}

// ErrBadSignature is returned by ParseStripeEvent for a payload whose
// signature does not verify with the secret (or is too old).
var ErrBadSignature = errors.New("webhook signature does not verify")

// ErrIgnoredEvent is returned by ParseStripeEvent for a well-signed event of
// a type that changes no payment status; callers answer it 200 and move on.
var ErrIgnoredEvent = errors.New("event type changes no payment")

// ParseStripeEvent verifies a Stripe webhook payload against its
// Stripe-Signature header and secret and returns the payment change it
// confirms. It returns ErrBadSignature, ErrIgnoredEvent, or an error for a
// payload that is not an event about a payment.
func ParseStripeEvent(payload []byte, signature, secret string) (Event, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, signature, secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		if errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrNoValidSignature) || errors.Is(err, webhook.ErrTooOld) || errors.Is(err, webhook.ErrInvalidHeader) {
			return Event{}, fmt.Errorf("%v: %w", err, ErrBadSignature)
		}
		return Event{}, fmt.Errorf("parse event: %w", err)
	}
	out := Event{ID: ev.ID, Type: string(ev.Type)}
	switch ev.Type {
	case stripe.EventTypePaymentIntentAmountCapturableUpdated:
		out.Status = Authorized
	case stripe.EventTypePaymentIntentSucceeded:
		out.Status = Captured
	case stripe.EventTypePaymentIntentPaymentFailed:
		out.Status = Failed
	case stripe.EventTypePaymentIntentCanceled:
		out.Status = Voided
	case stripe.EventTypeChargeRefunded:
		out.Status = Refunded
	default:
		return out, ErrIgnoredEvent
	}
	if ev.Data == nil || ev.Data.Object == nil {
		return Event{}, errors.New("parse event: no data.object")
	}
	id, _ := ev.Data.Object["id"].(string)
	if ev.Type == stripe.EventTypeChargeRefunded {
		id, _ = ev.Data.Object["payment_intent"].(string)
	}
	if id == "" || ev.ID == "" {
		return Event{}, errors.New("parse event: no event id or payment intent id")
	}
	out.IntentID = id
	return out, nil
}
