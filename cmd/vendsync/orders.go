//go:build !site

package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/payment"
)

// orderFlags are `central run`'s pre-order settings: the gateway orders
// are paid through (none: the node takes no orders) and the timings.
type orderFlags struct {
	stripeKey, stripeURL string
}

// addOrderFlags adds the pre-order settings to `central run`. The key is
// best given as VENDSYNC_ORDER_STRIPE_KEY or in the config file.
func addOrderFlags(f *pflag.FlagSet, o *orderFlags, cfg *central.Config) {
	f.StringVar(&o.stripeKey, "order-stripe-key", "", "Stripe secret key pre-orders are paid with (none: POST /orders answers 501)")
	f.StringVar(&o.stripeURL, "order-stripe-url", "", "Stripe API address, e.g. a stripe-mock at http://127.0.0.1:12111 (default: Stripe's own)")
	f.StringVar(&cfg.OrderCurrency, "order-currency", "USD", "ISO 4217 currency pre-orders are priced and paid in, e.g. INR or EUR")
	f.DurationVar(&cfg.OrderReadyIn, "order-ready-in", 5*time.Minute, "estimated time until a pre-order is ready")
	f.DurationVar(&cfg.OrderWindow, "order-window", 2*time.Hour, "how long after it is ready a pre-order may be picked up before it is refunded")
	f.DurationVar(&cfg.RefundEvery, "order-refund-every", 30*time.Second, "how often orders closed without a pickup are refunded")
}

// apply sets cfg.Payments from the flags.
func (o orderFlags) apply(cfg *central.Config) error {
	if c := cfg.OrderCurrency; len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return fmt.Errorf("--order-currency %q: want an ISO 4217 code in capitals, such as INR or EUR", c)
	}
	if o.stripeKey == "" {
		return nil
	}
	p, err := payment.NewStripe(payment.StripeConfig{Key: o.stripeKey, URL: o.stripeURL})
	if err != nil {
		return err
	}
	cfg.Payments = p
	return nil
}
