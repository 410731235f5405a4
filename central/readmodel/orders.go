package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/envelope"
)

// ErrOrderNotFound is returned for an order this node does not know.
var ErrOrderNotFound = errors.New("order not found")

// Order is a pre-order as central holds it.
type Order struct {
	OrderID, Site, MachineID, Customer string
	Status, Reason                     string
	Lines                              []envelope.OrderLine
	GrossCents, DiscountCents          int64
	TotalCents                         int64
	Currency, PromoCode                string
	Code, Token                        string
	PaymentID, PaymentStatus, RefundID string
	PlacedAt, ReadyAt, ExpiresAt       time.Time
	UpdatedAt                          time.Time
	// Substitution is the site's substitute offer (nil: none);
	// SubstitutionAnswer the customer's answer recorded at central
	// (SubstitutionAccept, SubstitutionRefuse or ""); SubstitutionRefundID
	// the gateway's id of the refund of the units refused.
	Substitution                             *envelope.Substitution
	SubstitutionAnswer, SubstitutionRefundID string
}

// OrderEvent is one status change of an order, numbered by this node.
type OrderEvent struct {
	ID      int64
	OrderID string
	Status  string
	Reason  string
	At      time.Time
}

const (
	orderCols   = `order_id, site, machine_id, customer, status, reason, lines, gross_cents, discount_cents, total_cents, currency, promo_code, code, token, payment_id, payment_status, refund_id, placed_at, ready_at, expires_at, updated_at`
	insertOrder = `INSERT INTO orders (` + orderCols + `, site_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (order_id) DO UPDATE SET gross_cents = excluded.gross_cents, discount_cents = excluded.discount_cents,
			total_cents = excluded.total_cents, currency = excluded.currency, promo_code = excluded.promo_code, code = excluded.code,
			token = excluded.token, payment_id = excluded.payment_id, payment_status = excluded.payment_status,
			ready_at = excluded.ready_at, expires_at = excluded.expires_at`
	// orderReadCols are the columns scanOrderRow reads.
	orderReadCols    = orderCols + `, substitution, substitution_answer, substitution_refund_id`
	insertOrderEvent = `INSERT INTO order_events (order_id, status, reason, at) VALUES (?, ?, ?, ?)`
	selectOrderSeq   = `SELECT site_seq FROM orders WHERE order_id = ?`
	// A site's event: the first one creates the order on a node that did
	// not take it; a later one moves its status. Older events change nothing.
	// A substitution changes the lines (the site's are the truth).
	upsertOrderStatus = `INSERT INTO orders (order_id, site, machine_id, customer, status, reason, lines, placed_at, updated_at, site_seq, substitution)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
			updated_at = excluded.updated_at, site_seq = excluded.site_seq, lines = excluded.lines, substitution = excluded.substitution
		WHERE excluded.site_seq > orders.site_seq`
	// The units held for pre-orders at a site, per product: the hook of the
	// nearest-site query and the menu (site_reservations).
	sumReserved = `SELECT COALESCE(SUM(json_extract(j.value, '$.quantity')), 0) FROM orders o, json_each(o.lines) j
		WHERE o.site = ? AND o.status IN ('PENDING', 'ACCEPTED', 'SUBSTITUTION_OFFERED') AND json_extract(j.value, '$.productId') = ?`
	setPayment          = `UPDATE orders SET payment_status = ?, refund_id = ?, updated_at = ? WHERE order_id = ?`
	selectPaymentStatus = `SELECT payment_status FROM orders WHERE order_id = ?`
)

