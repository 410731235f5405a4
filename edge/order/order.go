// Package order runs a site's pre-orders: orders placed and paid at
// central arrive over the downlink (Apply); the site reserves their units
// (held back from walk-up buyers, see sale.Reservations), accepts them by
// itself when it is online and its counts are fresh or waits for the
// operator (Accept, Reject), hands them over once against a pickup code
// verified offline (Pickup), and expires those never collected (a sweep).
// Every status change goes up to central as an envelope.KindOrder event.
//
// The site is the only place its orders are redeemed: a pickup is a status
// change from ACCEPTED to PICKED_UP made in the writer's single
// transaction, so the same code can never be redeemed twice, with or
// without a link; central refunds only an order the site reported EXPIRED,
// REJECTED or CANCELLED, statuses from which no pickup is possible.
package order

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/pickup"
	"github.com/vendsync/vendsync/sync/wire"
)

// Config tunes the order rules. DefaultConfig gives the defaults.
type Config struct {
	// AutoAccept accepts an order without the operator when the site is
	// online and the count of every product ordered is fresh (seed 001's
	// auto-confirmation rule). false: every order waits for the operator.
	AutoAccept bool
	// FreshCount is how recently a product's count must have been updated
	// (a restock, count or sale) for an order of it to be auto-accepted.
	FreshCount time.Duration
	// Online reports whether the site's link to central is up (nil: never).
	Online func() bool
	// SubstituteWindow is how long a customer has to answer a substitute
	// offer before it counts as refused (0: 15 minutes).
	SubstituteWindow time.Duration
}

// DefaultConfig returns the defaults: auto-accept within an hour.
func DefaultConfig() Config {
	return Config{AutoAccept: true, FreshCount: time.Hour, SubstituteWindow: DefaultSubstituteWindow}
}

// DefaultSubstituteWindow is the default time to answer a substitute offer.
const DefaultSubstituteWindow = 15 * time.Minute

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.FreshCount < 0 {
		return fmt.Errorf("order fresh count %v: must not be negative", c.FreshCount)
	}
	if c.SubstituteWindow < 0 {
		return fmt.Errorf("order substitute window %v: must not be negative", c.SubstituteWindow)
	}
	return nil
}

// Order is an order as the site holds it.
type Order struct {
	OrderID    string               `json:"orderId"`
	MachineID  string               `json:"machineId"`
	Customer   string               `json:"customer"`
	Status     string               `json:"status"`
	Reason     string               `json:"reason,omitempty"`
	Lines      []envelope.OrderLine `json:"lines"`
	PlacedAt   time.Time            `json:"placedAt"`
	ExpiresAt  time.Time            `json:"expiresAt"`
	UpdatedAt  time.Time            `json:"updatedAt"`
	PickedUpBy string               `json:"pickedUpBy,omitempty"`
	// Sales are the transaction ids of the pickup's sales.
	Sales []string `json:"sales,omitempty"`
	code  string
	// Substitution is the order's substitute offer, if it had one.
	Substitution *envelope.Substitution `json:"substitution,omitempty"`
}

type slotKey struct{ machine, product string }

// Rules runs the site's pre-orders.
type Rules struct {
	w     *ingest.Writer
	db    *sqlite.DB
	stock *stock.Rules
	sales *sale.Rules
	cfg   Config

	// The view (writer goroutine only).
	reserved map[slotKey]int64
	key      ed25519.PublicKey

	insert, find, setStatus, reserve, release, held, putKey, countAt, expiring *ingest.Stmt

	// Substitutes: each product's, in order (writer goroutine only).
	subs map[string][]string
	sq   substitutesSQL
}

var _ sale.Reservations = (*Rules)(nil)

