package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/central/hqlog"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Pre-orders through the HQ log: the node that takes POST /orders takes
// the payment and decides everything about the order (id, pickup code and
// token, payment id, times), then records it as an "order.create" entry
// that every node applies, so GET /orders/{id} answers the same through
// any node right away, before the site reports on it. A customer's cancel
// is an "order.cancel" entry (who asked, and when, in the replicated
// record; the site's CANCELLED event moves the status), and a refund an
// "order.refunded" entry. The refund loop runs on one node at a time (the
// HQ_LOG stream's leader, central.Node); the gateway's idempotency key is
// the order's, so a refund repeated across a leader change returns money
// once and is recorded once.

// HQ log kinds of pre-orders.
const (
	KindOrderCreate   = "order.create"
	KindOrderCancel   = "order.cancel"
	KindOrderRefunded = "order.refunded"
)

// orderEntry is the data of an order.create entry: the order as the
// taking node decided it.
type orderEntry struct {
	OrderID       string               `json:"orderId"`
	Site          string               `json:"site"`
	MachineID     string               `json:"machineId"`
	Customer      string               `json:"customer"`
	Status        string               `json:"status"`
	Reason        string               `json:"reason"`
	Lines         []envelope.OrderLine `json:"lines"`
	GrossCents    int64                `json:"grossCents"`
	DiscountCents int64                `json:"discountCents"`
	TotalCents    int64                `json:"totalCents"`
	Currency      string               `json:"currency"`
	PromoCode     string               `json:"promoCode,omitempty"`
	Code          string               `json:"code"`
	Token         string               `json:"token"`
	PaymentID     string               `json:"paymentId,omitempty"`
	PaymentStatus string               `json:"paymentStatus,omitempty"`
	PlacedAt      time.Time            `json:"placedAt"`
	ReadyAt       time.Time            `json:"readyAt"`
	ExpiresAt     time.Time            `json:"expiresAt"`
	UpdatedAt     time.Time            `json:"updatedAt"`
}

func entryOf(o readmodel.Order) orderEntry {
	return orderEntry{OrderID: o.OrderID, Site: o.Site, MachineID: o.MachineID, Customer: o.Customer, Status: o.Status, Reason: o.Reason,
		Lines: o.Lines, GrossCents: o.GrossCents, DiscountCents: o.DiscountCents, TotalCents: o.TotalCents, Currency: o.Currency,
		PromoCode: o.PromoCode, Code: o.Code, Token: o.Token, PaymentID: o.PaymentID, PaymentStatus: o.PaymentStatus,
		PlacedAt: o.PlacedAt, ReadyAt: o.ReadyAt, ExpiresAt: o.ExpiresAt, UpdatedAt: o.UpdatedAt}
}

func (e orderEntry) order() readmodel.Order {
	return readmodel.Order{OrderID: e.OrderID, Site: e.Site, MachineID: e.MachineID, Customer: e.Customer, Status: e.Status, Reason: e.Reason,
		Lines: e.Lines, GrossCents: e.GrossCents, DiscountCents: e.DiscountCents, TotalCents: e.TotalCents, Currency: e.Currency,
		PromoCode: e.PromoCode, Code: e.Code, Token: e.Token, PaymentID: e.PaymentID, PaymentStatus: e.PaymentStatus,
		PlacedAt: e.PlacedAt, ReadyAt: e.ReadyAt, ExpiresAt: e.ExpiresAt, UpdatedAt: e.UpdatedAt}
}

// orderCancelEntry is the data of an order.cancel entry.
type orderCancelEntry struct {
	OrderID string `json:"orderId"`
}

