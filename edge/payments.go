package edge

import (
	"fmt"
	"strings"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/payment"
	gw "github.com/vendsync/vendsync/internal/payment"
)

// PaymentsConfig configures the payment gateway of GATEWAY sales.
type PaymentsConfig struct {
	// StripeKey is the gateway's secret key; empty: no gateway (GATEWAY
	// sales answer 503, the other methods work).
	StripeKey string
	// StripeURL overrides Stripe's API address, e.g. a stripe-mock on
	// http://127.0.0.1:12111.
	StripeURL string
	// WebhookSecret verifies gateway confirmations (POST /payments/webhook).
	WebhookSecret string
	// Currency of gateway payments (ISO 4217); empty: EUR.
	Currency string
}

// Validate names the first bad field.
func (c PaymentsConfig) Validate() error {
	if c.Currency != "" && (len(c.Currency) != 3 || strings.ToUpper(c.Currency) != c.Currency) {
		return fmt.Errorf("payments currency %q: want an ISO 4217 code such as EUR", c.Currency)
	}
	if c.StripeKey == "" && c.StripeURL != "" {
		return fmt.Errorf("payments stripe url: needs a stripe key")
	}
	if c.StripeKey != "" {
		return gw.StripeConfig{Key: c.StripeKey, URL: c.StripeURL}.Validate()
	}
	return nil
}

// openPayments builds the payments ledger on w and makes every sale record
// its payment. GATEWAY payments need the site online: with an uplink, its
// leaf link must be up; a standalone site asks the gateway directly.
func (n *Node) openPayments(w *ingest.Writer) error {
	c := n.cfg.Payments
	if err := c.Validate(); err != nil {
		return err
	}
	pc := payment.Config{Currency: c.Currency, WebhookSecret: c.WebhookSecret, Online: func() bool {
		u := n.uplinkState()
		return !u.Configured || u.Connected
	}}
	if c.StripeKey != "" {
		p, err := gw.NewStripe(gw.StripeConfig{Key: c.StripeKey, URL: c.StripeURL})
		if err != nil {
			return err
		}
		pc.Provider = p
	}
	n.Payments = payment.New(w, n.Stock, pc)
	n.Sales.SetPayments(n.Payments)
	return nil
}
