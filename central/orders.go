package central

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/hqlog"
	"github.com/vendsync/vendsync/central/readmodel"
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
	return api.OrderSettings{Payments: n.cfg.Payments, Key: key, Currency: strings.ToLower(n.cfg.OrderCurrency), ReadyIn: n.cfg.OrderReadyIn, Window: n.cfg.OrderWindow}, nil
}

// refundLoop refunds, every RefundEvery, the orders paid at central that
// their site closed without a pickup (EXPIRED, REJECTED, CANCELLED), and
// records each refund in the HQ log (order.refunded) for every node. Only
// the site decides that an order was not picked up, and it never hands
// over an order after closing it, so a refund never meets a pickup. Every
// node knows every order, but only the HQ_LOG stream's leader refunds, so
// refunds go on when any node dies; two nodes that both think they lead
// (a leader change between rounds) are harmless: the gateway's
// idempotency key (the order's) returns money once, and the second
// order.refunded entry records nothing. A failed refund is retried on the
// next round.
func (n *Node) refundLoop(ctx context.Context, os api.OrderSettings) error {
	log := n.log.With().Str("component", "refunds").Logger()
	t := time.NewTicker(cmp.Or(n.cfg.RefundEvery, 30*time.Second))
	defer t.Stop()
	for {
		var due []readmodel.Order
		lead, err := n.leadsHQLog(ctx)
		if err == nil && lead {
			due, err = n.Store.RefundDue(ctx)
		}
		if err != nil && ctx.Err() == nil {
			log.Error().Err(err).Msg("orders due a refund")
		}
		for _, o := range due {
			if err := api.RefundOrder(ctx, os.Payments, n.Store, n.HQLog, o, "refunded: "+o.Status, time.Now()); err != nil {
				log.Warn().Err(err).Str("order", o.OrderID).Msg("refund failed; retrying next round")
				continue
			}
			log.Info().Bool("audit", true).Str("action", "ORDER_REFUNDED").Str("order", o.OrderID).Str("status", o.Status).Msg("order refunded")
		}
		n.refundSubstitutions(ctx, os, lead)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// leadsHQLog reports whether this node is the HQ_LOG stream's leader (a
// single node always is): the one node of a cluster that runs refunds and
// sends webhook deliveries (every node holds the same orders and
// subscriptions). When leadership moves, the new leader does what its read
// model has due, so around a failover a webhook may be sent twice
// (receivers dedupe by delivery id) and a refund asked twice (the gateway's
// idempotency key, the order id, pays once); nothing is lost.
func (n *Node) leadsHQLog(ctx context.Context) (bool, error) {
	if n.cfg.Replicas <= 1 {
		return true, nil
	}
	st, err := n.Hub.JetStream().Stream(ctx, hqlog.Stream)
	if err != nil {
		return false, fmt.Errorf("hq log leader: %w", err)
	}
	ci := st.CachedInfo().Cluster
	return ci == nil || ci.Leader == n.Hub.Server().Name(), nil
}

// refundSubstitutions refunds, when this node leads the HQ log, what the
// units of refused substitute offers were paid (api.RefundSubstitution);
// a failure is retried on the next round.
func (n *Node) refundSubstitutions(ctx context.Context, os api.OrderSettings, lead bool) {
	if !lead {
		return
	}
	log := n.log.With().Str("component", "refunds").Logger()
	due, err := n.Store.SubstitutionRefundDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error().Err(err).Msg("substitutions due a refund")
		}
		return
	}
	for _, o := range due {
		if err := api.RefundSubstitution(ctx, os.Payments, n.Store, n.HQLog, o, time.Now()); err != nil {
			log.Warn().Err(err).Str("order", o.OrderID).Msg("substitution refund failed; retrying next round")
			continue
		}
		log.Info().Bool("audit", true).Str("action", "ORDER_SUBSTITUTION_REFUNDED").Str("order", o.OrderID).Int64("cents", o.Substitution.RefundCents).Msg("refused substitute refunded")
	}
}
