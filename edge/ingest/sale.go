package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// SaleIn is a sale as a machine posts it (seed 000 POST /events/sales).
type SaleIn struct {
	TransactionID string      `json:"transactionId"`
	MachineID     string      `json:"machineId"`
	ProductID     string      `json:"productId"`
	Quantity      *int64      `json:"quantity"`
	Amount        *wire.Money `json:"amount"`
	PaymentMethod string      `json:"paymentMethod"`
	Timestamp     string      `json:"timestamp"`
}

// SaleResult is the answer to an accepted sale; a replay gets the same one.
type SaleResult struct {
	Status        string `json:"status"`
	TransactionID string `json:"transactionId"`
	Sequence      uint64 `json:"sequence"`
	Replayed      bool   `json:"-"`
}

// MaxIDLen bounds identifiers (machine, product, transaction ids).
const MaxIDLen = 64

// MaxSaleQuantity bounds one sale's quantity.
const MaxSaleQuantity = 1000

var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ValidID checks an identifier: 1 to 64 printable characters without spaces.
func ValidID(field, v string) *web.Error {
	if v == "" {
		return web.Invalid(field, "%s is required", field)
	}
	if len(v) > MaxIDLen {
		return web.Invalid(field, "%s is longer than %d characters", field, MaxIDLen)
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return web.Invalid(field, "%s must not contain spaces or control characters", field)
		}
	}
	return nil
}

// ParseTimestamp parses an RFC 3339 event timestamp and checks it is not
// before 2000 nor more than skew ahead of now.
func ParseTimestamp(field, v string, now time.Time, skew time.Duration) (time.Time, *web.Error) {
	if v == "" {
		return time.Time{}, web.Invalid(field, "%s is required (RFC 3339, e.g. 2025-01-10T10:15:30Z)", field)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, web.Invalid(field, "%s %q is not an RFC 3339 time such as 2025-01-10T10:15:30Z", field, v)
	}
	if t.Before(earliest) {
		return time.Time{}, web.Invalid(field, "%s %s is before 2000", field, v)
	}
	if t.After(now.Add(skew)) {
		return time.Time{}, web.Invalid(field, "%s %s is in the future (more than %s ahead of the edge's clock)", field, v, skew)
	}
	return t, nil
}

type sale struct {
	in     SaleIn
	at     time.Time
	qty    int64
	amount int64
	hash   []byte
}

// CheckSale validates the parts of a sale that need no store state.
func (w *Writer) checkSale(in SaleIn, now time.Time) (sale, *web.Error) {
	s := sale{in: in}
	if e := ValidID("transactionId", in.TransactionID); e != nil {
		return s, e
	}
	if e := ValidID("machineId", in.MachineID); e != nil {
		return s, e
	}
	if e := ValidID("productId", in.ProductID); e != nil {
		return s, e
	}
	if in.Quantity == nil {
		return s, web.Invalid("quantity", "quantity is required")
	}
	if *in.Quantity <= 0 || *in.Quantity > MaxSaleQuantity {
		return s, web.Invalid("quantity", "quantity %d: must be between 1 and %d", *in.Quantity, MaxSaleQuantity)
	}
	if in.Amount == nil {
		return s, web.Invalid("amount", "amount is required")
	}
	if *in.Amount < 0 {
		return s, web.Invalid("amount", "amount %s must not be negative", *in.Amount)
	}
	if in.PaymentMethod == "" {
		return s, web.Invalid("paymentMethod", "paymentMethod is required (e.g. CASH, CARD, UPI)")
	}
	if len(in.PaymentMethod) > 32 || strings.ToUpper(in.PaymentMethod) != in.PaymentMethod {
		return s, web.Invalid("paymentMethod", "paymentMethod %q: use an upper-case name of at most 32 characters, e.g. CARD", in.PaymentMethod)
	}
	at, e := ParseTimestamp("timestamp", in.Timestamp, now, w.cfg.MaxClockSkew)
	if e != nil {
		return s, e
	}
	s.at, s.qty, s.amount = at, *in.Quantity, int64(*in.Amount)
	s.hash = saleHash(in.TransactionID, in.MachineID, in.ProductID, s.qty, s.amount, in.PaymentMethod, at)
	return s, nil
}

