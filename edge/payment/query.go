package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	gw "github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/sync/wire"
)

// The wire types of the ledger's answers and bodies.
type (
	// Payment is edgeapi.Payment.
	Payment = edgeapi.Payment
	// RefundIn is edgeapi.RefundIn.
	RefundIn = edgeapi.RefundIn
	// WebhookResult is edgeapi.WebhookResult.
	WebhookResult = edgeapi.WebhookResult
	// Total is edgeapi.PaymentTotal.
	Total = edgeapi.PaymentTotal
)

// read reads payment id through the reader pool.
func (r *Rules) read(ctx context.Context, id int64) (row, error) {
	cur, err := scan(r.w.Store().DB.R.QueryRowContext(ctx, `SELECT `+cols+` FROM payments WHERE payment_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, errs.NotFoundf("id", "no payment %d", id)
	}
	if err != nil {
		return row{}, fmt.Errorf("read payment: %w", err)
	}
	return cur, nil
}

// out maps a row to its wire form.
func (c row) out() Payment {
	p := Payment{PaymentID: c.id, TransactionID: c.tx, MachineID: c.machine, ProductID: c.product, Quantity: c.qty,
		Method: c.method, MethodName: c.methodName, Amount: wire.Money(c.amount), Refunded: wire.Money(c.refunded),
		Status: string(c.status), GatewayID: c.gatewayID, Failure: c.failure, Day: c.day,
		SoldAt: time.UnixMilli(c.soldAt).UTC(), CreatedAt: time.UnixMilli(c.createdAt).UTC(), UpdatedAt: time.UnixMilli(c.updatedAt).UTC()}
	if c.cardRef != "" || c.last4 != "" {
		p.Card = &edgeapi.CardPayment{Reference: c.cardRef, Last4: c.last4}
	}
	return p
}

// Get returns payment id with its history, or NotFound.
func (r *Rules) Get(ctx context.Context, id int64) (Payment, error) {
	cur, err := r.read(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	out := cur.out()
	rows, err := r.w.Store().DB.R.QueryContext(ctx, `SELECT n, COALESCE(from_status, ''), to_status, amount_cents, reason, reference,
		performed_by, performed_at, COALESCE(seq, 0) FROM payment_history WHERE payment_id = ? ORDER BY n`, id)
	if err != nil {
		return Payment{}, fmt.Errorf("payment history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c edgeapi.PaymentChange
		var amount, at int64
		if err := rows.Scan(&c.N, &c.From, &c.To, &amount, &c.Reason, &c.Reference, &c.By, &at, &c.Sequence); err != nil {
			return Payment{}, fmt.Errorf("payment history: %w", err)
		}
		c.Amount, c.At = wire.Money(amount), time.UnixMilli(at).UTC()
		out.History = append(out.History, c)
	}
	if err := rows.Err(); err != nil {
		return Payment{}, fmt.Errorf("payment history: %w", err)
	}
	return out, nil
}

// Query selects payments: each filter empty is any. Day is a site-local
// date (YYYY-MM-DD).
type Query struct {
	MachineID string
	Method    wire.PaymentMethod
	Status    gw.Status
	Day       string
	Limit     int
}

// MaxList bounds one answer of List.
const MaxList = 1000

// List returns the payments q selects, newest first.
func (r *Rules) List(ctx context.Context, q Query) ([]Payment, error) {
	if q.Limit <= 0 || q.Limit > MaxList {
		q.Limit = min(max(q.Limit, 100), MaxList)
	}
	rows, err := r.w.Store().DB.R.QueryContext(ctx, `SELECT `+cols+` FROM payments
		WHERE (?1 = '' OR machine_id = ?1) AND (?2 = '' OR method = ?2) AND (?3 = '' OR status = ?3) AND (?4 = '' OR day = ?4)
		ORDER BY sold_at DESC, payment_id DESC LIMIT ?5`, q.MachineID, string(q.Method), string(q.Status), q.Day, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	defer rows.Close()
	out := []Payment{}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list payments: %w", err)
		}
		out = append(out, c.out())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	return out, nil
}

// Totals sums payments per site-local day and method for the days from
// through to (YYYY-MM-DD, both included): what was taken (captured, refunded
// since or not), what was refunded, the net, and how many failed.
func (r *Rules) Totals(ctx context.Context, from, to string) ([]Total, error) {
	rows, err := r.w.Store().DB.R.QueryContext(ctx, totalsQuery, from, to)
	if err != nil {
		return nil, fmt.Errorf("payment totals: %w", err)
	}
	defer rows.Close()
	out := []Total{}
	for rows.Next() {
		var t Total
		var gross, refunded int64
		if err := rows.Scan(&t.Day, &t.Method, &t.Payments, &gross, &t.Refunds, &refunded, &t.Failed); err != nil {
			return nil, fmt.Errorf("payment totals: %w", err)
		}
		t.Gross, t.Refunded, t.Net = wire.Money(gross), wire.Money(refunded), wire.Money(gross-refunded)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("payment totals: %w", err)
	}
	return out, nil
}

// totalsQuery: a payment counts as taken once captured (refunded ones were
// captured first); a voided authorization was never taken.
const totalsQuery = `SELECT day, method,
	SUM(status IN ('CAPTURED', 'REFUNDED')),
	COALESCE(SUM(CASE WHEN status IN ('CAPTURED', 'REFUNDED') THEN amount_cents END), 0),
	SUM(status = 'REFUNDED'),
	COALESCE(SUM(CASE WHEN status IN ('CAPTURED', 'REFUNDED') THEN refunded_cents END), 0),
	SUM(status = 'FAILED')
	FROM payments WHERE day >= ? AND day <= ? GROUP BY day, method ORDER BY day, method`
