// Package lot keeps the lots of every slot at a site: the units of a
// machine's product by expiry date and unit cost. Restocks add lots; sales
// and removals take units first expiry, first out (FEFO), inside the
// transaction of the sale or visit; a temperature excursion longer than the
// food-safety window puts a machine's perishable lots on hold until a driver
// releases or discards them.
//
// The package holds the lots in memory (an ingest.View) and changes them
// only through an *ingest.Tx, so it is called by the rule packages that own
// the change (edge/stock for visits and counts, edge/sale through
// edge/stock for sales, edge/telemetry for the lockout). Every change is a
// lot_movements row with the lot and its unit cost, and goes up to central
// as a KindLot event, except a sale's, which travels on the sale event
// (envelope.Sale.Lots) so a sale stays one outbox row.
package lot

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Lot statuses.
const (
	// Sellable units may be sold (until their expiry date).
	Sellable = "SELLABLE"
	// Hold units are not sellable: a temperature lockout put them aside.
	Hold = "HOLD"
)

// Reasons of lot movements (lot_movements.reason, envelope.Lot.Reason).
const (
	ReasonSale    = "SALE"
	ReasonRestock = "RESTOCK"
	ReasonExpired = "EXPIRED"
	ReasonDamaged = "DAMAGED"
	ReasonCount   = "COUNT"
	ReasonHold    = "HOLD"
	ReasonRelease = "RELEASE"
	ReasonSpoiled = "SPOILED"
	ReasonRelabel = "RELABEL"
)

// Lot is a run of units of one product in one machine with one expiry date
// and unit cost. Read it only inside a writer transaction.
type Lot struct {
	ID                   int64
	MachineID, ProductID string
	// Code is the supplier's lot code ("" for none).
	Code string
	// Expiry is the expiry date (YYYY-MM-DD, "" for none).
	Expiry string
	// UnitCost is the cost of one unit in cents; not Valid when unknown.
	UnitCost sql.NullInt64
	Qty      int64
	Status   string
}

// Unknown reports whether the lot was made without lot information (no
// code, no cost): units added by an old client.
func (l *Lot) Unknown() bool { return l.Code == "" && !l.UnitCost.Valid }

// Expired reports whether the lot is past its expiry date on the local
// date today (a unit is good through its expiry date).
func (l *Lot) Expired(today string) bool { return l.Expiry != "" && l.Expiry < today }

// sellable reports whether the lot's units may be sold on today.
func (l *Lot) sellable(today string) bool { return l.Status == Sellable && !l.Expired(today) }

func (l *Lot) cost() *int64 {
	if !l.UnitCost.Valid {
		return nil
	}
	v := l.UnitCost.Int64
	return &v
}

// Config tunes the lot rules. DefaultConfig gives the defaults.
type Config struct {
	// FoodSafetyWindow is how long a machine may stay above its
	// temperature limit before its perishable lots go on hold.
	FoodSafetyWindow time.Duration
}

// DefaultConfig returns the defaults: a 2-hour food-safety window (the
// limit itself is the machine's temperature maximum, 8 °C by default).
func DefaultConfig() Config { return Config{FoodSafetyWindow: 2 * time.Hour} }

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.FoodSafetyWindow <= 0 {
		return fmt.Errorf("food-safety window must be positive")
	}
	return nil
}

type slotKey struct{ machine, product string }

// Rules keeps the site's lots.
type Rules struct {
	w   *ingest.Writer
	cfg Config

	slots      map[slotKey][]*Lot // lots holding units, first expiry first
	perishable map[string]bool
	// locked is, per machine, the start of the excursion that last locked
	// it (so one excursion locks once, even after a release).
	locked map[string]int64

	insertLot, setQty, setStatus, setExpiry, insertLockout, releaseLockout *ingest.Stmt
	// moves is lot_movements, appended at commit: nothing reads a movement
	// back in the transaction that makes it.
	moves *ingest.Rows
}