// orderRefundEntry is the data of an order.refunded entry.
type orderRefundEntry struct {
	OrderID  string    `json:"orderId"`
	RefundID string    `json:"refundId"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// handleOrderLog registers the pre-order kinds' handlers on l. They never
// refuse: an order's status is the site's (FLEET), which nodes interleave
// with the log differently, so every check is made before Do.
func handleOrderLog(l *hqlog.Log, st *readmodel.Store) {
	l.Handle(KindOrderCreate, func(ctx context.Context, e hqlog.Entry) (any, error) {
		var in orderEntry
		if err := json.Unmarshal(e.Data, &in); err != nil {
			return nil, fmt.Errorf("order.create: %w", err)
		}
		return nil, st.PutOrder(ctx, in.order())
	})
	l.Handle(KindOrderCancel, func(ctx context.Context, e hqlog.Entry) (any, error) {
		var in orderCancelEntry
		if err := json.Unmarshal(e.Data, &in); err != nil {
			return nil, fmt.Errorf("order.cancel: %w", err)
		}
		return nil, nil // the record of the request; the site's CANCELLED event moves the order
	})
	l.Handle(KindOrderRefunded, func(ctx context.Context, e hqlog.Entry) (any, error) {
		var in orderRefundEntry
		if err := json.Unmarshal(e.Data, &in); err != nil {
			return nil, fmt.Errorf("order.refunded: %w", err)
		}
		return nil, st.SetOrderPayment(ctx, in.OrderID, string(payment.Refunded), in.RefundID, envelope.OrderRefunded, in.Reason, in.At)
	})
	handleSubstitutionLog(l, st)
}

// recordOrder records an order the taking node decided: through the HQ
// log when there is one, else straight into this node's read model. An
// entry recorded but not yet applied here counts as recorded; one the log
// refused to take has its payment refunded at once.
func (s *server) recordOrder(ctx context.Context, o readmodel.Order) error {
	if s.cfg.HQLog == nil {
		return s.cfg.Store.PutOrder(ctx, o)
	}
	err := s.cfg.HQLog.Do(ctx, KindOrderCreate, o.Customer, o.OrderID, entryOf(o), nil)
	switch {
	case err == nil, errs.CodeOf(err) == "HQ_LOG_BEHIND", errs.CodeOf(err) == "HQ_LOG_STOPPED":
		// Recorded: every node (this one too, later) will hold the order,
		// so it goes to its site as usual.
		return nil
	case o.PaymentID != "":
		// Not recorded: nothing knows the order, so its payment goes back.
		if _, rerr := s.cfg.Orders.Payments.Refund(ctx, o.PaymentID, 0, o.OrderID+":refund"); rerr != nil {
			s.log.Error().Err(rerr).Str("order", o.OrderID).Str("payment", o.PaymentID).Msg("refund of an order central could not record")
		}
	}
	return err
}

// recordCancel records a customer's request to cancel an order.
func (s *server) recordCancel(ctx context.Context, o readmodel.Order, by string) error {
	if s.cfg.HQLog == nil {
		return nil
	}
	return s.cfg.HQLog.Do(ctx, KindOrderCancel, by, o.OrderID, orderCancelEntry{OrderID: o.OrderID}, nil)
}

// RefundOrder refunds o's captured payment in full through p and records
// it (payment REFUNDED, an event REFUNDED) through l (an order.refunded
// entry every node applies; nil: straight into st). The gateway's
// idempotency key is the order's, so a retried refund returns money once.
func RefundOrder(ctx context.Context, p payment.Provider, st *readmodel.Store, l *hqlog.Log, o readmodel.Order, why string, now time.Time) error {
	if o.PaymentID == "" || o.PaymentStatus != string(payment.Captured) {
		return nil
	}
	ref, err := p.Refund(ctx, o.PaymentID, 0, o.OrderID+":refund")
	if err != nil {
		return fmt.Errorf("refund order %s: %w", o.OrderID, err)
	}
	if l == nil {
		return st.SetOrderPayment(ctx, o.OrderID, string(payment.Refunded), ref.ID, envelope.OrderRefunded, why, now.UTC())
	}
	e := orderRefundEntry{OrderID: o.OrderID, RefundID: ref.ID, Reason: why, At: now.UTC().Truncate(time.Millisecond)}
	if err := l.Do(ctx, KindOrderRefunded, "refunds", o.OrderID, e, nil); err != nil {
		return fmt.Errorf("record refund of order %s: %w", o.OrderID, err)
	}
	return nil
}
