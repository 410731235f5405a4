package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/stripemock"
	"github.com/vendsync/vendsync/sync/wire"
)

// gateway is the demo's payment gateway: Stripe's own mock server on a
// loopback port, which every site's GATEWAY sales go through.
type gateway struct {
	mock               *stripemock.Server
	captured, refunded atomic.Int64
	offline, failed    atomic.Int64
	lastErr            atomic.Value // string: the last failure, shown in the summary
}

// startGateway starts stripe-mock, or returns nil and says why when it is
// not installed (the demo then runs without GATEWAY payments).
func startGateway(ctx context.Context, out io.Writer) *gateway {
	bin, err := stripemock.Lookup()
	if err != nil {
		fmt.Fprintf(out, "gateway payments off: %v\n", err)
		return nil
	}
	m, err := stripemock.Start(ctx, bin)
	if err != nil {
		fmt.Fprintf(out, "gateway payments off: %v\n", err)
		return nil
	}
	fmt.Fprintf(out, "payment gateway: stripe-mock at %s\n", m.URL())
	return &gateway{mock: m}
}

// config is the sites' gateway configuration (none without a gateway).
func (g *gateway) config() edge.PaymentsConfig {
	if g == nil {
		return edge.PaymentsConfig{}
	}
	return edge.PaymentsConfig{StripeKey: "sk_test_vendsyncdemo", StripeURL: g.mock.URL()}
}

// orders is central's gateway for customers' pre-orders: the same
// stripe-mock (nil without one: central then takes no orders).
func (g *gateway) orders() (payment.Provider, error) {
	if g == nil {
		return nil, nil
	}
	return payment.NewStripe(payment.StripeConfig{Key: g.config().StripeKey, URL: g.mock.URL()})
}

func (g *gateway) close() {
	if g != nil {
		g.mock.Close()
	}
}

// kiosk is the demo's self-service kiosk at each site: it takes card
// payments through the gateway (and terminal cards), one sale every few
// seconds, and every fourth one is refunded (the goods stuck, so they go
// back into stock).
func (g *gateway) kiosk(ctx context.Context, s *site, prefix string) error {
	if g == nil {
		return nil
	}
	id := prefix + "KIOSK"
	if _, err := s.api.Machine(ctx, id); err != nil {
		var ae *client.Error
		if !errors.As(err, &ae) || ae.Status != 404 {
			return err
		}
		if _, err := s.api.RegisterMachine(ctx, edgeapi.NewMachine{MachineID: id, Location: &edgeapi.Location{City: s.city, Building: "Kiosk"},
			PaymentMethods: []string{"GATEWAY", "CARD"}}); err != nil {
			return fmt.Errorf("kiosk: %w", err)
		}
		price, qty := wire.Money(450), int64(wire.MaxQuantity)
		if _, err := s.api.AddProduct(ctx, id, edgeapi.NewProduct{ProductID: "MEAL", Name: "Hot dog + cola", Price: &price, Quantity: &qty}); err != nil {
			return fmt.Errorf("kiosk: %w", err)
		}
	}
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		tx := fmt.Sprintf("kiosk-%d-%d", time.Now().UnixMilli(), n)
		_, err := s.api.Sale(ctx, edgeapi.Sale{TransactionID: tx, MachineID: id, ProductID: "MEAL", Quantity: 1, Amount: 450,
			PaymentMethod: "GATEWAY", PaymentToken: "pm_card_visa", Timestamp: time.Now().UTC().Format(time.RFC3339Nano)})
		var ae *client.Error
		switch {
		case errors.As(err, &ae) && ae.Code == "GATEWAY_OFFLINE":
			g.offline.Add(1) // the site's link is down: the kiosk says "cash or card only"
			continue
		case ctx.Err() != nil:
			return nil
		case err != nil:
			g.failed.Add(1) // counted and shown; the demo goes on
			g.lastErr.Store(err.Error())
			continue
		}
		g.captured.Add(1)
		if n%4 != 0 {
			continue
		}
		ps, err := s.api.Payments(ctx, client.PaymentQuery{MachineID: id, Limit: 1})
		if err != nil || len(ps) == 0 {
			continue
		}
		if _, err := s.api.Refund(ctx, ps[0].PaymentID, edgeapi.RefundIn{Reason: "meal stuck", NotDispensed: true}); err == nil {
			g.refunded.Add(1)
		}
	}
}

func (g *gateway) summary(out io.Writer) {
	if g == nil {
		return
	}
	fmt.Fprintf(out, "gateway: %d kiosk payments captured through stripe-mock, %d refunded, %d refused while a site was offline, %d failed\n",
		g.captured.Load(), g.refunded.Load(), g.offline.Load(), g.failed.Load())
	if e, ok := g.lastErr.Load().(string); ok {
		fmt.Fprintf(out, "gateway: last failure: %s\n", e)
	}
}
