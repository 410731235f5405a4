package payment

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	gw "github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/tiebreak"
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
	db := r.w.Store().DB.R
	cur, err := scan(db.QueryRowContext(ctx, `SELECT `+cols+` FROM payments WHERE payment_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		cur, err = readFolded(func(q string, args ...any) *sql.Row { return db.QueryRowContext(ctx, q, args...) }, id)
	}
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
	if cur.folded {
		out.History = cur.foldedHistory()
		return out, nil
	}
	rows, err := r.w.Store().DB.Query(ctx, `SELECT n, COALESCE(from_status, ''), to_status, amount_cents, reason, reference,
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

// List returns the payments q selects, newest first. Day is a site-local
// date (YYYY-MM-DD); an unparsable day selects nothing.
func (r *Rules) List(ctx context.Context, q Query) ([]Payment, error) {
	return r.AppendList(ctx, nil, q)
}

// AppendList is List appending to dst: a caller that lists often can keep
// one array for its lists (edge/api does).
func (r *Rules) AppendList(ctx context.Context, dst []Payment, q Query) ([]Payment, error) {
	if q.Limit <= 0 || q.Limit > MaxList {
		q.Limit = min(max(q.Limit, 100), MaxList)
	}
	query, args, merged := listAllQuery(q, r.w.Store().Site.Loc)
	rows, err := r.w.Store().DB.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	defer rows.Close()
	out := dst
	if out == nil {
		out = make([]Payment, 0, min(q.Limit, 1024)) // at its limit: no regrowth
	}
	start := len(out)
	var sc rowScan
	dest := sc.dest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list payments: %w", err)
		}
		p := sc.row().out()
		if merged && tiebreak.Full(out[start:], &p, q.Limit, sameMillisecond) {
			break
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	if merged {
		// Each millisecond's payments by id, newest first, as SQL's ORDER BY
		// sold_at DESC, payment_id DESC LIMIT has them.
		out = out[:start+len(tiebreak.Finish(out[start:], q.Limit, sameMillisecond, func(a, b Payment) int {
			return cmp.Compare(b.PaymentID, a.PaymentID)
		}))]
	}
	return out, nil
}

func sameMillisecond(a, b *Payment) bool { return a.SoldAt.Equal(b.SoldAt) }

// listQuery is the SQL of List for q: only the filters q sets, so that
// each combination walks one index in sold_at order (payments_sold,
// payments_machine_sold, payments_status_sold) instead of sorting the
// ledger. A day is read as its range of sold_at; "+" keeps the planner off
// indexes that would need a sort (the machine's key).
func listQuery(q Query, loc *time.Location) (string, []any) {
	var where []string
	var args []any
	machine := "machine_id = ?"
	if q.MachineID != "" && q.Status != "" && q.Status != gw.Captured {
		machine = "+machine_id = ?" // the status index is the smaller walk
	}
	if q.MachineID != "" {
		where, args = append(where, machine), append(args, q.MachineID)
	}
	if q.Method != "" {
		where, args = append(where, "method = ?"), append(args, string(q.Method))
	}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(q.Status))
		if q.Status != gw.Captured {
			// The partial index's own term, so the planner sees it applies.
			where = append(where, "status <> 'CAPTURED'")
		}
	}
	if q.Day != "" {
		where, args = append(where, "+day = ?"), append(args, q.Day)
		if d, err := time.ParseInLocation(time.DateOnly, q.Day, loc); err == nil {
			where, args = append(where, "sold_at >= ? AND sold_at < ?"), append(args, d.UnixMilli(), d.AddDate(0, 0, 1).UnixMilli())
		}
	}
	query := `SELECT ` + cols + ` FROM payments`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	return query + ` ORDER BY sold_at DESC, payment_id DESC LIMIT ?`, append(args, q.Limit)
}

// foldedListQuery is listQuery for the payments kept on their sales' rows
// (fold.go), in the same order: a machine's sales by time
// (sales_events_machine_time), or all of them (sales_events_time); only
// sales of equal time are sorted by payment id. ok is false when q
// selects none of them (a status other than CAPTURED).
func foldedListQuery(q Query, loc *time.Location) (query string, args []any, ok bool) {
	if q.Status != "" && q.Status != gw.Captured {
		return "", nil, false
	}
	// "+": the partial index on payment_id gives no sold_at order.
	where := []string{"+payment_id IS NOT NULL"}
	if q.MachineID != "" {
		where, args = append(where, "machine_id = ?"), append(args, q.MachineID)
	}
	if q.Method != "" {
		where, args = append(where, "pay_method = ?"), append(args, string(q.Method))
	}
	if q.Day != "" {
		where, args = append(where, "+pay_day = ?"), append(args, q.Day)
		if d, err := time.ParseInLocation(time.DateOnly, q.Day, loc); err == nil {
			where, args = append(where, "event_time >= ? AND event_time < ?"), append(args, d.UnixMilli(), d.AddDate(0, 0, 1).UnixMilli())
		}
	}
	return `SELECT ` + foldedCols + ` FROM sales_events WHERE ` + strings.Join(where, " AND "), args, true
}

// listAllQuery is the SQL of List: listQuery's payments and the payments
// kept on sales' rows, merged in sold_at order (each part walks its index
// in that order). merged says which: then the rows come by time alone and
// with no LIMIT, and the reader stops after the millisecond its page ends
// in and orders each millisecond's payments by id (internal/tiebreak).
func listAllQuery(q Query, loc *time.Location) (query string, args []any, merged bool) {
	fq, fargs, ok := foldedListQuery(q, loc)
	if !ok {
		query, args = listQuery(q, loc)
		return query, args, false
	}
	query, args = listQuery(Query{MachineID: q.MachineID, Method: q.Method, Status: q.Status, Day: q.Day, Limit: -1}, loc)
	query = strings.TrimSuffix(query, ` ORDER BY sold_at DESC, payment_id DESC LIMIT ?`)
	args = args[:len(args)-1]
	return query + ` UNION ALL ` + fq + ` ORDER BY 16 DESC`, append(args, fargs...), true
}

// Totals sums payments per site-local day and method for the days from
// through to (YYYY-MM-DD, both included): what was taken (captured, refunded
// since or not), what was refunded, the net, and how many failed.
func (r *Rules) Totals(ctx context.Context, from, to string) ([]Total, error) {
	rows, err := r.w.Store().DB.Query(ctx, totalsQuery, from, to)
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

// totalsQuery reads the sums the triggers of migration 0018 keep per day
// and method: a payment counts as taken once captured (refunded ones were
// captured first); a voided authorization was never taken.
const totalsQuery = `SELECT day, method, taken, gross, refunds, refunded, failed
	FROM payment_totals WHERE day >= ? AND day <= ? AND n > 0 ORDER BY day, method`
