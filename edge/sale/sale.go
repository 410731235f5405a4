// Package sale records the sales machines report (seed 000 POST
// /events/sales and /events/batch): each is checked against the machine and
// the slot's price, recorded once per transactionId (a replay answers with
// the first result, another body under the same id is a conflict; the id is
// scoped to its machine, so no machine can shadow another's sale), takes its
// units from stock (edge/stock), counts in the local aggregates and goes up
// to central through the outbox, all in one transaction.
package sale

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/payment"
	"github.com/vendsync/vendsync/edge/promotion"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Config tunes the sale rules. DefaultConfig gives the defaults.
type Config struct {
	// AmountTolerance is how far a sale's amount may differ from price ×
	// quantity, as a fraction of it (0.10 = 10%), on top of one cent.
	AmountTolerance float64
	// MaxClockSkew is how far in the future a sale's timestamp may be.
	MaxClockSkew time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{AmountTolerance: 0.10, MaxClockSkew: 5 * time.Minute}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.AmountTolerance < 0 || c.AmountTolerance > 1:
		return fmt.Errorf("amount tolerance %v: must be between 0 and 1", c.AmountTolerance)
	case c.MaxClockSkew < 0:
		return fmt.Errorf("max clock skew must not be negative")
	}
	return nil
}

// In is a sale as a machine posts it (seed 000 POST /events/sales).
type In struct {
	TransactionID string      `json:"transactionId"`
	MachineID     string      `json:"machineId"`
	ProductID     string      `json:"productId"`
	Quantity      *int64      `json:"quantity"`
	Amount        *wire.Money `json:"amount"`
	PaymentMethod string      `json:"paymentMethod"`
	Timestamp     string      `json:"timestamp"`

	// The basket form and promotions (basket.go). Lines replaces productId
	// and quantity; Code and CustomerID feed the promotions; ListAmount,
	// Discount and Promotions, when given, are the poster's figures, which
	// must equal the edge's own.
	Lines      []LineIn    `json:"lines,omitempty"`
	Code       string      `json:"code,omitempty"`
	CustomerID string      `json:"customerId,omitempty"`
	ListAmount *wire.Money `json:"listAmount,omitempty"`
	Discount   *wire.Money `json:"discount,omitempty"`
	Promotions []string    `json:"promotions,omitempty"`
	// Card is a card terminal's approval (reference, last 4 digits at most).
	Card *edgeapi.CardPayment `json:"card"`
	// PaymentToken is the gateway's payment-method token of a GATEWAY sale.
	PaymentToken string `json:"paymentToken"`
}

// Result is the answer to an accepted sale; a replay gets the same one.
type Result struct {
	Status        string `json:"status"`
	TransactionID string `json:"transactionId"`
	Sequence      uint64 `json:"sequence"`
	Replayed      bool   `json:"-"`
	// Pricing is set for a sale with promotion fields or a discount.
	Pricing *Pricing `json:"pricing,omitempty"`
	// Flags are SOLD_EXPIRED / SOLD_ON_HOLD when the sale took units not
	// fit to sell (first answer only; a replay does not repeat them).
	Flags []string `json:"flags,omitempty"`
}

// BatchResult is one event's outcome in POST /events/batch.
type BatchResult struct {
	Index         int         `json:"index"`
	TransactionID string      `json:"transactionId,omitempty"`
	Status        string      `json:"status"` // ACCEPTED, DUPLICATE, REJECTED
	Sequence      uint64      `json:"sequence,omitempty"`
	Error         *errs.Error `json:"error,omitempty"`
}

// MaxQuantity bounds one sale's quantity.
const MaxQuantity = 1000

// Rules records sales.
type Rules struct {
	w        *ingest.Writer
	machines *machine.Rules
	stock    *stock.Rules
	cfg      Config

	insert, find *ingest.Stmt

	promos *promotion.Rules // nil: no promotions (basket.go)

	insertLine, replayLines, replayPromos *ingest.Stmt
	// reserved holds units back for pre-orders (SetReservations; nil: none).
	reserved Reservations
	// payments is the payments ledger (SetPayments; nil: none kept).
	payments *payment.Rules
	// insertFolded inserts a sale with its payment (insertPaidSale).
	insertFolded *ingest.Stmt
}

