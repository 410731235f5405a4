// Package payment is the site's payments ledger: every sale has one
// payment, and every change of its status (PENDING → AUTHORIZED → CAPTURED,
// FAILED, REFUNDED, VOIDED) is persisted, kept in payment_history, audited
// and sent up to central as a KindPayment event carrying the payment's
// whole state.
//
// Cash, card-terminal and mobile payments are taken by the machine: they
// are recorded CAPTURED with their sale. A GATEWAY payment is taken by the
// edge through the payment provider (internal/payment, Stripe) before its
// sale is recorded, and only while the site is online: each step (PENDING,
// AUTHORIZED) commits before the next gateway call, with an idempotency key
// per step, so a retry of the same sale after a crash or a lost answer
// resumes it and never charges twice. Refunds and voids go through the
// gateway for GATEWAY payments and put the units back into the machine
// when the goods were never dispensed. Gateway confirmations (webhooks) are
// applied once per event id.
//
// No card number is ever stored: a card payment keeps the terminal's
// reference and at most the last 4 digits, and anything that looks like a
// full card number is refused.
package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	gw "github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Config wires the ledger to the gateway.
type Config struct {
	// Provider is the payment gateway; nil refuses GATEWAY sales (503).
	Provider gw.Provider
	// Currency of gateway payments (ISO 4217); empty is EUR.
	Currency string
	// Online reports whether the site is online (its link to central is
	// up); nil is always. GATEWAY sales are refused while it says no.
	Online func() bool
	// WebhookSecret verifies gateway confirmations (Stripe's whsec_…);
	// empty refuses them (503).
	WebhookSecret string
	// Timeout bounds one gateway call; 0 is 15 seconds.
	Timeout time.Duration
}

// Rules keeps the payments ledger.
type Rules struct {
	w     *ingest.Writer
	stock *stock.Rules
	cfg   Config

	update, find, findID, findGateway, lastN, insertConf *ingest.Stmt
	// A payment kept on its sale's row (fold.go).
	findFolded, unfold *ingest.Stmt
	// payments and history are appended at commit (ingest.Tx.Append):
	// every statement that reads or updates them runs after what is
	// held. A payment's id is therefore assigned here, not by SQLite.
	payments, history *ingest.Rows
	lastID            int64 // the highest payment id (ingest.View)

	// The transaction's payment_totals deltas (totals.go).
	totals               map[totalsKey]totals
	totalsOne, oldTotals *ingest.Stmt
	totalsMany           []*ingest.Stmt // by totalsRows
	totalsArgs           []any          // writeTotals' arguments, reused
}

// New returns the payment rules on w (before w.Open).
func New(w *ingest.Writer, st *stock.Rules, cfg Config) *Rules {
	if cfg.Currency == "" {
		cfg.Currency = "EUR"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	r := &Rules{
		w: w, stock: st, cfg: cfg,
		payments: w.PrepareRows("payments", "payment_id", "machine_id", "transaction_id", "product_id", "quantity", "method", "method_name",
			"amount_cents", "status", "card_reference", "card_last4", "day", "sold_at", "created_at", "updated_at"),
		history: w.PrepareRows("payment_history", "payment_id", "n", "from_status", "to_status", "amount_cents", "reason", "reference",
			"performed_by", "performed_at", "seq"),
		update:      w.Prepare(`UPDATE payments SET status = ?, refunded_cents = ?, gateway_id = ?, failure = ?, updated_at = ? WHERE payment_id = ?`),
		find:        w.Prepare(`SELECT ` + cols + ` FROM payments WHERE machine_id = ? AND transaction_id = ?`),
		findID:      w.Prepare(`SELECT ` + cols + ` FROM payments WHERE payment_id = ?`),
		findGateway: w.Prepare(`SELECT ` + cols + ` FROM payments WHERE gateway_id = ?`),
		lastN:       w.Prepare(`SELECT COALESCE(MAX(n), 0) FROM payment_history WHERE payment_id = ?`),
		insertConf: w.Prepare(`INSERT INTO payment_confirmations (event_id, payment_id, event_type, status, applied, received_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`),
	}
	r.prepareTotals(w)
	r.prepareFolds(w)
	w.Register(r)
	return r
}

// Load reads the highest payment id (ingest.View), of payments and of the
// payments kept on their sales' rows.
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	if err := db.QueryRowContext(ctx, `SELECT MAX((SELECT COALESCE(MAX(payment_id), 0) FROM payments),
		(SELECT COALESCE(MAX(payment_id), 0) FROM sales_events WHERE payment_id IS NOT NULL))`).Scan(&r.lastID); err != nil {
		return fmt.Errorf("load payments: %w", err)
	}
	return nil
}

