package central

import (
	"cmp"
	"context"
	"time"

	"github.com/vendsync/vendsync/central/api"
)

// orderSettings are the API's pre-order settings: the gateway, and the
// fleet's pickup-token key from the shared auth bucket.
func (n *Node) orderSettings(ctx context.Context) (api.OrderSettings, error) {
	if n.cfg.Payments == nil {
		return api.OrderSettings{}, nil
	}
	key, err := n.Auth.OrderKey(ctx)
	if err != nil {
		return api.OrderSettings{}, err
	}
	return api.OrderSettings{Payments: n.cfg.Payments, Key: key, ReadyIn: n.cfg.OrderReadyIn, Window: n.cfg.OrderWindow}, nil
}

// refundLoop refunds, every RefundEvery, the orders this node took payment
// for that their site closed without a pickup (EXPIRED, REJECTED,
// CANCELLED). Only the site decides that an order was not picked up, and
// it never hands over an order after closing it, so a refund never meets
// a pickup. A failed refund is retried on the next round; the gateway's
// idempotency key (the order's) returns money once.
func (n *Node) refundLoop(ctx context.Context, os api.OrderSettings) error {
	log := n.log.With().Str("component", "refunds").Logger()
	t := time.NewTicker(cmp.Or(n.cfg.RefundEvery, 30*time.Second))
	defer t.Stop()
	for {
		due, err := n.Store.RefundDue(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error().Err(err).Msg("orders due a refund")
		}
		for _, o := range due {
			if err := api.RefundOrder(ctx, os.Payments, n.Store, o, "refunded: "+o.Status, time.Now()); err != nil {
				log.Warn().Err(err).Str("order", o.OrderID).Msg("refund failed; retrying next round")
				continue
			}
			log.Info().Bool("audit", true).Str("action", "ORDER_REFUNDED").Str("order", o.OrderID).Str("status", o.Status).Msg("order refunded")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
