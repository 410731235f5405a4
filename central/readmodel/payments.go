package readmodel

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

const (
	selectPaymentState = `SELECT status, seq FROM payments WHERE site = ? AND payment_id = ?`
	upsertPayment      = `INSERT INTO payments (site, payment_id, machine_id, transaction_id, method, method_name, amount_cents,
		refunded_cents, status, day, seq, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, payment_id) DO UPDATE SET refunded_cents = excluded.refunded_cents, status = excluded.status,
		seq = excluded.seq, updated_at = excluded.updated_at WHERE excluded.seq > payments.seq`
	addPaymentDay = `INSERT INTO payment_days (site, day, method, payments, gross_cents, refunds, refunded_cents, failed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, day, method) DO UPDATE SET
		payments = payments + excluded.payments, gross_cents = gross_cents + excluded.gross_cents,
		refunds = refunds + excluded.refunds, refunded_cents = refunded_cents + excluded.refunded_cents,
		failed = failed + excluded.failed`
	addPaymentFleetDay = `INSERT INTO payment_days_fleet (day, method, payments, gross_cents, refunds, refunded_cents, failed)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, method) DO UPDATE SET
		payments = payments + excluded.payments, gross_cents = gross_cents + excluded.gross_cents,
		refunds = refunds + excluded.refunds, refunded_cents = refunded_cents + excluded.refunded_cents,
		failed = failed + excluded.failed`
)

// addPaymentDay adds to site's totals of day and method and to the fleet's.
func (k *sqliteSink) addPaymentDay(ctx context.Context, site, day, method string, n, cents, refunds, refunded, failed int64) error {
	if err := k.s.exec(ctx, addPaymentDay, site, day, method, n, cents, refunds, refunded, failed); err != nil {
		return err
	}
	return k.s.exec(ctx, addPaymentFleetDay, day, method, n, cents, refunds, refunded, failed)
}

// paymentSink is what ApplyBatch asks of a Sink that keeps payment totals
// (the SQLite one does; another store may leave it out).
type paymentSink interface {
	// addPaymentSales counts each sale whose counts[i] is true (new to the
	// read model) as a payment taken on its site-local day (in loc).
	addPaymentSales(ctx context.Context, site string, sales []aggregate.SaleRow, counts []bool, loc *time.Location) error
}

var _ paymentSink = (*sqliteSink)(nil)

// paymentMethod is the method a sale's paymentMethod belongs to; the name
// itself for an older sale outside the closed set.
func paymentMethod(name string) string {
	if m, err := wire.ParsePaymentMethod(name); err == nil {
		return string(m)
	}
	return strings.ToUpper(name)
}

type paymentDay struct{ day, method string }

func (k *sqliteSink) addPaymentSales(ctx context.Context, site string, sales []aggregate.SaleRow, counts []bool, loc *time.Location) error {
	type sum struct{ n, cents int64 }
	days := map[paymentDay]*sum{}
	for i, sl := range sales {
		if i >= len(counts) || !counts[i] {
			continue
		}
		key := paymentDay{sl.Time.In(loc).Format(time.DateOnly), paymentMethod(sl.PaymentMethod)}
		v := days[key]
		if v == nil {
			v = &sum{}
			days[key] = v
		}
		v.n++
		v.cents += sl.AmountCents
	}
	for key, v := range days {
		if err := k.addPaymentDay(ctx, site, key.day, key.method, v.n, v.cents, 0, 0, 0); err != nil {
			return fmt.Errorf("payment totals: %w", err)
		}
	}
	return nil
}

// upsertPayment records f when it is a payment fact (ok false otherwise):
// the payment's state unless a newer event already gave it, and, when the
// payment has just become REFUNDED or FAILED, that refund or failure in
// its day's totals (once: a payment reaches each at most once).
func (k *sqliteSink) upsertPayment(ctx context.Context, site string, f aggregate.Fact) (ok bool, err error) {
	d, ok := f.Data.(*envelope.Payment)
	if !ok {
		return false, nil
	}
	var prev string
	var prevSeq int64
	rows, err := k.s.query(ctx, selectPaymentState, site, d.PaymentID)
	if err != nil {
		return true, fmt.Errorf("read payment: %w", err)
	}
	found := rows.Next()
	if found {
		err = rows.Scan(&prev, &prevSeq)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return true, fmt.Errorf("read payment: %w", err)
	}
	if found && prevSeq >= int64(f.Seq) {
		return true, nil
	}
	if err := k.s.exec(ctx, upsertPayment, site, d.PaymentID, d.MachineID, d.TransactionID, d.Method, d.MethodName,
		d.AmountCents, d.RefundedCents, d.Status, d.Day, int64(f.Seq), ms(f.Time)); err != nil {
		return true, err
	}
	var refunds, refunded, failed int64
	switch {
	case d.Status == "REFUNDED" && prev != "REFUNDED":
		refunds, refunded = 1, d.RefundedCents
	case d.Status == "FAILED" && prev != "FAILED":
		failed = 1
	default:
		return true, nil
	}
	return true, k.addPaymentDay(ctx, site, d.Day, paymentMethod(d.Method), 0, 0, refunds, refunded, failed)
}

// PaymentQuery selects a payment report: one site ("" all) and the
// site-local days from through to (YYYY-MM-DD, both included).
type PaymentQuery struct {
	Site     string
	From, To string
}

// PaymentDay is one day's payments of one method, summed over the sites
// the query selects (cents).
type PaymentDay struct {
	Day, Method       string
	Payments, Gross   int64
	Refunds, Refunded int64
	Failed            int64
}

// PaymentResult is a payment report with the freshness of the sites in it.
type PaymentResult struct {
	Rows      []PaymentDay
	Freshness []Freshness
}

// paymentsSQL is the query of PaymentReport and its arguments: one site's
// rows, or the fleet's totals kept beside them.
func paymentsSQL(q PaymentQuery) (string, []any) {
	if q.Site == "" {
		return `SELECT day, method, payments, gross_cents, refunds, refunded_cents, failed
		FROM payment_days_fleet WHERE day >= ?1 AND day <= ?2 ORDER BY day, method`, []any{q.From, q.To}
	}
	return `SELECT day, method, SUM(payments), SUM(gross_cents), SUM(refunds), SUM(refunded_cents), SUM(failed)
		FROM payment_days WHERE site = ?1 AND day >= ?2 AND day <= ?3 GROUP BY day, method ORDER BY day, method`, []any{q.Site, q.From, q.To}
}

// PaymentReport sums payments per site-local day and method: taken, refunded
// and failed, net of refunds in the caller's hands (Gross - Refunded).
func (s *Store) PaymentReport(ctx context.Context, q PaymentQuery) (PaymentResult, error) {
	query, args := paymentsSQL(q)
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return PaymentResult{}, fmt.Errorf("query payments: %w", err)
	}
	defer rows.Close()
	var res PaymentResult
	for rows.Next() {
		var r PaymentDay
		if err := rows.Scan(&r.Day, &r.Method, &r.Payments, &r.Gross, &r.Refunds, &r.Refunded, &r.Failed); err != nil {
			return PaymentResult{}, fmt.Errorf("query payments: %w", err)
		}
		res.Rows = append(res.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return PaymentResult{}, fmt.Errorf("query payments: %w", err)
	}
	if res.Freshness, err = s.freshness(ctx, "", q.Site); err != nil {
		return PaymentResult{}, err
	}
	return res, nil
}