const cols = `payment_id, machine_id, transaction_id, product_id, quantity, method, method_name, amount_cents, refunded_cents, status,
	COALESCE(card_reference, ''), COALESCE(card_last4, ''), COALESCE(gateway_id, ''), COALESCE(failure, ''), day, sold_at, created_at, updated_at, 0`

// row is a payments row.
type row struct {
	id                                 int64
	machine, tx, product               string
	qty                                int64
	method, methodName                 string
	amount, refunded                   int64
	status                             gw.Status
	cardRef, last4, gatewayID, failure string
	day                                string
	soldAt, createdAt, updatedAt       int64
	// folded: kept on its sale's row (fold.go), not in payments.
	folded bool
}

type scanner interface{ Scan(...any) error }

func scan(s scanner) (row, error) {
	var r rowScan
	err := s.Scan(r.dest()...)
	return r.row(), err
}

// rowScan holds the columns of cols as scanned; a list reuses one for all
// its rows (its fields escape to the heap through Scan's ...any: once per
// query, not once per row).
type rowScan struct {
	r  row
	st string
}

func (s *rowScan) dest() []any {
	r := &s.r
	return []any{&r.id, &r.machine, &r.tx, &r.product, &r.qty, &r.method, &r.methodName, &r.amount, &r.refunded, &s.st,
		&r.cardRef, &r.last4, &r.gatewayID, &r.failure, &r.day, &r.soldAt, &r.createdAt, &r.updatedAt, &r.folded}
}

func (s *rowScan) row() row {
	r := s.r
	r.status = gw.Status(s.st)
	return r
}

// Sale is what a sale tells its payment.
type Sale struct {
	MachineID, TransactionID, ProductID string
	Quantity, AmountCents               int64
	// MethodName is the method as the sale named it (UPI), Method the one
	// it belongs to (MOBILE).
	MethodName string
	Method     wire.PaymentMethod
	Card       *edgeapi.CardPayment
	SoldAt     time.Time
}

// panLike matches 13 to 19 digits, spaces or dashes allowed between them:
// what a card number looks like.
var panLike = regexp.MustCompile(`\d(?:[ -]?\d){12,18}`)

// last4 is what card.last4 may hold.
var last4 = regexp.MustCompile(`^\d{4}$`)

// LooksLikePAN reports whether s holds something shaped like a full card
// number (13–19 digits, spaces or dashes allowed between them).
func LooksLikePAN(s string) bool { return panLike.MatchString(s) }

