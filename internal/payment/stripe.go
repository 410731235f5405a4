package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"
)

// StripeConfig configures a Stripe provider.
type StripeConfig struct {
	// Key is the secret API key (sk_test_… against stripe-mock).
	Key string
	// URL overrides the API base URL, e.g. a stripe-mock at
	// http://127.0.0.1:12111; empty is Stripe's own API.
	URL string
	// Timeout bounds each request; 0 is 10 seconds.
	Timeout time.Duration
	// MaxRetries is how often the client retries a request that failed on
	// the network or with a 5xx (with the same idempotency key); nil is 2.
	MaxRetries *int64
}

// Validate names the first bad field of c.
func (c StripeConfig) Validate() error {
	if c.Key == "" {
		return errors.New("stripe key: required")
	}
	if c.URL != "" && !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return fmt.Errorf("stripe url %q: want http(s)://host:port", c.URL)
	}
	return nil
}

// Stripe is a Provider over Stripe's PaymentIntents API.
type Stripe struct {
	sc *stripe.Client
}

var _ Provider = (*Stripe)(nil)

// NewStripe returns a Stripe provider, or an error naming the bad field of
// cfg.
func NewStripe(cfg StripeConfig) (*Stripe, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: timeout},
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: cfg.MaxRetries,
		EnableTelemetry:   stripe.Bool(false),
	}
	if cfg.URL != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.URL, "/"))
	}
	return &Stripe{sc: stripe.NewClient(cfg.Key, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))}, nil
}

// Authorize creates a PaymentIntent with manual capture and confirms it with
// r.Method.
func (s *Stripe) Authorize(ctx context.Context, r Request) (Intent, error) {
	if r.Amount <= 0 {
		return Intent{}, fmt.Errorf("authorize: amount %d: %w", r.Amount, ErrDeclined)
	}
	p := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(r.Amount),
		CaptureMethod:      stripe.String(string(stripe.PaymentIntentCaptureMethodManual)),
		Confirm:            stripe.Bool(true),
		PaymentMethod:      stripe.String(r.Method),
		PaymentMethodTypes: []*string{stripe.String("card")},
		Metadata:           r.Metadata,
	}
	if r.Currency != "" {
		// Left out when empty rather than sent blank, so the gateway names
		// the missing field.
		p.Currency = stripe.String(strings.ToLower(r.Currency))
	}
	if r.Description != "" {
		p.Description = stripe.String(r.Description)
	}
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	pi, err := s.sc.V1PaymentIntents.Create(ctx, p)
	if err != nil {
		return Intent{}, fmt.Errorf("authorize: %w", classify(err))
	}
	return intentAfter(pi, Authorized)
}

// Capture captures an authorized PaymentIntent in full.
func (s *Stripe) Capture(ctx context.Context, intentID, idempotencyKey string) (Intent, error) {
	p := &stripe.PaymentIntentCaptureParams{}
	if idempotencyKey != "" {
		p.SetIdempotencyKey(idempotencyKey)
	}
	pi, err := s.sc.V1PaymentIntents.Capture(ctx, intentID, p)
	if err != nil {
		return Intent{}, fmt.Errorf("capture %s: %w", intentID, classify(err))
	}
	return intentAfter(pi, Captured)
}

// Void cancels a PaymentIntent that was not captured.
func (s *Stripe) Void(ctx context.Context, intentID, idempotencyKey string) (Intent, error) {
	p := &stripe.PaymentIntentCancelParams{}
	if idempotencyKey != "" {
		p.SetIdempotencyKey(idempotencyKey)
	}
	pi, err := s.sc.V1PaymentIntents.Cancel(ctx, intentID, p)
	if err != nil {
		return Intent{}, fmt.Errorf("void %s: %w", intentID, classify(err))
	}
	return intentAfter(pi, Voided)
}

// Refund refunds amount (0 = all) of a captured PaymentIntent.
func (s *Stripe) Refund(ctx context.Context, intentID string, amount int64, idempotencyKey string) (Refund, error) {
	p := &stripe.RefundCreateParams{PaymentIntent: stripe.String(intentID)}
	if amount > 0 {
		p.Amount = stripe.Int64(amount)
	}
	if idempotencyKey != "" {
		p.SetIdempotencyKey(idempotencyKey)
	}
	re, err := s.sc.V1Refunds.Create(ctx, p)
	if err != nil {
		return Refund{}, fmt.Errorf("refund %s: %w", intentID, classify(err))
	}
	if re.Status == stripe.RefundStatusFailed || re.Status == stripe.RefundStatusCanceled {
		return Refund{}, fmt.Errorf("refund %s: gateway says %s: %w", intentID, re.Status, ErrDeclined)
	}
	return Refund{ID: re.ID, IntentID: intentID, Amount: re.Amount, GatewayStatus: string(re.Status)}, nil
}

// Get reads a PaymentIntent; its Status is what Stripe's status amounts to.
func (s *Stripe) Get(ctx context.Context, intentID string) (Intent, error) {
	pi, err := s.sc.V1PaymentIntents.Retrieve(ctx, intentID, nil)
	if err != nil {
		return Intent{}, fmt.Errorf("get %s: %w", intentID, classify(err))
	}
	return Intent{ID: pi.ID, Status: statusOf(pi.Status), GatewayStatus: string(pi.Status), Amount: pi.Amount, Currency: string(pi.Currency)}, nil
}

// intentAfter is the Intent after an operation that was meant to reach want
// and that Stripe answered without an error. Stripe says no with an error
// (a declined card is a 402), so a successful answer means the operation
// happened; only the statuses that contradict it are taken from the body:
// a payment that wants customer action, is still processing, or was
// canceled. (stripe-mock, which holds no state, answers every call with its
// fixture status — requires_payment_method — which contradicts nothing.)
func intentAfter(pi *stripe.PaymentIntent, want Status) (Intent, error) {
	in := Intent{ID: pi.ID, Status: want, GatewayStatus: string(pi.Status), Amount: pi.Amount, Currency: string(pi.Currency)}
	switch pi.Status {
	case stripe.PaymentIntentStatusRequiresAction:
		return in, fmt.Errorf("intent %s: %w", pi.ID, ErrActionRequired)
	case stripe.PaymentIntentStatusProcessing:
		if want == Authorized {
			in.Status = Pending
		}
	case stripe.PaymentIntentStatusCanceled:
		if want != Voided {
			in.Status = Failed
		}
	case stripe.PaymentIntentStatusSucceeded:
		if want == Authorized {
			in.Status = Captured
		}
	}
	return in, nil
}

// statusOf maps a Stripe PaymentIntent status to a Status.
func statusOf(s stripe.PaymentIntentStatus) Status {
	switch s {
	case stripe.PaymentIntentStatusRequiresCapture:
		return Authorized
	case stripe.PaymentIntentStatusSucceeded:
		return Captured
	case stripe.PaymentIntentStatusCanceled:
		return Voided
	default:
		return Pending
	}
}

// classify wraps a Stripe error in ErrDeclined (the gateway answered no) or
// ErrUnavailable (it did not answer, or failed on its side), keeping its
// message.
func classify(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		msg := se.Msg
		if se.Code != "" {
			msg = string(se.Code) + ": " + msg
		}
		if se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == 0 && se.Type == stripe.ErrorTypeAPI {
			return fmt.Errorf("%s: %w", msg, ErrUnavailable)
		}
		return fmt.Errorf("%s: %w", msg, ErrDeclined)
	}
	return fmt.Errorf("%v: %w", err, ErrUnavailable)
}