func saleHash(tx, m, p string, qty, amount int64, pay string, at time.Time) []byte {
	h := sha256.New()
	for _, s := range []string{tx, m, p, pay} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var b [24]byte
	binary.BigEndian.PutUint64(b[0:], uint64(qty))
	binary.BigEndian.PutUint64(b[8:], uint64(amount))
	binary.BigEndian.PutUint64(b[16:], uint64(at.UnixMilli()))
	h.Write(b[:])
	return h.Sum(nil)
}

// RecordSale records one sale. The Idempotency-Key header, when given, must
// equal the body's transactionId. machineScope, when not empty, is the only
// machine the caller may post for (a MACHINE token).
func (w *Writer) RecordSale(ctx context.Context, in SaleIn, idemKey, machineScope string) (SaleResult, error) {
	if idemKey != "" && in.TransactionID != "" && idemKey != in.TransactionID {
		return SaleResult{}, web.Invalid("Idempotency-Key", "Idempotency-Key %q differs from transactionId %q; send the same value in both", idemKey, in.TransactionID)
	}
	if in.TransactionID == "" {
		in.TransactionID = idemKey
	}
	s, e := w.checkSale(in, w.cfg.Now())
	if e != nil {
		return SaleResult{}, e
	}
	if machineScope != "" && s.in.MachineID != machineScope {
		return SaleResult{}, errOtherMachine(machineScope, s.in.MachineID)
	}
	res, err := w.Do(ctx, func(t *Tx) (any, error) { return t.sale(s) })
	if err != nil {
		return SaleResult{}, err
	}
	return res.(SaleResult), nil
}

func errOtherMachine(own, other string) *web.Error {
	return web.Errorf(http.StatusForbidden, "FORBIDDEN", "machineId", "this token belongs to machine %q and cannot post for %q", own, other)
}