// New returns the order rules on w (before w.Open) and makes sales respect
// its reservations. It returns an error for a bad cfg.
func New(w *ingest.Writer, db *sqlite.DB, st *stock.Rules, sales *sale.Rules, cfg Config) (*Rules, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("order config: %w", err)
	}
	if cfg.SubstituteWindow == 0 {
		cfg.SubstituteWindow = DefaultSubstituteWindow
	}
	r := &Rules{
		w: w, db: db, stock: st, sales: sales, cfg: cfg, reserved: map[slotKey]int64{},
		insert: w.Prepare(`INSERT INTO orders (order_id, machine_id, customer, code, status, reason, lines, placed_at, expires_at, received_at, updated_at, substitution)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		find:      w.Prepare(`SELECT ` + orderCols + ` FROM orders WHERE order_id = ?`),
		setStatus: w.Prepare(`UPDATE orders SET status = ?, reason = ?, updated_at = ?, picked_up_by = ? WHERE order_id = ?`),
		reserve:   w.Prepare(`INSERT INTO reservations (order_id, machine_id, product_id, quantity) VALUES (?, ?, ?, ?)`),
		release:   w.Prepare(`DELETE FROM reservations WHERE order_id = ?`),
		held:      w.Prepare(`SELECT machine_id, product_id, quantity FROM reservations WHERE order_id = ?`),
		putKey:    w.Prepare(`INSERT INTO order_keys (name, public_key) VALUES ('central', ?) ON CONFLICT (name) DO UPDATE SET public_key = excluded.public_key`),
		countAt:   w.Prepare(`SELECT updated_at FROM machine_inventory WHERE machine_id = ? AND product_id = ?`),
		expiring:  w.Prepare(`SELECT order_id FROM orders WHERE status IN ('PENDING', 'ACCEPTED', 'SUBSTITUTION_OFFERED') AND expires_at <= ? ORDER BY expires_at`),
		subs:      map[string][]string{},
		sq:        prepareSubstitutes(w),
	}
	w.Register(r)
	w.OnSweep(r.sweep)
	sales.SetReservations(r)
	return r, nil
}

const orderCols = `order_id, machine_id, customer, code, status, reason, lines, placed_at, expires_at, updated_at, COALESCE(picked_up_by, ''), substitution`

func scanOrder(row interface{ Scan(...any) error }) (Order, error) {
	var o Order
	var lines, sub string
	var placed, expires, updated int64
	if err := row.Scan(&o.OrderID, &o.MachineID, &o.Customer, &o.code, &o.Status, &o.Reason, &lines, &placed, &expires, &updated, &o.PickedUpBy, &sub); err != nil {
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
	o.PlacedAt, o.ExpiresAt, o.UpdatedAt = time.UnixMilli(placed).UTC(), time.UnixMilli(expires).UTC(), time.UnixMilli(updated).UTC()
	if o.Status == envelope.OrderPickedUp {
		o.Sales = saleIDs(o)
	}
	return o, nil
}

// saleIDs are the transaction ids of an order's pickup sales, one a line.
func saleIDs(o Order) []string {
	out := make([]string, len(o.Lines))
	for i := range o.Lines {
		out[i] = fmt.Sprintf("order-%s-%d", o.OrderID, i+1)
	}
	return out
}

// Load reads the reservations and central's key (ingest.View).
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	r.reserved = map[slotKey]int64{}
	rows, err := db.QueryContext(ctx, `SELECT machine_id, product_id, SUM(quantity) FROM reservations GROUP BY machine_id, product_id`)
	if err != nil {
		return fmt.Errorf("load reservations: %w", err)
	}
	for rows.Next() {
		var k slotKey
		var q int64
		if err := rows.Scan(&k.machine, &k.product, &q); err != nil {
			rows.Close()
			return fmt.Errorf("load reservations: %w", err)
		}
		r.reserved[k] = q
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load reservations: %w", err)
	}
	if err := r.loadSubstitutes(ctx, db); err != nil {
		return err
	}
	var key []byte
	switch err := db.QueryRowContext(ctx, `SELECT public_key FROM order_keys WHERE name = 'central'`).Scan(&key); {
	case errors.Is(err, sql.ErrNoRows):
		r.key = nil
	case err != nil:
		return fmt.Errorf("load order key: %w", err)
	default:
		r.key = ed25519.PublicKey(key)
	}
	return nil
}

// Reserved is how many units of product in machine are held for orders
// (sale.Reservations). Call it only inside a writer transaction.
func (r *Rules) Reserved(machineID, productID string) int64 {
	return r.reserved[slotKey{machineID, productID}]
}

// SetKey keeps central's public order key (from the downlink).
func (r *Rules) SetKey(ctx context.Context, k envelope.OrderKey, by string) error {
	if len(k.PublicKey) != ed25519.PublicKeySize {
		return errs.Invalidf("publicKey", "order key must be %d bytes, got %d", ed25519.PublicKeySize, len(k.PublicKey))
	}
	return r.w.Do(ctx, func(t *ingest.Tx) error {
		if _, err := t.Exec(r.putKey, k.PublicKey); err != nil {
			return fmt.Errorf("put order key: %w", err)
		}
		r.key = ed25519.PublicKey(k.PublicKey)
		return t.Audit("order_key", "central", "SET", by, map[string]any{})
	})
}

// checkDownlink validates an order from central.
func checkDownlink(d envelope.OrderDownlink) error {
	if err := check.ID("orderId", d.OrderID); err != nil {
		return err
	}
	if err := check.ID("machineId", d.MachineID); err != nil {
		return err
	}
	if len(d.Lines) == 0 || len(d.Lines) > envelope.MaxOrderLines {
		return errs.Invalidf("lines", "an order has 1 to %d lines", envelope.MaxOrderLines)
	}
	seen := map[string]bool{}
	for _, l := range d.Lines {
		if err := check.ID("productId", l.ProductID); err != nil {
			return err
		}
		if seen[l.ProductID] {
			return errs.Invalidf("lines", "product %q appears twice", l.ProductID)
		}
		seen[l.ProductID] = true
		if l.Quantity <= 0 || l.Quantity > sale.MaxQuantity || l.AmountCents < 0 {
			return errs.Invalidf("lines", "line %q: quantity 1 to %d and a non-negative amount", l.ProductID, sale.MaxQuantity)
		}
	}
	if d.Code == "" || d.ExpiresAt.IsZero() {
		return errs.Invalidf("code", "an order needs a pickup code and an expiry")
	}
	return nil
}

// Apply takes an order (or a later change of it, such as a cancel) from
// central: a new order is reserved and accepted, left for the operator, or
// rejected when stock is short; a cancel of an order not yet picked up
// cancels it. Applying the same value again changes nothing. It returns an
// *errs.Error for an invalid order.
func (r *Rules) Apply(ctx context.Context, d envelope.OrderDownlink, by string) (Order, error) {
	if err := checkDownlink(d); err != nil {
		return Order{}, err
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Order, error) {
		o, found, err := r.get(t, d.OrderID)
		if err != nil {
			return Order{}, err
		}
		if found {
			if d.Cancel && (o.Status == envelope.OrderPending || o.Status == envelope.OrderAccepted || o.Status == envelope.OrderSubstitutionOffered) {
				return r.move(t, o, envelope.OrderCancelled, "cancelled by the customer", by, true)
			}
			return o, nil
		}
		now := t.Now()
		o = Order{OrderID: d.OrderID, MachineID: d.MachineID, Customer: d.Customer, Lines: d.Lines, PlacedAt: d.PlacedAt.UTC(),
			ExpiresAt: d.ExpiresAt.UTC(), UpdatedAt: now.UTC(), code: d.Code}
		switch {
		case d.Cancel:
			o.Status, o.Reason = envelope.OrderCancelled, "cancelled before it reached the site"
		case !d.ExpiresAt.After(now):
			o.Status, o.Reason = envelope.OrderExpired, "its pickup window ended before it reached the site"
		default:
			o.Status, o.Reason, o.Substitution = r.decide(t, o)
		}
		lines, err := json.Marshal(o.Lines)
		if err != nil {
			return Order{}, err
		}
		sub := ""
		if o.Substitution != nil {
			b, err := json.Marshal(o.Substitution)
			if err != nil {
				return Order{}, err
			}
			sub = string(b)
		}
		if _, err := t.Exec(r.insert, o.OrderID, o.MachineID, o.Customer, o.code, o.Status, o.Reason, string(lines),
			o.PlacedAt.UnixMilli(), o.ExpiresAt.UnixMilli(), now.UnixMilli(), now.UnixMilli(), sub); err != nil {
			return Order{}, fmt.Errorf("insert order: %w", err)
		}
		if o.Status == envelope.OrderPending || o.Status == envelope.OrderAccepted || o.Status == envelope.OrderSubstitutionOffered {
			// An offer holds the units it would hand over if accepted.
			held, _ := Substituted(o.Lines, o.Substitution, true)
			for _, l := range held {
				if _, err := t.Exec(r.reserve, o.OrderID, o.MachineID, l.ProductID, l.Quantity); err != nil {
					return Order{}, fmt.Errorf("reserve: %w", err)
				}
				r.reserved[slotKey{o.MachineID, l.ProductID}] += l.Quantity
			}
		}
		if err := t.Audit("order", o.OrderID, "RECEIVED", by, map[string]any{"status": o.Status, "reason": o.Reason}); err != nil {
			return Order{}, err
		}
		return o, r.emit(t, o, by)
	})
}

// decide is what a new order becomes: REJECTED when a product is not
// stocked or its free units are short and no substitute has them
// (PlanOffer), SUBSTITUTION_OFFERED when substitutes have them, ACCEPTED
// when auto-accept holds (online, every count fresh), PENDING otherwise.
// An offer's Then is what the order becomes once it is accepted.
func (r *Rules) decide(t *ingest.Tx, o Order) (status, reason string, offer *envelope.Substitution) {
	offers, reject := PlanOffer(o.MachineID, o.Lines, Shelf{
		Free: func(p string) (int64, bool) {
			slot := r.stock.Slot(o.MachineID, p)
			if slot == nil {
				return 0, false
			}
			return slot.Qty - r.reserved[slotKey{o.MachineID, p}], true
		},
		Substitutes: func(p string) []string { return r.subs[p] },
		Price: func(p string) int64 {
			if slot := r.stock.Slot(o.MachineID, p); slot != nil {
				return slot.Price
			}
			return 0
		},
	})
	if reject != "" {
		return envelope.OrderRejected, reject, nil
	}
	held, _ := Substituted(o.Lines, &envelope.Substitution{Lines: offers}, true)
	fresh := r.cfg.AutoAccept && r.cfg.Online != nil && r.cfg.Online()
	for _, l := range held {
		if fresh {
			var at int64
			if err := t.QueryRow(r.countAt, o.MachineID, l.ProductID).Scan(&at); err != nil || t.Now().Sub(time.UnixMilli(at)) > r.cfg.FreshCount {
				fresh = false
			}
		}
	}
	status, reason = envelope.OrderPending, "waiting for the operator"
	if fresh {
		status, reason = envelope.OrderAccepted, "auto-accepted: site online, counts fresh"
	}
	if len(offers) == 0 {
		return status, reason, nil
	}
	return envelope.OrderSubstitutionOffered, describeOffer(offers), &envelope.Substitution{State: envelope.SubstitutionOffered,
		Lines: offers, OfferedAt: t.Now().UTC(), ExpiresAt: r.offerWindow(t.Now().UTC(), o.ExpiresAt), Then: status}
}

func (r *Rules) get(t *ingest.Tx, id string) (Order, bool, error) {
	o, err := scanOrder(t.QueryRow(r.find, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, fmt.Errorf("find order: %w", err)
	}
	return o, true, nil
}

// move sets o's status, releasing its reservation when release is set,
// and sends the change up.
func (r *Rules) move(t *ingest.Tx, o Order, status, reason, by string, release bool) (Order, error) {
	if release {
		if err := r.releaseHeld(t, o.OrderID); err != nil {
			return Order{}, err
		}
	}
	var picked any
	if status == envelope.OrderPickedUp {
		picked = by
		o.PickedUpBy = by
		o.Sales = saleIDs(o)
	}
	o.Status, o.Reason, o.UpdatedAt = status, reason, t.Now().UTC()
	if _, err := t.Exec(r.setStatus, status, reason, t.Now().UnixMilli(), picked, o.OrderID); err != nil {
		return Order{}, fmt.Errorf("set order status: %w", err)
	}
	if err := t.Audit("order", o.OrderID, status, by, map[string]any{"reason": reason}); err != nil {
		return Order{}, err
	}
	return o, r.emit(t, o, by)
}

func (r *Rules) releaseHeld(t *ingest.Tx, id string) error {
	rows, err := t.Query(r.held, id)
	if err != nil {
		return fmt.Errorf("read reservation: %w", err)
	}
	type hold struct {
		k slotKey
		q int64
	}
	var hs []hold
	for rows.Next() {
		var h hold
		if err := rows.Scan(&h.k.machine, &h.k.product, &h.q); err != nil {
			rows.Close()
			return fmt.Errorf("read reservation: %w", err)
		}
		hs = append(hs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read reservation: %w", err)
	}
	if _, err := t.Exec(r.release, id); err != nil {
		return fmt.Errorf("release reservation: %w", err)
	}
	for _, h := range hs {
		if r.reserved[h.k] -= h.q; r.reserved[h.k] <= 0 {
			delete(r.reserved, h.k)
		}
	}
	return nil
}

func (r *Rules) emit(t *ingest.Tx, o Order, by string) error {
	_, err := t.Emit(envelope.KindOrder, t.Now(), envelope.OrderEvent{OrderID: o.OrderID, MachineID: o.MachineID, Customer: o.Customer,
		Status: o.Status, Lines: o.Lines, Reason: o.Reason, By: by, Substitution: o.Substitution})
	return err
}

// errNotFound is the 404 for an order this site does not hold.
func errNotFound(id string) error {
	return errs.NotFoundf("orderId", "order %q is not at this site (not placed here, or not yet received from central)", id)
}

// Accept accepts an order waiting for the operator. It returns an
// *errs.Error: NotFound, or Conflict ORDER_NOT_PENDING.
func (r *Rules) Accept(ctx context.Context, id, by string) (Order, error) {
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Order, error) {
		o, found, err := r.get(t, id)
		switch {
		case err != nil:
			return Order{}, err
		case !found:
			return Order{}, errNotFound(id)
		case o.Status == envelope.OrderAccepted:
			return o, nil
		case o.Status != envelope.OrderPending:
			return Order{}, errs.Errorf(errs.Conflict, "ORDER_NOT_PENDING", "orderId", "order %q is %s, not PENDING", id, o.Status)
		}
		return r.move(t, o, envelope.OrderAccepted, "accepted by the operator", by, false)
	})
}

// Reject rejects an order not yet picked up and releases its units. It
// returns an *errs.Error: NotFound, or Conflict ORDER_NOT_PENDING.
func (r *Rules) Reject(ctx context.Context, id, reason, by string) (Order, error) {
	if len(reason) > 200 {
		return Order{}, errs.Invalidf("reason", "reason: at most 200 characters")
	}
	if reason == "" {
		reason = "rejected by the operator"
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Order, error) {
		o, found, err := r.get(t, id)
		switch {
		case err != nil:
			return Order{}, err
		case !found:
			return Order{}, errNotFound(id)
		case o.Status == envelope.OrderRejected:
			return o, nil
		case o.Status != envelope.OrderPending && o.Status != envelope.OrderAccepted && o.Status != envelope.OrderSubstitutionOffered:
			return Order{}, errs.Errorf(errs.Conflict, "ORDER_NOT_PENDING", "orderId", "order %q is %s and can no longer be rejected", id, o.Status)
		}
		return r.move(t, o, envelope.OrderRejected, reason, by, true)
	})
}

// Pickup redeems an order with its code: the pickup token of its QR code
// (verified offline against central's key) or its short code. It releases
// the reservation and records one PREPAID sale per line, for what the
// customer paid, so the prepaid payment is the revenue and nothing is
// charged again. machineScope, when set, is the only machine the caller
// may hand over from (a MACHINE token). It returns an *errs.Error:
// Invalid (no code), NotFound, Forbidden (another machine), Unprocessable
// INVALID_PICKUP_CODE (wrong code, forged or foreign token), Conflict
// ALREADY_PICKED_UP, ORDER_NOT_ACCEPTED or ORDER_CLOSED, Unavailable
// NO_ORDER_KEY while central's key has not reached the site.
func (r *Rules) Pickup(ctx context.Context, id, code, machineScope, by string) (Order, error) {
	if code == "" {
		return Order{}, errs.Invalidf("code", "code is required: the pickup code or the QR code's content")
	}
	if len(code) > 512 {
		return Order{}, errs.Invalidf("code", "code is too long")
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Order, error) {
		o, found, err := r.get(t, id)
		if err != nil {
			return Order{}, err
		}
		if !found {
			return Order{}, errNotFound(id)
		}
		if err := r.checkCode(t, o, code); err != nil {
			return Order{}, err
		}
		if err := machine.CheckScope(machineScope, o.MachineID); err != nil {
			return Order{}, err
		}
		switch o.Status {
		case envelope.OrderAccepted:
		case envelope.OrderPickedUp:
			return Order{}, errs.Errorf(errs.Conflict, "ALREADY_PICKED_UP", "code", "order %q was already picked up at %s", id, o.UpdatedAt.Format(time.RFC3339))
		case envelope.OrderPending:
			return Order{}, errs.Errorf(errs.Conflict, "ORDER_NOT_ACCEPTED", "orderId", "order %q waits for the operator to accept it", id)
		case envelope.OrderSubstitutionOffered:
			return Order{}, errs.Errorf(errs.Conflict, "ORDER_NOT_ACCEPTED", "orderId", "order %q waits for the customer to answer a substitute offer", id)
		default:
			return Order{}, errs.Errorf(errs.Conflict, "ORDER_CLOSED", "orderId", "order %q is %s: %s", id, o.Status, o.Reason)
		}
		if err := r.releaseHeld(t, id); err != nil {
			return Order{}, err
		}
		at := t.Now().UTC().Format(time.RFC3339Nano)
		for i, l := range o.Lines {
			q, amt := l.Quantity, wire.Money(l.AmountCents)
			if _, err := r.sales.RecordPrepaid(t, sale.In{TransactionID: fmt.Sprintf("order-%s-%d", id, i+1), MachineID: o.MachineID,
				ProductID: l.ProductID, Quantity: &q, Amount: &amt, PaymentMethod: PaymentPrepaid, Timestamp: at}); err != nil {
				// The reservation is already released in this transaction:
				// fail it whole (the view reloads) rather than half-apply.
				return Order{}, fmt.Errorf("record pickup sale of %s: %s", l.ProductID, err)
			}
		}
		return r.move(t, o, envelope.OrderPickedUp, "picked up", by, false)
	})
}

// PaymentPrepaid is the payment method of a pickup's sales: paid at
// central when the order was placed.
const PaymentPrepaid = "PREPAID"

// checkCode checks a pickup code against o.
func (r *Rules) checkCode(t *ingest.Tx, o Order, code string) error {
	bad := func(why string) error {
		return errs.Errorf(errs.Unprocessable, "INVALID_PICKUP_CODE", "code", "not a valid pickup code for order %q: %s", o.OrderID, why)
	}
	if !pickup.IsToken(code) {
		if subtle.ConstantTimeCompare([]byte(code), []byte(o.code)) != 1 {
			return bad("the code does not match")
		}
		return nil
	}
	if r.key == nil {
		return errs.Errorf(errs.Unavailable, "NO_ORDER_KEY", "code", "central's order key has not reached this site yet; use the short pickup code")
	}
	site, id, short, err := pickup.Verify(r.key, code)
	switch {
	case err != nil:
		return bad(err.Error())
	case site != t.Site().ID || id != o.OrderID:
		return bad("the QR code is for another order")
	case subtle.ConstantTimeCompare([]byte(short), []byte(o.code)) != 1:
		return bad("the code does not match")
	}
	return nil
}

// sweep refuses the substitute offers not answered in time and expires
// orders whose pickup window ended.
func (r *Rules) sweep(t *ingest.Tx) error {
	if err := r.sweepOffers(t); err != nil {
		return err
	}
	ids, err := orderIDs(t, r.expiring, t.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("find expired orders: %w", err)
	}
	for _, id := range ids {
		o, _, err := r.get(t, id)
		if err != nil {
			return err
		}
		if _, err := r.move(t, o, envelope.OrderExpired, "not picked up in its window", "system", true); err != nil {
			return err
		}
	}
	return nil
}

// orderIDs reads the order ids a sweep's query q finds (read before any
// order is moved, so the moves don't disturb the scan).
func orderIDs(t *ingest.Tx, q *ingest.Stmt, args ...any) ([]string, error) {
	rows, err := t.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Expire expires every order whose window has ended now, without waiting
// for the periodic sweep.
func (r *Rules) Expire(ctx context.Context) error {
	return r.w.Do(ctx, r.sweep)
}

// Filter selects orders for List.
type Filter struct {
	Status, MachineID string
	Limit             int
}

// List returns the site's orders, newest first.
func (r *Rules) List(ctx context.Context, f Filter) ([]Order, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := r.db.Query(ctx, `SELECT `+orderCols+` FROM orders
		WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR machine_id = ?2) ORDER BY placed_at DESC, order_id LIMIT ?3`, f.Status, f.MachineID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("list orders: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Get returns one order, or NotFound.
func (r *Rules) Get(ctx context.Context, id string) (Order, error) {
	o, err := scanOrder(r.db.QueryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE order_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, errNotFound(id)
	}
	return o, err
}