// upsertOrder records f when it is an order's status change; ok is false
// for any other fact.
func (k *sqliteSink) upsertOrder(ctx context.Context, site string, f aggregate.Fact) (ok bool, err error) {
	d, ok := f.Data.(*envelope.OrderEvent)
	if !ok {
		return false, nil
	}
	var seq int64
	switch err := k.s.queryRow(ctx, selectOrderSeq, d.OrderID).Scan(&seq); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return true, fmt.Errorf("order %s: %w", d.OrderID, err)
	}
	if int64(f.Seq) <= seq {
		return true, nil // already applied (a redelivery)
	}
	lines, err := json.Marshal(d.Lines)
	if err != nil {
		return true, err
	}
	sub := ""
	products := d.Lines
	if d.Substitution != nil {
		b, err := json.Marshal(d.Substitution)
		if err != nil {
			return true, err
		}
		sub = string(b)
		for _, l := range d.Substitution.Lines { // their reserved counts may change too
			products = append(products[:len(products):len(products)], envelope.OrderLine{ProductID: l.ProductID}, envelope.OrderLine{ProductID: l.SubstituteID})
		}
	}
	at := ms(f.Time)
	if err := k.s.exec(ctx, upsertOrderStatus, d.OrderID, site, d.MachineID, d.Customer, d.Status, d.Reason, string(lines), at, at, int64(f.Seq), sub); err != nil {
		return true, err
	}
	if err := k.s.exec(ctx, insertOrderEvent, d.OrderID, d.Status, d.Reason, at); err != nil {
		return true, err
	}
	for _, l := range products {
		var units int64
		if err := k.s.queryRow(ctx, sumReserved, site, l.ProductID).Scan(&units); err != nil {
			return true, fmt.Errorf("reserved %s/%s: %w", site, l.ProductID, err)
		}
		if err := k.s.exec(ctx, upsertReserved, site, l.ProductID, units, k.now); err != nil {
			return true, err
		}
	}
	return true, nil
}

// PutOrder records an order taken at central (status PLACED, paid) and its
// first event. A site event that arrived first keeps its status. Inside an
// HQ log entry (order.create) it joins the entry's transaction.
func (s *Store) PutOrder(ctx context.Context, o Order) error {
	lines, err := json.Marshal(o.Lines)
	if err != nil {
		return err
	}
	return s.WriteTx(ctx, func(ctx context.Context, tx *WTx) error {
		if _, err := tx.Exec(ctx, insertOrder, o.OrderID, o.Site, o.MachineID, o.Customer, o.Status, o.Reason, string(lines), o.GrossCents,
			o.DiscountCents, o.TotalCents, o.Currency, o.PromoCode, o.Code, o.Token, o.PaymentID, o.PaymentStatus, o.RefundID,
			ms(o.PlacedAt), ms(o.ReadyAt), ms(o.ExpiresAt), ms(o.UpdatedAt)); err != nil {
			return fmt.Errorf("put order %s: %w", o.OrderID, err)
		}
		if _, err := tx.Exec(ctx, insertOrderEvent, o.OrderID, o.Status, o.Reason, ms(o.UpdatedAt)); err != nil {
			return fmt.Errorf("put order %s: %w", o.OrderID, err)
		}
		return nil
	})
}

// SetOrderPayment records a change of an order's payment (a refund) and
// its event (status is the event's, e.g. REFUNDED). A payment already in
// paymentStatus records nothing, so a refund recorded twice (two nodes,
// a retry) shows once. Inside an HQ log entry (order.refunded) it joins
// the entry's transaction.
func (s *Store) SetOrderPayment(ctx context.Context, orderID, paymentStatus, refundID, status, reason string, at time.Time) error {
	return s.WriteTx(ctx, func(ctx context.Context, tx *WTx) error {
		var cur string
		switch err := tx.QueryRow(ctx, selectPaymentStatus, orderID).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("order %s payment: %w", orderID, err)
		case cur == paymentStatus:
			return nil
		}
		if _, err := tx.Exec(ctx, setPayment, paymentStatus, refundID, ms(at), orderID); err != nil {
			return fmt.Errorf("order %s payment: %w", orderID, err)
		}
		if _, err := tx.Exec(ctx, insertOrderEvent, orderID, status, reason, ms(at)); err != nil {
			return fmt.Errorf("order %s payment: %w", orderID, err)
		}
		return nil
	})
}