// sale applies one validated sale inside the transaction: raw event, stock,
// aggregates, alerts and outbox row.
func (t *Tx) sale(s sale) (SaleResult, error) {
	w := t.w
	m := w.machines[s.in.MachineID]
	var reject *web.Error
	var it *item
	switch {
	case m == nil:
		reject = errUnknownMachine(s.in.MachineID)
	case m.status == "DECOMMISSIONED":
		reject = errDecommissioned(s.in.MachineID)
	default:
		it = w.items[itemKey{s.in.MachineID, s.in.ProductID}]
		if it == nil {
			reject = web.Errorf(http.StatusUnprocessableEntity, "UNKNOWN_PRODUCT", "productId", "product %q is not stocked in machine %q", s.in.ProductID, s.in.MachineID)
		} else if e := w.checkAmount(s, it.price); e != nil {
			reject = e
		}
	}
	if reject != nil {
		// A replay of a sale accepted earlier still answers with its first
		// result, even if the machine has since changed.
		if prev, ok, err := t.findSale(s); err != nil || ok {
			return prev, err
		}
		return SaleResult{}, reject
	}
	seq := t.seq + 1
	res, err := t.exec(w.stmts.insertSale, s.in.TransactionID, s.in.MachineID, s.in.ProductID, s.qty, s.amount, s.in.PaymentMethod,
		s.at.UnixMilli(), t.now.UnixMilli(), s.hash, seq)
	if err != nil {
		return SaleResult{}, fmt.Errorf("insert sale: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		prev, _, err := t.findSale(s)
		return prev, err
	}
	loc := m.location()
	before := it.qty
	after := max(0, before-s.qty)
	if _, err := t.emit(envelope.KindSale, s.at, envelope.Sale{
		TransactionID: s.in.TransactionID, MachineID: s.in.MachineID, ProductID: s.in.ProductID, Quantity: s.qty,
		AmountCents: s.amount, PaymentMethod: s.in.PaymentMethod, City: loc.City, Location: loc.Key(), StockAfter: &after,
	}); err != nil {
		return SaleResult{}, err
	}
	it.qty = after
	if _, err := t.exec(w.stmts.setQty, it.qty, t.now.UnixMilli(), s.in.MachineID, s.in.ProductID); err != nil {
		return SaleResult{}, fmt.Errorf("update stock: %w", err)
	}
	t.addAgg("machine", s.in.MachineID, s.at, s.qty, s.amount)
	t.addAgg("product", s.in.ProductID, s.at, s.qty, s.amount)
	t.addAgg("location", loc.Key(), s.at, s.qty, s.amount)
	k := itemKey{s.in.MachineID, s.in.ProductID}
	if s.qty > before {
		// The machine dispensed what the edge thought it did not have: the
		// sale is a fact, the count is what is wrong.
		detail := func() string { return fmt.Sprintf("sale %s of %d with %d in stock", s.in.TransactionID, s.qty, before) }
		if err := t.setAlert(k.machine, k.product, wire.InventoryMismatch, true, detail, ""); err != nil {
			return SaleResult{}, err
		}
	}
	if err := t.stockAlerts(k, it, "SALE"); err != nil {
		return SaleResult{}, err
	}
	return SaleResult{Status: "ACCEPTED", TransactionID: s.in.TransactionID, Sequence: seq}, nil
}

// findSale looks up an earlier sale with the same transaction id: the same
// body is a replay, a different one is a conflict.
func (t *Tx) findSale(s sale) (SaleResult, bool, error) {
	var hash []byte
	var seq uint64
	err := t.tx.StmtContext(t.ctx, t.w.stmts.findSale).QueryRowContext(t.ctx, s.in.TransactionID).Scan(&hash, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return SaleResult{}, false, nil
	}
	if err != nil {
		return SaleResult{}, false, fmt.Errorf("find sale: %w", err)
	}
	if !bytes.Equal(hash, s.hash) {
		return SaleResult{}, true, web.Errorf(http.StatusConflict, "IDEMPOTENCY_CONFLICT", "transactionId",
			"transaction %q was already recorded with a different body", s.in.TransactionID)
	}
	return SaleResult{Status: "ACCEPTED", TransactionID: s.in.TransactionID, Sequence: seq, Replayed: true}, true, nil
}

// checkAmount: the amount must be price × quantity within one cent plus
// AmountTolerance of it (machines round, and a price change may reach the
// machine after the edge).
func (w *Writer) checkAmount(s sale, price int64) *web.Error {
	expect := price * s.qty
	tol := int64(math.Round(float64(expect)*w.cfg.AmountTolerance)) + 1
	if d := s.amount - expect; d > tol || d < -tol {
		return web.Errorf(http.StatusUnprocessableEntity, "AMOUNT_MISMATCH", "amount",
			"amount %s does not match price %s × quantity %d = %s (tolerance %s)",
			wire.Money(s.amount), wire.Money(price), s.qty, wire.Money(expect), wire.Money(tol))
	}
	return nil
}

// BatchResult is one event's outcome in POST /events/batch.
type BatchResult struct {
	Index         int        `json:"index"`
	TransactionID string     `json:"transactionId,omitempty"`
	Status        string     `json:"status"` // ACCEPTED, DUPLICATE, REJECTED
	Sequence      uint64     `json:"sequence,omitempty"`
	Error         *web.Error `json:"error,omitempty"`
}

// RecordSales records many sales, each on its own: a bad one is rejected with
// its reason and never affects the others. All accepted ones commit together.
func (w *Writer) RecordSales(ctx context.Context, ins []SaleIn, machineScope string) ([]BatchResult, error) {
	now := w.cfg.Now()
	out := make([]BatchResult, len(ins))
	valid := make([]sale, 0, len(ins))
	idx := make([]int, 0, len(ins))
	for i, in := range ins {
		out[i] = BatchResult{Index: i, TransactionID: in.TransactionID}
		s, e := w.checkSale(in, now)
		if e == nil && machineScope != "" && in.MachineID != machineScope {
			e = errOtherMachine(machineScope, in.MachineID)
		}
		if e != nil {
			out[i].Status, out[i].Error = "REJECTED", e
			continue
		}
		valid = append(valid, s)
		idx = append(idx, i)
	}
	if len(valid) == 0 {
		return out, nil
	}
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		for j, s := range valid {
			r, err := t.sale(s)
			i := idx[j]
			var we *web.Error
			switch {
			case errors.As(err, &we):
				out[i].Status, out[i].Error = "REJECTED", we
			case err != nil:
				return nil, err
			case r.Replayed:
				out[i].Status, out[i].Sequence = "DUPLICATE", r.Sequence
			default:
				out[i].Status, out[i].Sequence = "ACCEPTED", r.Sequence
			}
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
