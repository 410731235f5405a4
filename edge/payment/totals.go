package payment

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vendsync/vendsync/edge/ingest"
	gw "github.com/vendsync/vendsync/internal/payment"
)

// payment_totals (read by GET /reports/payments) holds per site-local day
// and method what the ledger's payments add up to. Every payment the
// ledger inserts or changes adds its delta to a sum kept for the
// transaction (create, change); the group commit writes one upsert per day
// and method however many payments of the batch it counts (writeTotals).
// A failed transaction forgets its sums (ingest.Writer.OnCommit).

// totals is what payments add to their payment_totals row (its columns).
type totals struct{ n, taken, gross, refunds, refunded, failed int64 }

// totalsKey is a payment_totals row's key.
type totalsKey struct{ day, method string }

// totalsOf is what one payment in status st counts for: n counts every
// payment; taken, gross and refunded count the captured ones (refunded
// ones were captured first); refunds the refunded ones, failed the failed
// ones.
func totalsOf(st gw.Status, amount, refunded int64) totals {
	v := totals{n: 1}
	if st == gw.Captured || st == gw.Refunded {
		v.taken, v.gross, v.refunded = 1, amount, refunded
	}
	if st == gw.Refunded {
		v.refunds = 1
	}
	if st == gw.Failed {
		v.failed = 1
	}
	return v
}

func (a totals) plus(b totals) totals {
	return totals{a.n + b.n, a.taken + b.taken, a.gross + b.gross, a.refunds + b.refunds, a.refunded + b.refunded, a.failed + b.failed}
}

func (a totals) minus(b totals) totals {
	return totals{a.n - b.n, a.taken - b.taken, a.gross - b.gross, a.refunds - b.refunds, a.refunded - b.refunded, a.failed - b.failed}
}

// addTotals adds d to the transaction's sum for day and method.
func (r *Rules) addTotals(day, method string, d totals) {
	k := totalsKey{day, method}
	r.totals[k] = r.totals[k].plus(d)
}

// totalsRows are the sizes of the multi-row upserts of payment_totals,
// largest first: a batch of sales usually counts under one or two days and
// a few methods.
var totalsRows = []int{8, 4, 2}

// totalsCols is how many values one payment_totals row binds.
const totalsCols = 8

// totalsUpsert adds rows rows to payment_totals.
func totalsUpsert(rows int) string {
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", rows), ", ")
	return `INSERT INTO payment_totals (day, method, n, taken, gross, refunds, refunded, failed) VALUES ` + values + `
		ON CONFLICT (day, method) DO UPDATE SET n = n + excluded.n, taken = taken + excluded.taken, gross = gross + excluded.gross,
		refunds = refunds + excluded.refunds, refunded = refunded + excluded.refunded, failed = failed + excluded.failed`
}

// prepareTotals prepares the upserts and registers the sums with the
// writer's commit.
func (r *Rules) prepareTotals(w *ingest.Writer) {
	r.totals = map[totalsKey]totals{}
	r.totalsOne = w.Prepare(totalsUpsert(1))
	for _, n := range totalsRows {
		r.totalsMany = append(r.totalsMany, w.Prepare(totalsUpsert(n)))
	}
	r.oldTotals = w.Prepare(`SELECT day, method, status, amount_cents, refunded_cents FROM payments WHERE payment_id = ?`)
	w.OnCommit(func() { clear(r.totals) }, r.writeTotals)
}

// writeTotals writes the transaction's sums: one upsert per day and method
// (several to a statement), none for a sum that nets to nothing.
func (r *Rules) writeTotals(t *ingest.Tx) error {
	args := r.totalsArgs[:0]
	for k, v := range r.totals {
		if v == (totals{}) {
			continue
		}
		args = append(args, k.day, k.method, v.n, v.taken, v.gross, v.refunds, v.refunded, v.failed)
	}
	clear(r.totals)
	r.totalsArgs = args[:0]
	for len(args) > 0 {
		st, n := r.totalsOne, 1
		for i, rows := range totalsRows {
			if len(args) >= rows*totalsCols {
				st, n = r.totalsMany[i], rows
				break
			}
		}
		if _, err := t.Exec(st, args[:n*totalsCols]...); err != nil {
			return fmt.Errorf("update payment totals: %w", err)
		}
		args = args[n*totalsCols:]
	}
	clear(r.totalsArgs[:cap(r.totalsArgs)])
	return nil
}

// counted is what payment id counts for now, as stored, and its day and
// method; ok is false when there is no such payment. A change reads it
// rather than trusting its caller's copy of the row, which may come from
// an earlier transaction (Charge).
func (r *Rules) counted(t *ingest.Tx, id int64) (k totalsKey, v totals, amount int64, ok bool, err error) {
	var st string
	var refunded int64
	err = t.QueryRow(r.oldTotals, id).Scan(&k.day, &k.method, &st, &amount, &refunded)
	if errors.Is(err, sql.ErrNoRows) {
		return k, v, 0, false, nil
	}
	if err != nil {
		return k, v, 0, false, fmt.Errorf("read payment %d: %w", id, err)
	}
	return k, totalsOf(gw.Status(st), amount, refunded), amount, true, nil
}