func scanOrderRow(row interface{ Scan(...any) error }) (Order, error) {
	var o Order
	var lines, sub string
	var placed, ready, expires, updated int64
	err := row.Scan(&o.OrderID, &o.Site, &o.MachineID, &o.Customer, &o.Status, &o.Reason, &lines, &o.GrossCents, &o.DiscountCents,
		&o.TotalCents, &o.Currency, &o.PromoCode, &o.Code, &o.Token, &o.PaymentID, &o.PaymentStatus, &o.RefundID, &placed, &ready, &expires, &updated,
		&sub, &o.SubstitutionAnswer, &o.SubstitutionRefundID)
	if err != nil {
		return Order{}, err
	}
	if err := json.Unmarshal([]byte(lines), &o.Lines); err != nil {
		return Order{}, fmt.Errorf("order %s lines: %w", o.OrderID, err)
	}
	if sub != "" {
		o.Substitution = &envelope.Substitution{}
		if err := json.Unmarshal([]byte(sub), o.Substitution); err != nil {
			return Order{}, fmt.Errorf("order %s substitution: %w", o.OrderID, err)
		}
	}
	o.PlacedAt, o.ReadyAt, o.ExpiresAt, o.UpdatedAt = fromMS(placed), fromMS(ready), fromMS(expires), fromMS(updated)
	return o, nil
}

// GetOrder returns one order, or an error wrapping ErrOrderNotFound.
func (s *Store) GetOrder(ctx context.Context, id string) (Order, error) {
	o, err := scanOrderRow(s.db.QueryRow(ctx, `SELECT `+orderReadCols+` FROM orders WHERE order_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, fmt.Errorf("%w: %s", ErrOrderNotFound, id)
	}
	if err != nil {
		return Order{}, fmt.Errorf("order %s: %w", id, err)
	}
	return o, nil
}

// OrderFilter selects orders: by site, status and customer ("" any).
type OrderFilter struct {
	Site, Status, Customer string
	Limit                  int
}

// ordersSQL is the query of Orders (f.Limit set) and its arguments.
func ordersSQL(f OrderFilter) (string, []any) {
	var w filter
	w.eq("site", f.Site)
	w.eq("status", f.Status)
	w.eq("customer", f.Customer)
	return `SELECT ` + orderReadCols + ` FROM orders` + w.where() + `
		ORDER BY placed_at DESC, order_id LIMIT ?`, append(w.args, f.Limit)
}

// Orders lists orders, newest first.
func (s *Store) Orders(ctx context.Context, f OrderFilter) ([]Order, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	query, args := ordersSQL(f)
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		o, err := scanOrderRow(rows)
		if err != nil {
			return nil, fmt.Errorf("list orders: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// RefundDue lists orders paid at central that their site closed without
// a pickup (EXPIRED, REJECTED, CANCELLED) and that are not yet refunded.
// Every node knows every paid order (the HQ log's order.create).
func (s *Store) RefundDue(ctx context.Context) ([]Order, error) {
	rows, err := s.db.Query(ctx, `SELECT `+orderReadCols+` FROM orders
		WHERE payment_status = 'CAPTURED' AND status IN ('EXPIRED', 'REJECTED', 'CANCELLED') ORDER BY updated_at LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("orders due a refund: %w", err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrderRow(rows)
		if err != nil {
			return nil, fmt.Errorf("orders due a refund: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OrderEvents returns the status changes of an order after event id after,
// oldest first.
func (s *Store) OrderEvents(ctx context.Context, orderID string, after int64) ([]OrderEvent, error) {
	rows, err := s.db.Query(ctx, `SELECT id, order_id, status, reason, at FROM order_events
		WHERE order_id = ? AND id > ? ORDER BY id LIMIT 100`, orderID, after)
	if err != nil {
		return nil, fmt.Errorf("order events %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []OrderEvent
	for rows.Next() {
		var e OrderEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.OrderID, &e.Status, &e.Reason, &at); err != nil {
			return nil, fmt.Errorf("order events %s: %w", orderID, err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