// New returns the lot rules, registered on w (before w.Open). It returns an
// error for a bad cfg.
func New(w *ingest.Writer, cfg Config) (*Rules, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lot config: %w", err)
	}
	r := &Rules{
		w: w, cfg: cfg,
		insertLot: w.Prepare(`INSERT INTO lots (machine_id, product_id, lot_code, expiry_date, unit_cost_cents, quantity, status, received_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'SELLABLE', ?, ?) RETURNING lot_id`),
		// A lot's quantity is written once per group commit, however many
		// sales took from it (ingest.Tx.ExecLatest).
		setQty:    w.PrepareLatest("lots", `UPDATE lots SET quantity = ?, updated_at = ? WHERE lot_id = ?`),
		setStatus: w.Prepare(`UPDATE lots SET status = ?, hold_reason = ?, updated_at = ? WHERE lot_id = ?`),
		setExpiry: w.Prepare(`UPDATE lots SET expiry_date = ?, updated_at = ? WHERE lot_id = ?`),
		moves: w.PrepareRows("lot_movements", "lot_id", "machine_id", "product_id", "reason", "delta", "after", "unit_cost_cents",
			"ref", "performed_by", "performed_at"),
		insertLockout:  w.Prepare(`INSERT INTO temperature_lockouts (machine_id, excursion_since, locked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		releaseLockout: w.Prepare(`UPDATE temperature_lockouts SET released_at = ?, released_by = ? WHERE machine_id = ? AND released_at IS NULL`),
	}
	w.Register(r)
	return r, nil
}

// Load reads every lot holding units, the perishable products and the
// lockouts (ingest.View).
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	r.slots = map[slotKey][]*Lot{}
	r.perishable = map[string]bool{}
	r.locked = map[string]int64{}
	rows, err := db.QueryContext(ctx, `SELECT lot_id, machine_id, product_id, lot_code, expiry_date, unit_cost_cents, quantity, status
		FROM lots WHERE quantity > 0`)
	if err != nil {
		return fmt.Errorf("load lots: %w", err)
	}
	for rows.Next() {
		l := &Lot{}
		if err := rows.Scan(&l.ID, &l.MachineID, &l.ProductID, &l.Code, &l.Expiry, &l.UnitCost, &l.Qty, &l.Status); err != nil {
			rows.Close()
			return fmt.Errorf("load lots: %w", err)
		}
		k := slotKey{l.MachineID, l.ProductID}
		r.slots[k] = append(r.slots[k], l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load lots: %w", err)
	}
	for k := range r.slots {
		r.sort(k)
	}
	rows, err = db.QueryContext(ctx, `SELECT product_id FROM products WHERE perishable = 1`)
	if err != nil {
		return fmt.Errorf("load perishable products: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("load perishable products: %w", err)
		}
		r.perishable[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load perishable products: %w", err)
	}
	rows, err = db.QueryContext(ctx, `SELECT machine_id, MAX(excursion_since) FROM temperature_lockouts GROUP BY machine_id`)
	if err != nil {
		return fmt.Errorf("load lockouts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var since int64
		if err := rows.Scan(&id, &since); err != nil {
			return fmt.Errorf("load lockouts: %w", err)
		}
		r.locked[id] = since
	}
	return rows.Err()
}

// fefoLess orders lots first expiry first out: the earliest date first, a
// lot without a date last, then the older lot.
func fefoLess(a, b *Lot) bool {
	switch {
	case a.Expiry == b.Expiry:
		return a.ID < b.ID
	case a.Expiry == "":
		return false
	case b.Expiry == "":
		return true
	}
	return a.Expiry < b.Expiry
}

func (r *Rules) sort(k slotKey) {
	ls := r.slots[k]
	sort.SliceStable(ls, func(i, j int) bool { return fefoLess(ls[i], ls[j]) })
}

// Lots returns the lots of a machine's product that hold units, first
// expiry first. Call it only inside a writer transaction; do not change them.
func (r *Rules) Lots(machineID, productID string) []*Lot {
	return r.slots[slotKey{machineID, productID}]
}

// Earliest is the earliest expiry date of the units of a machine's product,
// or fallback when no lot holding units has a date.
func (r *Rules) Earliest(machineID, productID, fallback string) string {
	for _, l := range r.slots[slotKey{machineID, productID}] {
		if l.Expiry != "" {
			return l.Expiry // sorted: the first dated lot is the earliest
		}
	}
	return fallback
}

// Perishable reports whether a product is perishable.
func (r *Rules) Perishable(productID string) bool { return r.perishable[productID] }

// SetPerishable records a product's perishable flag in the view; the
// caller (edge/stock, which owns the products table) writes the column.
func (r *Rules) SetPerishable(productID string, on bool) {
	if on {
		r.perishable[productID] = true
	} else {
		delete(r.perishable, productID)
	}
}

// In is the lot information of units added: all optional. Units without a
// code or a cost go into the slot's unknown lot of the same expiry date.
type In struct {
	Code     string
	Expiry   string
	UnitCost *int64
}

// Change is who made a change and why: the reason of its movement rows, the
// reference (a visit's movement id) and who.
type Change struct {
	Reason, Ref, By string
}

// Add puts qty units of a machine's product into a lot: a new one, or the
// slot's sellable unknown lot of the same expiry date when in has no code
// and no cost. It records the movement and emits the lot's event.
func (r *Rules) Add(t *ingest.Tx, machineID, productID string, qty int64, in In, c Change) (*Lot, error) {
	k := slotKey{machineID, productID}
	if in.Code == "" && in.UnitCost == nil {
		for _, l := range r.slots[k] {
			if l.Unknown() && l.Expiry == in.Expiry && l.Status == Sellable {
				if err := r.setLotQty(t, l, l.Qty+qty, c); err != nil {
					return nil, err
				}
				return l, nil
			}
		}
	}
	now := t.Now().UnixMilli()
	l := &Lot{MachineID: machineID, ProductID: productID, Code: in.Code, Expiry: in.Expiry, Status: Sellable}
	if in.UnitCost != nil {
		l.UnitCost = sql.NullInt64{Int64: *in.UnitCost, Valid: true}
	}
	if err := t.QueryRow(r.insertLot, machineID, productID, in.Code, in.Expiry, l.UnitCost, 0, now, now).Scan(&l.ID); err != nil {
		return nil, fmt.Errorf("insert lot: %w", err)
	}
	r.slots[k] = append(r.slots[k], l)
	r.sort(k)
	if err := r.setLotQty(t, l, qty, c); err != nil {
		return nil, err
	}
	return l, nil
}

// setLotQty sets a lot's quantity, records the movement and emits the event.
func (r *Rules) setLotQty(t *ingest.Tx, l *Lot, qty int64, c Change) error {
	delta := qty - l.Qty
	if err := r.write(t, l, qty, c); err != nil {
		return err
	}
	return r.emit(t, l, delta, c)
}

// write sets a lot's quantity and records its movement (no event).
func (r *Rules) write(t *ingest.Tx, l *Lot, qty int64, c Change) error {
	delta := qty - l.Qty
	now := t.Now().UnixMilli()
	t.ExecLatest(r.setQty, l.ID, qty, now, l.ID)
	t.Append(r.moves, l.ID, l.MachineID, l.ProductID, c.Reason, delta, qty, l.UnitCost, c.Ref, c.By, now)
	l.Qty = qty
	if qty == 0 {
		r.drop(l)
	}
	return nil
}

// drop removes an emptied lot from the view (its row stays).
func (r *Rules) drop(l *Lot) {
	k := slotKey{l.MachineID, l.ProductID}
	ls := r.slots[k]
	for i, x := range ls {
		if x == l {
			ls = append(ls[:i:i], ls[i+1:]...)
			break
		}
	}
	if len(ls) == 0 {
		delete(r.slots, k)
		return
	}
	r.slots[k] = ls
}

func (r *Rules) emit(t *ingest.Tx, l *Lot, delta int64, c Change) error {
	_, err := t.Emit(envelope.KindLot, t.Now(), envelope.Lot{LotID: l.ID, MachineID: l.MachineID, ProductID: l.ProductID, Code: l.Code,
		ExpiryDate: l.Expiry, UnitCostCents: l.cost(), Quantity: l.Qty, Status: l.Status, Delta: delta, Reason: c.Reason, Ref: c.Ref, By: c.By})
	return err
}

// Taken is what a sale or a removal took from the lots.
type Taken struct {
	// Uses are the units taken per lot, in the order taken.
	Uses []envelope.LotUse
	// Unbacked is the units no lot held (the site's count was wrong).
	Unbacked int64
	// Expired and OnHold are the units taken past their expiry date or on
	// hold (a sale of them is flagged).
	Expired, OnHold int64
	// ExpiredUnknown is the part of Expired taken from unknown lots (made
	// without lot information by an old client): their date is the slot's
	// one date, which its EXPIRED alert already covers.
	ExpiredUnknown int64
	// Cogs is the sum of the taken units' costs; CostKnown is false when a
	// taken unit's cost is unknown (or a unit was unbacked).
	Cogs      int64
	CostKnown bool
}

// Flags are the sale flags the taken units call for.
func (tk Taken) Flags() []string {
	var f []string
	if tk.Expired > 0 {
		f = append(f, envelope.FlagSoldExpired)
	}
	if tk.OnHold > 0 {
		f = append(f, envelope.FlagSoldOnHold)
	}
	return f
}

// CogsCents is Cogs when every unit's cost is known, else nil.
func (tk Taken) CogsCents() *int64 {
	if !tk.CostKnown {
		return nil
	}
	v := tk.Cogs
	return &v
}

// Sell takes qty units of a machine's product for a sale, first expiry
// first out among the sellable units (status SELLABLE, not past their date
// on the transaction's local date); only when those run out does it take
// expired or held units (the machine dispensed them: a sale is a fact),
// counted in Taken.Expired and Taken.OnHold. No lot event is emitted: the
// caller puts Taken.Uses on the sale.
func (r *Rules) Sell(t *ingest.Tx, machineID, productID string, qty int64, transactionID string) (Taken, error) {
	today := t.Today()
	c := Change{Reason: ReasonSale, Ref: transactionID, By: machineID}
	tk := Taken{CostKnown: true}
	left := qty
	// Two passes over a copy: the view shrinks as lots empty.
	lots := append([]*Lot(nil), r.slots[slotKey{machineID, productID}]...)
	for pass := 0; pass < 2 && left > 0; pass++ {
		for _, l := range lots {
			if left == 0 {
				break
			}
			if l.Qty == 0 || l.sellable(today) != (pass == 0) {
				continue
			}
			n := min(left, l.Qty)
			if l.Status == Hold {
				tk.OnHold += n
			} else if l.Expired(today) {
				tk.Expired += n
				if l.Unknown() {
					tk.ExpiredUnknown += n
				}
			}
			if err := r.take(t, l, n, c, &tk); err != nil {
				return tk, err
			}
			left -= n
		}
	}
	tk.Unbacked = left
	if left > 0 {
		tk.CostKnown = false
	}
	return tk, nil
}

func (r *Rules) take(t *ingest.Tx, l *Lot, n int64, c Change, tk *Taken) error {
	if l.UnitCost.Valid {
		tk.Cogs += n * l.UnitCost.Int64
	} else {
		tk.CostKnown = false
	}
	cost := l.cost()
	if err := r.write(t, l, l.Qty-n, c); err != nil {
		return err
	}
	tk.Uses = append(tk.Uses, envelope.LotUse{LotID: l.ID, Quantity: n, After: l.Qty, UnitCostCents: cost})
	return nil
}

// Remove takes qty units of a machine's product out of the machine (expired,
// damaged, counted away), first expiry first out over every lot, and emits
// each lot's event.
func (r *Rules) Remove(t *ingest.Tx, machineID, productID string, qty int64, c Change) (Taken, error) {
	tk := Taken{CostKnown: true}
	left := qty
	for _, l := range append([]*Lot(nil), r.slots[slotKey{machineID, productID}]...) {
		if left == 0 {
			break
		}
		n := min(left, l.Qty)
		if err := r.take(t, l, n, c, &tk); err != nil {
			return tk, err
		}
		if err := r.emit(t, l, -n, c); err != nil {
			return tk, err
		}
		left -= n
	}
	tk.Unbacked = left
	return tk, nil
}

// Relabel gives lots of a machine's product that hold units the expiry date
// expiry: every lot (an old client correcting the slot's one date), or with
// sooner only the unknown lots dated later or not at all (an old client's
// visit saying the units expire sooner than the slot's date).
func (r *Rules) Relabel(t *ingest.Tx, machineID, productID, expiry string, sooner bool, c Change) error {
	k := slotKey{machineID, productID}
	for _, l := range r.slots[k] {
		if l.Expiry == expiry || (sooner && (!l.Unknown() || (l.Expiry != "" && l.Expiry < expiry))) {
			continue
		}
		if _, err := t.Exec(r.setExpiry, expiry, t.Now().UnixMilli(), l.ID); err != nil {
			return fmt.Errorf("relabel lot: %w", err)
		}
		l.Expiry = expiry
		if err := r.emit(t, l, 0, c); err != nil {
			return err
		}
	}
	r.sort(k)
	return nil
}

// setLotStatus changes a lot's status, records it and emits the event.
func (r *Rules) setLotStatus(t *ingest.Tx, l *Lot, status, why string, c Change) error {
	now := t.Now().UnixMilli()
	if _, err := t.Exec(r.setStatus, status, why, now, l.ID); err != nil {
		return fmt.Errorf("set lot status: %w", err)
	}
	t.Append(r.moves, l.ID, l.MachineID, l.ProductID, c.Reason, 0, l.Qty, l.UnitCost, c.Ref, c.By, now)
	l.Status = status
	return r.emit(t, l, 0, c)
}
