package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The customer's answers to substitute offers, as central records them.
const (
	SubstitutionAccept = "ACCEPT"
	SubstitutionRefuse = "REFUSE"
)

// SetSubstitutionAnswer records the customer's answer to order's
// substitute offer unless one is recorded already; it returns the answer
// in force (answer if it was taken). Inside an HQ log entry
// (order.substitution) it joins the entry's transaction, so every node
// keeps the same first answer.
func (s *Store) SetSubstitutionAnswer(ctx context.Context, orderID, answer string, at time.Time) (string, error) {
	var cur string
	err := s.WriteTx(ctx, func(ctx context.Context, tx *WTx) error {
		switch err := tx.QueryRow(ctx, `SELECT substitution_answer FROM orders WHERE order_id = ?`, orderID).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: %s", ErrOrderNotFound, orderID)
		case err != nil:
			return fmt.Errorf("order %s answer: %w", orderID, err)
		case cur != "":
			return nil
		}
		cur = answer
		if _, err := tx.Exec(ctx, `UPDATE orders SET substitution_answer = ?, updated_at = MAX(updated_at, ?) WHERE order_id = ?`, answer, ms(at), orderID); err != nil {
			return fmt.Errorf("order %s answer: %w", orderID, err)
		}
		return nil
	})
	return cur, err
}

// SubstitutionRefundDue lists orders paid at central whose site reported
// a refused substitute offer (units dropped, RefundCents to give back)
// not yet refunded. An order closed without a pickup (EXPIRED, REJECTED,
// CANCELLED) is left to RefundDue, which refunds what is left in full.
func (s *Store) SubstitutionRefundDue(ctx context.Context) ([]Order, error) {
	rows, err := s.db.Query(ctx, `SELECT `+orderReadCols+` FROM orders
		WHERE payment_status = 'CAPTURED' AND substitution_refund_id = '' AND substitution <> ''
			AND json_extract(substitution, '$.state') = 'REFUSED' AND COALESCE(json_extract(substitution, '$.refundCents'), 0) > 0
			AND status NOT IN ('EXPIRED', 'REJECTED', 'CANCELLED')
		ORDER BY updated_at LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("substitutions due a refund: %w", err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrderRow(rows)
		if err != nil {
			return nil, fmt.Errorf("substitutions due a refund: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OrderPartlyRefunded is the event of a partial refund of an order (units
// of a refused substitute offer); the order's status does not change.
const OrderPartlyRefunded = "PARTLY_REFUNDED"

// SetSubstitutionRefund records the refund of an order's refused
// substitute units and its event (PARTLY_REFUNDED); a refund already
// recorded records nothing. Inside an HQ log entry
// (order.substitution_refunded) it joins the entry's transaction.
func (s *Store) SetSubstitutionRefund(ctx context.Context, orderID, refundID, reason string, at time.Time) error {
	return s.WriteTx(ctx, func(ctx context.Context, tx *WTx) error {
		var cur string
		switch err := tx.QueryRow(ctx, `SELECT substitution_refund_id FROM orders WHERE order_id = ?`, orderID).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("order %s substitution refund: %w", orderID, err)
		case cur != "":
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET substitution_refund_id = ?, updated_at = MAX(updated_at, ?) WHERE order_id = ?`, refundID, ms(at), orderID); err != nil {
			return fmt.Errorf("order %s substitution refund: %w", orderID, err)
		}
		if _, err := tx.Exec(ctx, insertOrderEvent, orderID, OrderPartlyRefunded, reason, ms(at)); err != nil {
			return fmt.Errorf("order %s substitution refund: %w", orderID, err)
		}
		return nil
	})
}