// New returns the sale rules on w (before w.Open). It returns an error for
// a bad cfg.
func New(w *ingest.Writer, machines *machine.Rules, st *stock.Rules, cfg Config) (*Rules, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sale config: %w", err)
	}
	r := &Rules{
		w: w, machines: machines, stock: st, cfg: cfg,
		insert: w.Prepare(`INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents, payment_method, event_time, received_at, body_hash, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_id, transaction_id) DO NOTHING`),
		find: w.Prepare(`SELECT body_hash, seq FROM sales_events WHERE machine_id = ? AND transaction_id = ?`),
		insertFolded: w.Prepare(`INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents, payment_method, event_time, received_at, body_hash, seq,
			payment_id, pay_method, pay_day, card_reference, card_last4)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_id, transaction_id) DO NOTHING`),
	}
	r.prepareBaskets()
	w.OnReplay(replaySale, r.replay)
	w.OnReplay(replayBatch, r.replayBatch)
	return r, nil
}

type sale struct {
	in     In
	at     time.Time
	qty    int64
	amount int64
	hash   []byte

	lines  []line  // the basket form (basket.go), nil for one product
	priced *priced // what promotions made of the sale, nil without promotions
	// prepaid: a pre-order's pickup (RecordPrepaid), paid at central.
	prepaid bool
	// method is the payment method the sale's paymentMethod belongs to.
	method wire.PaymentMethod
}

// checkSale validates the parts of a sale that need no store state.
func (r *Rules) checkSale(in In, now time.Time) (sale, error) {
	s := sale{in: in}
	if err := check.ID("transactionId", in.TransactionID); err != nil {
		return s, err
	}
	if err := check.ID("machineId", in.MachineID); err != nil {
		return s, err
	}
	if in.Lines != nil {
		lines, err := checkLines(in)
		if err != nil {
			return s, err
		}
		s.lines = lines
	} else {
		if err := check.ID("productId", in.ProductID); err != nil {
			return s, err
		}
		if in.Quantity == nil {
			return s, errs.Invalidf("quantity", "quantity is required")
		}
		if *in.Quantity <= 0 || *in.Quantity > MaxQuantity {
			return s, errs.Invalidf("quantity", "quantity %d: must be between 1 and %d", *in.Quantity, MaxQuantity)
		}
	}
	if in.Amount == nil {
		return s, errs.Invalidf("amount", "amount is required")
	}
	if *in.Amount < 0 {
		return s, errs.Invalidf("amount", "amount %s must not be negative", *in.Amount)
	}
	if in.PaymentMethod == "" {
		return s, errs.Invalidf("paymentMethod", "paymentMethod is required (e.g. CASH, CARD, UPI)")
	}
	if len(in.PaymentMethod) > 32 || strings.ToUpper(in.PaymentMethod) != in.PaymentMethod {
		return s, errs.Invalidf("paymentMethod", "paymentMethod %q: use an upper-case name of at most 32 characters, e.g. CARD", in.PaymentMethod)
	}
	at, err := check.Timestamp("timestamp", in.Timestamp, now, r.cfg.MaxClockSkew)
	if err != nil {
		return s, err
	}
	if err := checkPromoFields(in); err != nil {
		return s, err
	}
	s.at, s.amount = at, int64(*in.Amount)
	if in.Quantity != nil {
		s.qty = *in.Quantity
	}
	s.hash = hash(in.TransactionID, in.MachineID, in.ProductID, s.qty, s.amount, in.PaymentMethod, at)
	if in.hasPromoFields() {
		s.hash = promoHash(s.hash, in)
	}
	return s, r.checkPayment(&s)
}

