package payment

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/edgeapi"
	gw "github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/sync/wire"
)

// A cash, card or mobile sale's payment is CAPTURED with its sale, by the
// machine, and nothing else is known of it until a refund: its payments
// row and first history row would only repeat the sale. So the sale's own
// row keeps it (sales_events.payment_id and the pay_… columns, migration
// 0022): a plain sale writes no payments row, no history row and none of
// their four index entries (issue 14). Readers see it as a payment like
// any other (foldedCols; Get gives it its first history row). Its first
// change (a refund) moves it to payments, with the first history row it
// would have had, and clears the sale's payment_id (unfoldIfFolded), so
// every change after the sale finds the payment in payments as before.
// The day totals count it when the sale is recorded, like a new payment.

// foldedCols are cols for a payment kept on its sale's row.
const foldedCols = `payment_id, machine_id, transaction_id, product_id, quantity, pay_method, payment_method, amount_cents, 0, 'CAPTURED',
	COALESCE(card_reference, ''), COALESCE(card_last4, ''), '', '', pay_day, event_time, received_at, received_at, 1`

// foldedReason and foldedBy are what the first history row of a payment
// kept on its sale's row says: what create writes for a machine's sale.
const foldedReason = "taken by the machine"

func foldedBy(machineID string) string { return "machine:" + machineID }

func (r *Rules) prepareFolds(w *ingest.Writer) {
	r.findFolded = w.Prepare(`SELECT ` + foldedCols + ` FROM sales_events WHERE payment_id = ?`)
	r.unfold = w.Prepare(`UPDATE sales_events SET payment_id = NULL WHERE machine_id = ? AND transaction_id = ?`)
}

// Folded is the payment of a sale kept on the sale's own row: the values
// of its sales_events columns payment_id, pay_method, pay_day,
// card_reference and card_last4.
type Folded struct {
	ID                int64
	Method, Day       string
	CardRef, CardLast any // nil: none
}

// Foldable reports whether s's payment, paid by by, is kept on its sale's
// row: a cash, card or mobile sale posted by its machine.
func Foldable(s Sale, by string) bool {
	return s.Method != wire.Gateway && by == foldedBy(s.MachineID)
}

// Fold records the payment of a new sale on the sale's own row in t (s is
// Foldable): insert writes the sale's row with f's columns and reports
// whether it did (false: the sale was there already, a replay, and no
// payment is taken). Only then does f's id count as used and the payment
// count in the day totals.
func (r *Rules) Fold(t *ingest.Tx, s Sale, insert func(f Folded) (bool, error)) error {
	f := Folded{ID: r.lastID + 1, Method: string(s.Method), Day: s.SoldAt.In(t.Site().Loc).Format(time.DateOnly)}
	if s.Card != nil {
		if s.Card.Reference != "" {
			f.CardRef = s.Card.Reference
		}
		if s.Card.Last4 != "" {
			f.CardLast = s.Card.Last4
		}
	}
	ok, err := insert(f)
	if err != nil || !ok {
		return err
	}
	r.lastID = f.ID
	r.addTotals(f.Day, f.Method, totalsOf(gw.Captured, s.AmountCents, 0))
	return nil
}

// readFolded reads payment id from its sale's row through q (ErrNoRows
// when no sale keeps it).
func readFolded(q func(query string, args ...any) *sql.Row, id int64) (row, error) {
	return scan(q(`SELECT `+foldedCols+` FROM sales_events WHERE payment_id = ?`, id))
}

// unfoldIfFolded moves payment id from its sale's row to payments, with
// the first history row it would have had there, before its first change.
// The stored row is read here, inside t: a caller's copy may be older.
func (r *Rules) unfoldIfFolded(t *ingest.Tx, id int64) error {
	f, err := scan(t.QueryRow(r.findFolded, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find payment %d: %w", id, err)
	}
	t.Append(r.payments, f.id, f.machine, f.tx, f.product, f.qty, f.method, f.methodName, f.amount,
		string(f.status), nullable(f.cardRef), nullable(f.last4), f.day, f.soldAt, f.createdAt, f.updatedAt)
	t.Append(r.history, f.id, 1, nil, string(gw.Captured), f.amount, foldedReason, "", foldedBy(f.machine), f.createdAt, nil)
	if _, err := t.Exec(r.unfold, f.machine, f.tx); err != nil {
		return fmt.Errorf("move payment %d: %w", id, err)
	}
	return nil
}

// foldedHistory is the history of a payment kept on its sale's row: the
// first row create would have written.
func (c row) foldedHistory() []edgeapi.PaymentChange {
	return []edgeapi.PaymentChange{{N: 1, To: string(gw.Captured), Amount: wire.Money(c.amount), Reason: foldedReason,
		By: foldedBy(c.machine), At: time.UnixMilli(c.createdAt).UTC()}}
}
