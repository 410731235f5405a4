package edge

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"github.com/vendsync/vendsync/edge/order"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// orderConfig is the order rules' configuration: auto-accept while the
// leaf link is up, unless the operator asked to accept every order.
func (n *Node) orderConfig() order.Config {
	c := order.DefaultConfig()
	c.AutoAccept = !n.cfg.OrderManualAccept
	c.FreshCount = cmp.Or(n.cfg.OrderFreshCount, time.Hour)
	c.SubstituteWindow = cmp.Or(n.cfg.OrderSubstituteWindow, order.DefaultSubstituteWindow)
	c.Online = func() bool { return n.Leaf != nil && n.Leaf.Connected() }
	return c
}

// applyOrderDownlink applies an order or central's order key from the
// downlink. Bad JSON is a rejected change (skipped, not retried).
func (n *Node) applyOrderDownlink(ctx context.Context, kind string, value []byte, by string) error {
	switch kind {
	case envelope.DownlinkOrderKey:
		var k envelope.OrderKey
		if err := json.Unmarshal(value, &k); err != nil {
			return errs.Invalidf("orderkey", "bad order key: %v", err)
		}
		return n.Orders.SetKey(ctx, k, by)
	default:
		var d envelope.OrderDownlink
		if err := json.Unmarshal(value, &d); err != nil {
			return errs.Invalidf("order", "bad order: %v", err)
		}
		_, err := n.Orders.Apply(ctx, d, by)
		return err
	}
}

// applySubstitutionDownlink applies a customer's answer to a substitute
// offer (substitution.<orderId>). Bad JSON is a rejected change.
func (n *Node) applySubstitutionDownlink(ctx context.Context, orderID string, value []byte, by string) error {
	var d envelope.SubstitutionDecision
	if err := json.Unmarshal(value, &d); err != nil {
		return errs.Invalidf("substitution", "bad substitution decision: %v", err)
	}
	_, err := n.Orders.Decide(ctx, orderID, d, by)
	return err
}