func hash(tx, m, p string, qty, amount int64, pay string, at time.Time) []byte {
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

// Record records one sale. The Idempotency-Key header (idemKey), when
// given, must equal the body's transactionId. machineScope, when not empty,
// is the only machine the caller may post for (a MACHINE token). It returns
// an *errs.Error for a sale it refuses: Invalid naming the field, Forbidden
// for another machine, Unprocessable UNKNOWN_MACHINE, UNKNOWN_PRODUCT or
// AMOUNT_MISMATCH, Conflict MACHINE_DECOMMISSIONED or IDEMPOTENCY_CONFLICT.
func (r *Rules) Record(ctx context.Context, in In, idemKey, machineScope string) (Result, error) {
	if idemKey != "" && in.TransactionID != "" && idemKey != in.TransactionID {
		return Result{}, errs.Invalidf("Idempotency-Key", "Idempotency-Key %q differs from transactionId %q; send the same value in both", idemKey, in.TransactionID)
	}
	if in.TransactionID == "" {
		in.TransactionID = idemKey
	}
	now := r.w.Now()
	s, err := r.checkSale(in, now)
	if err != nil {
		return Result{}, err
	}
	if err := machine.CheckScope(machineScope, s.in.MachineID); err != nil {
		return Result{}, err
	}
	if s.method == wire.Gateway {
		// The gateway charged the card outside the writer: not a request
		// that can run again from its body.
		if err := r.charge(ctx, &s); err != nil {
			return Result{}, err
		}
		return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Result, error) { return r.record(t, &s) })
	}
	data, err := logSale(in, now)
	if err != nil {
		return Result{}, err
	}
	return ingest.SubmitLogged(ctx, r.w, replaySale, data, func(t *ingest.Tx) (Result, error) { return r.record(t, &s) })
}

// The intake log kinds of sales: one posted alone (Record) and the
// accepted ones of a batch (RecordBatch).
const (
	replaySale  byte = 1
	replayBatch byte = 2
)

// logSale is a sale's intake log record: the clock its checks read, then
// the sale as JSON. logSales is the same for a batch's sales.
func logSale(in In, now time.Time) ([]byte, error) {
	if in.plain() {
		return appendPlain(binary.LittleEndian.AppendUint64(make([]byte, 0, 128), uint64(now.UnixNano())), in), nil
	}
	return logJSON(in, now)
}

func logSales(ins []In, now time.Time) ([]byte, error) { return logJSON(ins, now) }

func logJSON(v any, now time.Time) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sale intake record: %w", err)
	}
	return append(binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(body)), uint64(now.UnixNano())), body...), nil
}

// plain: the sale has only the fields a machine usually sends (no
// basket, promotions, card or gateway token).
func (in In) plain() bool {
	return !in.hasPromoFields() && in.Card == nil && in.PaymentToken == "" && in.Quantity != nil && in.Amount != nil
}

// A plain sale's record after the clock: 'P', then the transaction,
// machine, product, payment method and timestamp as length-prefixed
// strings, the quantity and the amount in cents as varints. Anything
// else is JSON (it starts with '{').
func appendPlain(b []byte, in In) []byte {
	b = append(b, 'P')
	for _, s := range [...]string{in.TransactionID, in.MachineID, in.ProductID, in.PaymentMethod, in.Timestamp} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, *in.Quantity)
	return binary.AppendVarint(b, int64(*in.Amount))
}

func parsePlain(b []byte) (In, error) {
	var in In
	bad := errors.New("sale intake record: bad plain sale")
	if len(b) == 0 || b[0] != 'P' {
		return in, bad
	}
	b = b[1:]
	for _, f := range [...]*string{&in.TransactionID, &in.MachineID, &in.ProductID, &in.PaymentMethod, &in.Timestamp} {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return in, bad
		}
		*f, b = string(b[k:k+int(n)]), b[k+int(n):]
	}
	q, k := binary.Varint(b)
	if k <= 0 {
		return in, bad
	}
	a, k2 := binary.Varint(b[k:])
	if k2 <= 0 || k+k2 != len(b) {
		return in, bad
	}
	amt := wire.Money(a)
	in.Quantity, in.Amount = &q, &amt
	return in, nil
}