// CheckPayment checks a sale's payment details that need no state: the card
// details (reference and last 4 digits at most, never a card number) and
// the gateway token (required for GATEWAY, no card number either). field
// prefixes the names in errors ("" for a single sale).
func CheckPayment(method wire.PaymentMethod, card *edgeapi.CardPayment, token string) error {
	refused := func(field string) error {
		return errs.Errorf(errs.Invalid, "CARD_NUMBER_REFUSED", field,
			"%s looks like a full card number (13 to 19 digits); send the terminal's reference and at most the last 4 digits — card numbers are never stored", field)
	}
	if card != nil {
		if method != wire.Card {
			return errs.Invalidf("card", "card details belong to a CARD sale, not %s", method)
		}
		if LooksLikePAN(card.Reference) {
			return refused("card.reference")
		}
		if LooksLikePAN(card.Last4) {
			return refused("card.last4")
		}
		if len(card.Reference) > 64 {
			return errs.Invalidf("card.reference", "card.reference is longer than 64 characters")
		}
		if card.Last4 != "" && !last4.MatchString(card.Last4) {
			return errs.Invalidf("card.last4", "card.last4 must be exactly 4 digits (the last 4 of the card, never more)")
		}
	}
	if LooksLikePAN(token) {
		return refused("paymentToken")
	}
	if method == wire.Gateway {
		if token == "" {
			return errs.Invalidf("paymentToken", "a GATEWAY sale needs the gateway's paymentToken (e.g. pm_card_visa)")
		}
		if len(token) > 255 || strings.ContainsAny(token, " \t\r\n") {
			return errs.Invalidf("paymentToken", "paymentToken must be at most 255 characters without spaces")
		}
	} else if token != "" {
		return errs.Invalidf("paymentToken", "paymentToken belongs to a GATEWAY sale, not %s", method)
	}
	return nil
}

// Accepts checks that a machine that accepts the methods accepted (names
// as registered; none: any) takes a sale paid by name. It returns an
// Unprocessable PAYMENT_METHOD_NOT_ACCEPTED naming both.
func Accepts(machineID string, accepted []string, name string, method wire.PaymentMethod) error {
	if len(accepted) == 0 {
		return nil
	}
	for _, a := range accepted {
		if m, err := wire.ParsePaymentMethod(a); err == nil && m == method {
			return nil
		}
	}
	return errs.Errorf(errs.Unprocessable, "PAYMENT_METHOD_NOT_ACCEPTED", "paymentMethod",
		"machine %q does not accept %s; it accepts %s", machineID, name, strings.Join(accepted, ", "))
}

