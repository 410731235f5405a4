// Package payment is the gateway behind vendsync's online payments: a small
// Provider interface (authorize, capture, void, refund, status, each with an
// idempotency key) and its Stripe implementation (stripe.go), plus the
// payment statuses and their allowed transitions that the edge ledger and
// central's pre-orders share. No card data passes through here: a gateway
// payment is identified by the gateway's own intent id and a payment-method
// token the gateway issued.
package payment

import (
	"context"
	"errors"
	"fmt"
)

// Status is where a payment is in its lifecycle.
type Status string

// The statuses of a payment. PENDING → AUTHORIZED → CAPTURED is the happy
// path; FAILED ends a payment that never got money; REFUNDED and VOIDED end
// one that did (a void releases an authorization that was never captured).
const (
	Pending    Status = "PENDING"
	Authorized Status = "AUTHORIZED"
	Captured   Status = "CAPTURED"
	Failed     Status = "FAILED"
	Refunded   Status = "REFUNDED"
	Voided     Status = "VOIDED"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{Pending, Authorized, Captured, Failed, Refunded, Voided}

// ParseStatus returns the status named s (upper case), or an error naming
// the accepted ones.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown payment status %q (want one of PENDING, AUTHORIZED, CAPTURED, FAILED, REFUNDED, VOIDED)", s)
}

// transitions holds, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	Pending:    {Authorized, Captured, Failed, Voided},
	Authorized: {Captured, Failed, Voided},
	Captured:   {Refunded},
}

// CanMove reports whether a payment in status from may move to status to.
// Moving to the status it is already in is not a move (callers treat it as
// a replay).
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Final reports whether no further change is possible from s.
func Final(s Status) bool { return len(transitions[s]) == 0 }

// Request is one payment to authorize at the gateway.
type Request struct {
	// Amount in the currency's minor units (cents); must be positive.
	Amount int64
	// Currency is an ISO 4217 code, lower or upper case.
	Currency string
	// Method is the gateway's payment-method token (e.g. "pm_card_visa");
	// never a card number.
	Method string
	// Description is shown in the gateway's dashboard.
	Description string
	// Metadata is stored with the payment at the gateway (site, machine,
	// transaction id): how a payment is found there from a sale.
	Metadata map[string]string
	// IdempotencyKey makes a retried Authorize create one payment: the sale's
	// transaction id, scoped by its site.
	IdempotencyKey string
}

// Intent is a payment as the gateway holds it.
type Intent struct {
	// ID is the gateway's id (Stripe: pi_…).
	ID string
	// Status is the vendsync status the gateway's answer amounts to.
	Status Status
	// GatewayStatus is the gateway's own word for it, kept for the audit
	// trail (Stripe: requires_capture, succeeded, …).
	GatewayStatus string
	// Amount and Currency as the gateway holds them.
	Amount   int64
	Currency string
}

// Refund is one refund at the gateway.
type Refund struct {
	// ID is the gateway's id (Stripe: re_…).
	ID string
	// IntentID is the payment refunded.
	IntentID string
	// Amount refunded, in minor units.
	Amount int64
	// GatewayStatus is the gateway's word for the refund (succeeded, pending).
	GatewayStatus string
}

// Provider is a payment gateway. Every call that changes something takes an
// idempotency key, so a call retried after a lost answer changes the
// gateway once. A call that returns a nil error did what it says; a gateway
// refusal (a declined card, a bad request) is an error wrapping ErrDeclined,
// and a gateway that can't be reached is an error wrapping ErrUnavailable.
type Provider interface {
	// Authorize creates a payment and confirms it for later capture.
	Authorize(ctx context.Context, r Request) (Intent, error)
	// Capture takes the money of an authorized payment.
	Capture(ctx context.Context, intentID, idempotencyKey string) (Intent, error)
	// Void releases an authorization that was not captured.
	Void(ctx context.Context, intentID, idempotencyKey string) (Intent, error)
	// Refund returns amount (minor units; 0 = all) of a captured payment.
	Refund(ctx context.Context, intentID string, amount int64, idempotencyKey string) (Refund, error)
	// Get reads a payment.
	Get(ctx context.Context, intentID string) (Intent, error)
}

// ErrDeclined is wrapped by errors of a gateway that answered no: a card
// declined, a request it refused. Retrying the same request will not help.
var ErrDeclined = errors.New("payment declined by the gateway")

// ErrUnavailable is wrapped by errors of a gateway that could not be reached
// or failed on its side; the request may be retried with the same key.
var ErrUnavailable = errors.New("payment gateway unavailable")

// ErrActionRequired is wrapped when the gateway wants the customer to act
// (3-D Secure): an unattended point can't do that, so the payment fails.
var ErrActionRequired = errors.New("payment needs customer action at the gateway")