// replay records a sale from its intake log record (logSale) as Record
// did: the same checks with the same clock, then record.
func (r *Rules) replay(t *ingest.Tx, data []byte) error {
	if len(data) < 9 {
		return fmt.Errorf("sale intake record of %d bytes", len(data))
	}
	now := time.Unix(0, int64(binary.LittleEndian.Uint64(data)))
	var in In
	if data[8] == 'P' {
		var err error
		if in, err = parsePlain(data[8:]); err != nil {
			return err
		}
	} else if err := json.Unmarshal(data[8:], &in); err != nil {
		return fmt.Errorf("sale intake record: %w", err)
	}
	s, err := r.checkSale(in, now)
	if err != nil {
		return err
	}
	_, err = r.record(t, &s)
	return err
}

// replayBatch records a batch's accepted sales from their intake log
// record (logSales) as RecordBatch did: each checked with the same clock
// and recorded, a refusal refusing that sale only.
func (r *Rules) replayBatch(t *ingest.Tx, data []byte) error {
	if len(data) < 8 {
		return fmt.Errorf("sale batch intake record of %d bytes", len(data))
	}
	now := time.Unix(0, int64(binary.LittleEndian.Uint64(data)))
	var ins []In
	if err := json.Unmarshal(data[8:], &ins); err != nil {
		return fmt.Errorf("sale batch intake record: %w", err)
	}
	for _, in := range ins {
		s, err := r.checkSale(in, now)
		if err != nil {
			continue // refused the first time too, before the writer
		}
		if _, err := r.record(t, &s); err != nil {
			if e, ok := errs.As(err); !ok || e.Kind == errs.Internal {
				return err
			}
		}
	}
	return nil
}