// Paid records the payment of a sale being recorded in t: a new CAPTURED
// payment for a cash, card or mobile sale, or the capture of the GATEWAY
// payment Charge prepared. by is who posted the sale.
func (r *Rules) Paid(t *ingest.Tx, s Sale, by string) error {
	if s.Method != wire.Gateway {
		// The sale is new (Paid runs after its insert), and only Charge
		// writes a payment before its sale: no lookup on the hot path.
		_, err := r.create(t, s, gw.Captured, by, "taken by the machine", true)
		return err
	}
	cur, err := scan(t.QueryRow(r.find, s.MachineID, s.TransactionID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if s.Method == wire.Gateway {
			return errs.Errorf(errs.Conflict, "PAYMENT_NOT_TAKEN", "paymentMethod", "the gateway payment of %q was not taken", s.TransactionID)
		}
		_, err := r.create(t, s, gw.Captured, by, "taken by the machine", true)
		return err
	case err != nil:
		return fmt.Errorf("find payment: %w", err)
	}
	if cur.status != gw.Authorized && cur.status != gw.Captured {
		return errs.Errorf(errs.Conflict, "PAYMENT_NOT_TAKEN", "paymentMethod", "payment %d of %q is %s", cur.id, s.TransactionID, cur.status)
	}
	if cur.status == gw.Captured {
		return nil // a gateway confirmation got there first
	}
	return r.change(t, &cur, gw.Captured, cur.amount, "captured at the gateway", cur.gatewayID, by, 0, true)
}

// create inserts a payment for s in status st, with its first history row.
// withSale says the sale's own event (KindSale) carries the change up.
func (r *Rules) create(t *ingest.Tx, s Sale, st gw.Status, by, reason string, withSale bool) (row, error) {
	var ref, last4 any
	if s.Card != nil {
		if s.Card.Reference != "" {
			ref = s.Card.Reference
		}
		if s.Card.Last4 != "" {
			last4 = s.Card.Last4
		}
	}
	now := t.Now().UnixMilli()
	day := s.SoldAt.In(t.Site().Loc).Format(time.DateOnly)
	r.lastID++
	id := r.lastID
	t.Append(r.payments, id, s.MachineID, s.TransactionID, s.ProductID, s.Quantity, string(s.Method), s.MethodName, s.AmountCents,
		string(st), ref, last4, day, s.SoldAt.UnixMilli(), now, now)
	r.addTotals(day, string(s.Method), totalsOf(st, s.AmountCents, 0))
	cur := row{id: id, machine: s.MachineID, tx: s.TransactionID, product: s.ProductID, qty: s.Quantity, method: string(s.Method),
		methodName: s.MethodName, amount: s.AmountCents, status: st, day: day, soldAt: s.SoldAt.UnixMilli(), createdAt: now, updatedAt: now}
	if s.Card != nil {
		cur.cardRef, cur.last4 = s.Card.Reference, s.Card.Last4
	}
	return cur, r.record(t, &cur, "", st, s.AmountCents, reason, "", by, 0, withSale)
}

// move changes cur's status to st (amount: of the change), recording it
// and sending it up.
func (r *Rules) move(t *ingest.Tx, cur *row, st gw.Status, amount int64, reason, ref, by string, restocked int64) error {
	return r.change(t, cur, st, amount, reason, ref, by, restocked, false)
}

// change is move; withSale says the sale's own event carries it up.
func (r *Rules) change(t *ingest.Tx, cur *row, st gw.Status, amount int64, reason, ref, by string, restocked int64, withSale bool) error {
	from := cur.status
	if st == gw.Refunded {
		cur.refunded = cur.amount
	}
	cur.status, cur.updatedAt = st, t.Now().UnixMilli()
	if st == gw.Failed {
		cur.failure = reason
	}
	if err := r.unfoldIfFolded(t, cur.id); err != nil {
		return err
	}
	k, was, amount, ok, err := r.counted(t, cur.id)
	if err != nil {
		return err
	}
	if _, err := t.Exec(r.update, string(st), cur.refunded, nullable(cur.gatewayID), nullable(cur.failure), cur.updatedAt, cur.id); err != nil {
		return fmt.Errorf("update payment: %w", err)
	}
	if ok {
		r.addTotals(k.day, k.method, totalsOf(st, amount, cur.refunded).minus(was))
	}
	return r.record(t, cur, from, st, amount, reason, ref, by, restocked, withSale)
}

// record writes one history row for a change from → to, its event and
// its audit entry. The capture that comes with a sale sends no event of its
// own: the sale's event says it (central counts the sale under its method),
// so a sale still costs one outbox event.
func (r *Rules) record(t *ingest.Tx, cur *row, from, to gw.Status, amount int64, reason, ref, by string, restocked int64, withSale bool) error {
	var seq any
	if !withSale {
		n, err := t.Emit(envelope.KindPayment, t.Now(), envelope.Payment{
			PaymentID: cur.id, TransactionID: cur.tx, MachineID: cur.machine, ProductID: cur.product, Quantity: cur.qty,
			Method: cur.method, MethodName: cur.methodName, AmountCents: cur.amount, RefundedCents: cur.refunded,
			Status: string(to), Day: cur.day, SoldAt: time.UnixMilli(cur.soldAt).UTC(), Change: string(to), By: by, Restocked: restocked,
		})
		if err != nil {
			return err
		}
		seq = n
	}
	var n int64 // the first change of a new payment is its first row
	if from != "" {
		if err := t.QueryRow(r.lastN, cur.id).Scan(&n); err != nil {
			return fmt.Errorf("payment history: %w", err)
		}
	}
	t.Append(r.history, cur.id, n+1, nullable(string(from)), string(to), amount, reason, ref, by, t.Now().UnixMilli(), seq)
	// Every sale writes a payment: only changes after the first are worth
	// an audit entry of their own (the sale is its own record).
	if from == "" {
		return nil
	}
	return t.Audit("payment", fmt.Sprint(cur.id), string(to), by,
		map[string]any{"from": from, "amount": wire.Money(amount), "reason": reason, "reference": ref, "restocked": restocked})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
