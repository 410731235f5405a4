package main

import (
	"github.com/spf13/pflag"

	"github.com/vendsync/vendsync/edge"
)

// addPaymentFlags adds the payment gateway's settings to `edge run`. The
// secrets are best given as VENDSYNC_STRIPE_KEY and
// VENDSYNC_STRIPE_WEBHOOK_SECRET (or the config file), not on the command
// line, where other users of the machine can read them.
func addPaymentFlags(f *pflag.FlagSet, c *edge.PaymentsConfig) {
	f.StringVar(&c.StripeKey, "stripe-key", "", "Stripe secret key for GATEWAY sales (none: GATEWAY sales answer 503; prefer VENDSYNC_STRIPE_KEY)")
	f.StringVar(&c.StripeURL, "stripe-url", "", "Stripe API address, e.g. a stripe-mock at http://127.0.0.1:12111 (default: Stripe's own)")
	f.StringVar(&c.WebhookSecret, "stripe-webhook-secret", "", "secret that verifies POST /payments/webhook (Stripe's whsec_…; prefer VENDSYNC_STRIPE_WEBHOOK_SECRET)")
	f.StringVar(&c.Currency, "payment-currency", "", "ISO 4217 currency of GATEWAY payments (default EUR)")
}