// RecordBatch records many sales, each on its own: a bad one is rejected
// with its reason and never affects the others. All accepted ones commit
// together.
func (r *Rules) RecordBatch(ctx context.Context, ins []In, machineScope string) ([]BatchResult, error) {
	now := r.w.Now()
	out := make([]BatchResult, len(ins))
	valid := make([]sale, 0, len(ins))
	idx := make([]int, 0, len(ins))
	for i, in := range ins {
		out[i] = BatchResult{Index: i, TransactionID: in.TransactionID}
		s, err := r.checkSale(in, now)
		if err == nil {
			err = machine.CheckScope(machineScope, in.MachineID)
		}
		if err == nil {
			err = oneByOne(&s)
		}
		if err != nil {
			e, _ := errs.As(err)
			out[i].Status, out[i].Error = "REJECTED", e
			continue
		}
		valid = append(valid, s)
		idx = append(idx, i)
	}
	if len(valid) == 0 {
		return out, nil
	}
	validIns := make([]In, len(valid))
	for j := range valid {
		validIns[j] = valid[j].in
	}
	data, err := logSales(validIns, now)
	if err != nil {
		return nil, err
	}
	_, err = ingest.SubmitLogged(ctx, r.w, replayBatch, data, func(t *ingest.Tx) (struct{}, error) {
		for j := range valid {
			res, err := r.record(t, &valid[j])
			i := idx[j]
			if e, ok := errs.As(err); ok && e.Kind != errs.Internal {
				out[i].Status, out[i].Error = "REJECTED", e
				continue
			}
			switch {
			case err != nil:
				return struct{}{}, err
			case res.Replayed:
				out[i].Status, out[i].Sequence = "DUPLICATE", res.Sequence
			default:
				out[i].Status, out[i].Sequence = "ACCEPTED", res.Sequence
			}
		}
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// record applies one validated sale inside the transaction: raw event,
// outbox row, stock, aggregates and alerts.
func (r *Rules) record(t *ingest.Tx, s *sale) (Result, error) {
	if s.lines != nil {
		return r.recordBasket(t, s)
	}
	m, reject := r.machines.Reporting(s.in.MachineID)
	var slot *stock.Slot
	if reject == nil {
		slot = r.stock.Slot(s.in.MachineID, s.in.ProductID)
		if slot == nil {
			reject = errs.Errorf(errs.Unprocessable, "UNKNOWN_PRODUCT", "productId", "product %q is not stocked in machine %q", s.in.ProductID, s.in.MachineID)
		} else if !s.prepaid {
			reject = r.priceSale(t, s, slot.Price)
			if reject == nil {
				reject = r.checkReserved(s, slot)
			}
		}
	}
	if reject == nil && !s.prepaid {
		reject = payment.Accepts(m.ID, m.PaymentMethods, s.in.PaymentMethod, s.method)
	}
	if reject != nil {
		// A replay of a sale accepted earlier still answers with its first
		// result, even if the machine has since changed.
		if prev, ok, err := r.findSale(t, s); err != nil || ok {
			return prev, err
		}
		return Result{}, reject
	}
	seq := t.NextSeq()
	inserted, folded, err := r.insertPaidSale(t, s, seq)
	if err != nil {
		return Result{}, err
	}
	if !inserted {
		prev, _, err := r.findSale(t, s)
		return prev, err
	}
	if !folded {
		if err := r.paid(t, s); err != nil {
			return Result{}, err
		}
	}
	loc := m.Location()
	locKey := loc.Key()
	after := max(0, slot.Qty-s.qty)
	taken, err := r.stock.SellLots(t, slot, s.qty, s.in.TransactionID)
	if err != nil {
		return Result{}, err
	}
	if _, err := t.Emit(envelope.KindSale, s.at, withDiscount(envelope.Sale{
		TransactionID: s.in.TransactionID, MachineID: s.in.MachineID, ProductID: s.in.ProductID, Quantity: s.qty,
		AmountCents: s.amount, PaymentMethod: s.in.PaymentMethod, City: loc.City, Location: locKey, StockAfter: &after,
		Lots: taken.Uses, CogsCents: taken.CogsCents(), Flags: taken.Flags(),
	}, s.priced, 0)); err != nil {
		return Result{}, err
	}
	t.CountSale("machine", s.in.MachineID, s.at, s.qty, s.amount)
	t.CountSale("product", s.in.ProductID, s.at, s.qty, s.amount)
	t.CountSale("location", locKey, s.at, s.qty, s.amount)
	if err := r.stock.Sell(t, slot, s.qty, s.in.TransactionID); err != nil {
		return Result{}, err
	}
	if err := r.stock.SoldUnfit(t, slot, taken, s.in.TransactionID); err != nil {
		return Result{}, err
	}
	if err := r.redeem(t, s, []string{s.in.TransactionID}, locKey); err != nil {
		return Result{}, err
	}
	return Result{Status: "ACCEPTED", TransactionID: s.in.TransactionID, Sequence: seq, Pricing: s.pricing(), Flags: taken.Flags()}, nil
}

// findSale looks up an earlier sale of the same machine with the same
// transaction id (the key is the machine's: another machine's id is never
// looked at): the same body is a replay, a different one is a conflict.
func (r *Rules) findSale(t *ingest.Tx, s *sale) (Result, bool, error) {
	var h []byte
	var seq uint64
	err := t.QueryRow(r.find, s.in.MachineID, s.in.TransactionID).Scan(&h, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("find sale: %w", err)
	}
	if !bytes.Equal(h, s.hash) {
		return Result{}, true, errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", "transactionId",
			"transaction %q was already recorded with a different body", s.in.TransactionID)
	}
	res := Result{Status: "ACCEPTED", TransactionID: s.in.TransactionID, Sequence: seq, Replayed: true}
	if err := r.replayPricing(t, s.in.MachineID, s.in.TransactionID, &res); err != nil {
		return Result{}, true, err
	}
	return res, true, nil
}

// checkAmount: the amount must be price × quantity within one cent plus
// AmountTolerance of it (machines round, and a price change may reach the
// machine after the edge).
func (r *Rules) checkAmount(s *sale, price int64) error {
	expect := price * s.qty
	tol := int64(math.Round(float64(expect)*r.cfg.AmountTolerance)) + 1
	if d := s.amount - expect; d > tol || d < -tol {
		return errs.Errorf(errs.Unprocessable, "AMOUNT_MISMATCH", "amount",
			"amount %s does not match price %s × quantity %d = %s (tolerance %s)",
			wire.Money(s.amount), wire.Money(price), s.qty, wire.Money(expect), wire.Money(tol))
	}
	return nil
}
