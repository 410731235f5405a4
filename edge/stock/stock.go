// Package stock owns what each machine holds: its products (seed 000
// /machines/{id}/products: price, count, expiry, limits), restock visits
// (POST /machines/{id}/restock), the units a sale takes, and the stock alerts
// that follow (decided by edge/alert). It keeps every slot in memory so a
// sale needs no read.
package stock

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/lot"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Slot is a product in a machine: its price and what the edge thinks it
// holds. Read it only inside a writer transaction; only this package
// changes it.
type Slot struct {
	MachineID, ProductID string
	// Price is the price of one unit in cents.
	Price int64
	// Qty is the units in the machine; Low the low-stock limit.
	Qty, Low int64
	Par      sql.NullInt64
	// Expiry is the earliest expiry date of the units (YYYY-MM-DD, "" for none).
	Expiry string
	// Cap is the slot's capacity (the most units its coil holds), if known.
	Cap sql.NullInt64
}

func (s *Slot) alertSlot() alert.Slot {
	return alert.Slot{MachineID: s.MachineID, ProductID: s.ProductID, Qty: s.Qty, Low: s.Low, Expiry: s.Expiry}
}

type product struct {
	name       string
	casePack   int64
	perishable bool
}

type slotKey struct{ machine, product string }

// Rules keeps the site's stock.
type Rules struct {
	w        *ingest.Writer
	machines *machine.Rules
	alerts   alert.Thresholds
	cfg      Config
	lots     *lot.Rules

	products map[string]*product
	slots    map[slotKey]*Slot

	setQty, insertProduct, updateProduct, insertSlot, updateSlot, restockSlot, findMovement, insertMovement, soldSince *ingest.Stmt
	setExpiry, setPerishable                                                                                           *ingest.Stmt
}

// Config bounds the stock rules. DefaultConfig gives the defaults.
type Config struct {
	// Thresholds decide the stock alerts.
	Thresholds alert.Thresholds
	// MaxClockSkew is how far ahead of the edge's clock a visit's
	// performedAt may be.
	MaxClockSkew time.Duration
	// MaxVisitAge is how old a visit delivered late may be.
	MaxVisitAge time.Duration
	// Lots keeps the slots' lots; nil makes one with lot.DefaultConfig.
	Lots *lot.Rules
}

// DefaultConfig returns the defaults: the default thresholds, 5 minutes of
// clock skew and visits up to 7 days old.
func DefaultConfig() Config {
	return Config{Thresholds: alert.DefaultThresholds(), MaxClockSkew: 5 * time.Minute, MaxVisitAge: 7 * 24 * time.Hour}
}

// New returns the stock rules, registered on w (before w.Open): a view of
// every slot and product, and a sweep that re-evaluates expiry alerts. A
// zero MaxClockSkew or MaxVisitAge takes its default.
func New(w *ingest.Writer, machines *machine.Rules, cfg Config) *Rules {
	def := DefaultConfig()
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = def.MaxClockSkew
	}
	if cfg.MaxVisitAge <= 0 {
		cfg.MaxVisitAge = def.MaxVisitAge
	}
	if cfg.Lots == nil {
		cfg.Lots, _ = lot.New(w, lot.DefaultConfig()) // the default config is valid
	}
	r := &Rules{
		w: w, machines: machines, alerts: cfg.Thresholds, cfg: cfg, lots: cfg.Lots,
		products:       map[string]*product{},
		slots:          map[slotKey]*Slot{},
		setQty:         w.PrepareLatest("machine_inventory", `UPDATE machine_inventory SET quantity = ?, updated_at = ? WHERE machine_id = ? AND product_id = ?`),
		insertProduct:  w.Prepare(`INSERT INTO products (product_id, name, case_pack, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
		updateProduct:  w.Prepare(`UPDATE products SET name = ?, case_pack = ?, updated_at = ? WHERE product_id = ?`),
		insertSlot:     w.Prepare(insertSlot),
		updateSlot:     w.Prepare(updateSlot),
		restockSlot:    w.Prepare(`UPDATE machine_inventory SET quantity = ?, expiry_date = ?, updated_at = ? WHERE machine_id = ? AND product_id = ?`),
		findMovement:   w.Prepare(findMovement),
		insertMovement: w.Prepare(insertMovement),
		soldSince:      w.Prepare(soldSince),
		setExpiry:      w.Prepare(`UPDATE machine_inventory SET expiry_date = ? WHERE machine_id = ? AND product_id = ?`),
		setPerishable:  w.Prepare(`UPDATE products SET perishable = ?, updated_at = ? WHERE product_id = ?`),
	}
	w.Register(r)
	w.OnSweep(r.sweep)
	return r
}

const (
	insertSlot = `INSERT INTO machine_inventory (machine_id, product_id, price_cents, quantity, expiry_date, low_stock_limit, par_level, updated_at, capacity)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateSlot = `UPDATE machine_inventory SET price_cents = ?, quantity = ?, expiry_date = ?, low_stock_limit = ?, par_level = ?, updated_at = ?, capacity = ?
		WHERE machine_id = ? AND product_id = ?`
)

// Load reads every product and slot (ingest.View).
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	r.products = map[string]*product{}
	r.slots = map[slotKey]*Slot{}
	rows, err := db.QueryContext(ctx, `SELECT product_id, name, case_pack, perishable FROM products`)
	if err != nil {
		return fmt.Errorf("load products: %w", err)
	}
	for rows.Next() {
		p := &product{}
		var id string
		if err := rows.Scan(&id, &p.name, &p.casePack, &p.perishable); err != nil {
			rows.Close()
			return fmt.Errorf("load products: %w", err)
		}
		r.products[id] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load products: %w", err)
	}
	rows, err = db.QueryContext(ctx, `SELECT machine_id, product_id, price_cents, quantity, low_stock_limit, par_level, COALESCE(expiry_date, ''), capacity FROM machine_inventory`)
	if err != nil {
		return fmt.Errorf("load inventory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		s := &Slot{}
		if err := rows.Scan(&s.MachineID, &s.ProductID, &s.Price, &s.Qty, &s.Low, &s.Par, &s.Expiry, &s.Cap); err != nil {
			return fmt.Errorf("load inventory: %w", err)
		}
		r.slots[slotKey{s.MachineID, s.ProductID}] = s
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load inventory: %w", err)
	}
	return nil
}

// Slot returns the slot of product in machine, nil if the machine does not
// stock it. Call it only inside a writer transaction.
func (r *Rules) Slot(machineID, productID string) *Slot {
	return r.slots[slotKey{machineID, productID}]
}

// Sell takes the units of a sale from s: the count goes down (not below
// zero), INVENTORY_MISMATCH opens if the machine sold more than the edge
// thought it held (the sale is a fact, the count is what is wrong), and the
// stock alerts follow. The sale's own event must already be emitted.
func (r *Rules) Sell(t *ingest.Tx, s *Slot, qty int64, transactionID string) error {
	before := s.Qty
	s.Qty = max(0, before-qty)
	// Written once per group commit however many sales took from the slot.
	t.ExecLatest(r.setQty, slotKey{s.MachineID, s.ProductID}, s.Qty, t.Now().UnixMilli(), s.MachineID, s.ProductID)
	if qty > before {
		if err := alert.Oversold(t, s.MachineID, s.ProductID, transactionID, qty, before); err != nil {
			return err
		}
	}
	if err := r.deriveExpiry(t, s, s.Expiry, "SALE", s.MachineID); err != nil {
		return err
	}
	return r.alerts.CheckStock(t, s.alertSlot(), "SALE")
}

// Lots is the site's lot rules (the slots' lots).
func (r *Rules) Lots() *lot.Rules { return r.lots }

// SellLots takes the units of a sale from s's lots, first expiry first out
// (see lot.Rules.Sell), before the sale's event is emitted (it emits
// nothing): the event carries the lots, the cost of goods and the flags.
// After the sale's event, call Sell and then SoldUnfit.
func (r *Rules) SellLots(t *ingest.Tx, s *Slot, qty int64, transactionID string) (lot.Taken, error) {
	return r.lots.Sell(t, s.MachineID, s.ProductID, qty, transactionID)
}

// SoldUnfit opens SOLD_EXPIRED when a sale took units on hold or past their
// date (tk from SellLots). Units of an unknown lot (an old client's
// restock) keep the slot's old expiry semantics: the sale is flagged, but
// the slot's EXPIRED alert is the alert.
func (r *Rules) SoldUnfit(t *ingest.Tx, s *Slot, tk lot.Taken, transactionID string) error {
	n := tk.Expired - tk.ExpiredUnknown + tk.OnHold
	if n == 0 {
		return nil
	}
	return alert.SoldExpired(t, s.MachineID, s.ProductID, transactionID, n, tk.Flags()[0])
}

// deriveExpiry sets s's expiry to the earliest of its lots (fallback when
// none is dated), writing it and sending the slot up when it changed.
func (r *Rules) deriveExpiry(t *ingest.Tx, s *Slot, fallback, reason, by string) error {
	exp := r.lots.Earliest(s.MachineID, s.ProductID, fallback)
	if exp == s.Expiry {
		return nil
	}
	s.Expiry = exp
	if _, err := t.Exec(r.setExpiry, nullable(exp), s.MachineID, s.ProductID); err != nil {
		return fmt.Errorf("update expiry: %w", err)
	}
	if err := r.inventoryEvent(t, s, "UPDATED", by); err != nil {
		return err
	}
	return r.alerts.CheckExpiry(t, s.alertSlot(), reason)
}

// sweep re-evaluates expiry on the site-local date (machines retired excepted).
func (r *Rules) sweep(t *ingest.Tx) error {
	for _, s := range r.slots {
		if m := r.machines.Get(s.MachineID); m == nil || m.Decommissioned() {
			continue
		}
		if err := r.alerts.CheckExpiry(t, s.alertSlot(), "SWEEP"); err != nil {
			return err
		}
	}
	return nil
}

// ProductIn adds a product to a machine (seed 000 POST /machines/{id}/products).
type ProductIn struct {
	ProductID     string      `json:"productId"`
	Name          string      `json:"name"`
	Price         *wire.Money `json:"price"`
	Quantity      *int64      `json:"quantity"`
	ExpiryDate    string      `json:"expiryDate"`
	LowStockLimit *int64      `json:"lowStockLimit"`
	ParLevel      *int64      `json:"parLevel"`
	CasePack      *int64      `json:"casePack"`
	// Perishable marks the product as perishable (put on hold by a
	// temperature lockout); it applies to the product at the whole site.
	Perishable *bool `json:"perishable,omitempty"`
	// Capacity is the most units the slot's coil holds (at least 1, and
	// at least the par level when both are set).
	Capacity *int64 `json:"capacity,omitempty"`
}

// ProductPatch changes a machine's product (PATCH /machines/{id}/products/{pid}).
// A quantity is a counted correction of the stock.
type ProductPatch struct {
	Name          *string     `json:"name"`
	Price         *wire.Money `json:"price"`
	Quantity      *int64      `json:"quantity"`
	ExpiryDate    *string     `json:"expiryDate"`
	LowStockLimit *int64      `json:"lowStockLimit"`
	ParLevel      *int64      `json:"parLevel"`
	CasePack      *int64      `json:"casePack"`
	// Perishable marks or unmarks the product as perishable (site-wide).
	Perishable *bool `json:"perishable,omitempty"`
	// Capacity sets the most units the slot's coil holds.
	Capacity *int64 `json:"capacity,omitempty"`
}

func (r *Rules) inventoryEvent(t *ingest.Tx, s *Slot, action, by string) error {
	p := r.products[s.ProductID]
	ev := envelope.Inventory{MachineID: s.MachineID, ProductID: s.ProductID, Name: p.name, PriceCents: s.Price, Quantity: s.Qty,
		ExpiryDate: s.Expiry, LowStockLimit: s.Low, CasePack: p.casePack, Action: action, By: by}
	if s.Par.Valid {
		v := s.Par.Int64
		ev.ParLevel = &v
	}
	if s.Cap.Valid {
		v := s.Cap.Int64
		ev.Capacity = &v
	}
	_, err := t.Emit(envelope.KindInventory, t.Now(), ev)
	return err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AddProduct puts a product into a machine, creating the catalog entry if
// the site has not seen the product before, audited as done by by. It
// returns an errs.Invalid error naming the bad field, 404 NOT_FOUND for an
// unknown machine, 409 MACHINE_DECOMMISSIONED, or 409 PRODUCT_EXISTS if the
// machine already has it (use UpdateProduct).
func (r *Rules) AddProduct(ctx context.Context, machineID string, in ProductIn, by string) (store.InventoryItem, error) {
	if err := check.ID("productId", in.ProductID); err != nil {
		return store.InventoryItem{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 128 {
		return store.InventoryItem{}, errs.Invalidf("name", "name is required (at most 128 characters)")
	}
	if in.Price == nil {
		return store.InventoryItem{}, errs.Invalidf("price", "price is required")
	}
	if in.Quantity == nil {
		return store.InventoryItem{}, errs.Invalidf("quantity", "quantity is required")
	}
	if err := check.First(check.Price(in.Price), check.Count("quantity", in.Quantity, wire.MaxQuantity),
		check.Count("lowStockLimit", in.LowStockLimit, wire.MaxQuantity), check.Count("parLevel", in.ParLevel, wire.MaxQuantity),
		check.Count("casePack", in.CasePack, wire.MaxCasePack), check.Date("expiryDate", in.ExpiryDate),
		checkCapacity(in.Capacity), capacityFits(in.Capacity, in.ParLevel, "capacity")); err != nil {
		return store.InventoryItem{}, err
	}
	err := r.w.Do(ctx, func(t *ingest.Tx) error {
		if _, err := r.machines.Find(machineID); err != nil {
			return err
		}
		k := slotKey{machineID, in.ProductID}
		if r.slots[k] != nil {
			return errs.Errorf(errs.Conflict, "PRODUCT_EXISTS", "productId", "machine %q already has product %q; use PATCH to change it", machineID, in.ProductID)
		}
		now := t.Now().UnixMilli()
		p := r.products[in.ProductID]
		casePack := int64(0)
		if in.CasePack != nil {
			casePack = *in.CasePack
		}
		if p == nil {
			if _, err := t.Exec(r.insertProduct, in.ProductID, in.Name, casePack, now, now); err != nil {
				return fmt.Errorf("insert product: %w", err)
			}
			p = &product{name: in.Name, casePack: casePack}
			r.products[in.ProductID] = p
		} else if p.name != in.Name || (in.CasePack != nil && p.casePack != casePack) {
			if in.CasePack == nil {
				casePack = p.casePack
			}
			if _, err := t.Exec(r.updateProduct, in.Name, casePack, now, in.ProductID); err != nil {
				return fmt.Errorf("update product: %w", err)
			}
			p.name, p.casePack = in.Name, casePack
		}
		s := &Slot{MachineID: machineID, ProductID: in.ProductID, Price: int64(*in.Price), Qty: *in.Quantity, Low: 5, Expiry: in.ExpiryDate}
		if in.LowStockLimit != nil {
			s.Low = *in.LowStockLimit
		}
		if in.ParLevel != nil {
			s.Par = sql.NullInt64{Int64: *in.ParLevel, Valid: true}
		}
		if in.Capacity != nil {
			s.Cap = sql.NullInt64{Int64: *in.Capacity, Valid: true}
		}
		if _, err := t.Exec(r.insertSlot, machineID, in.ProductID, s.Price, s.Qty, nullable(s.Expiry), s.Low, s.Par, now, s.Cap); err != nil {
			return fmt.Errorf("insert inventory: %w", err)
		}
		r.slots[k] = s
		if err := r.perishableSet(t, in.ProductID, in.Perishable); err != nil {
			return err
		}
		if s.Qty > 0 {
			if _, err := r.lots.Add(t, machineID, in.ProductID, s.Qty, lot.In{Expiry: s.Expiry}, lot.Change{Reason: lot.ReasonCount, Ref: "ADD_PRODUCT", By: by}); err != nil {
				return err
			}
		}
		if err := t.Audit("inventory", machineID+"/"+in.ProductID, "ADD_PRODUCT", by, in); err != nil {
			return err
		}
		if err := r.inventoryEvent(t, s, "ADDED", by); err != nil {
			return err
		}
		return r.alerts.CheckStock(t, s.alertSlot(), "ADDED")
	})
	if err != nil {
		return store.InventoryItem{}, err
	}
	return r.item(ctx, machineID, in.ProductID)
}

func (r *Rules) item(ctx context.Context, machineID, productID string) (store.InventoryItem, error) {
	items, err := r.w.Store().Inventory(ctx, machineID)
	if err != nil {
		return store.InventoryItem{}, err
	}
	for _, it := range items {
		if it.ProductID == productID {
			return it, nil
		}
	}
	return store.InventoryItem{}, fmt.Errorf("product %q on %q: %w", productID, machineID, store.ErrNotFound)
}

// UpdateProduct changes a machine's product: price, stock count, expiry,
// limits, name or case pack, audited as done by by. A new quantity is
// recorded as a COUNT stock movement and closes INVENTORY_MISMATCH. It
// returns an errs.Invalid error naming the bad field, 404 NOT_FOUND for an
// unknown machine or product, or 409 MACHINE_DECOMMISSIONED.
func (r *Rules) UpdateProduct(ctx context.Context, machineID, productID string, p ProductPatch, by string) (store.InventoryItem, error) {
	if p == (ProductPatch{}) {
		return store.InventoryItem{}, errs.Invalidf("", "nothing to change: give price, quantity, expiryDate, lowStockLimit, parLevel, capacity, casePack, perishable or name")
	}
	if p.Name != nil && (strings.TrimSpace(*p.Name) == "" || len(*p.Name) > 128) {
		return store.InventoryItem{}, errs.Invalidf("name", "name must be 1 to 128 characters")
	}
	if err := check.First(check.Price(p.Price), check.Count("quantity", p.Quantity, wire.MaxQuantity),
		check.Count("lowStockLimit", p.LowStockLimit, wire.MaxQuantity), check.Count("parLevel", p.ParLevel, wire.MaxQuantity),
		check.Count("casePack", p.CasePack, wire.MaxCasePack), checkCapacity(p.Capacity)); err != nil {
		return store.InventoryItem{}, err
	}
	if p.ExpiryDate != nil {
		if err := check.Date("expiryDate", *p.ExpiryDate); err != nil {
			return store.InventoryItem{}, err
		}
	}
	err := r.w.Do(ctx, func(t *ingest.Tx) error {
		if _, err := r.machines.Find(machineID); err != nil {
			return err
		}
		cur := r.slots[slotKey{machineID, productID}]
		if cur == nil {
			return errs.NotFoundf("productId", "machine %q has no product %q", machineID, productID)
		}
		return r.update(t, cur, p, by)
	})
	if err != nil {
		return store.InventoryItem{}, err
	}
	return r.item(ctx, machineID, productID)
}

func (r *Rules) update(t *ingest.Tx, cur *Slot, p ProductPatch, by string) error {
	n := *cur
	if p.Price != nil {
		n.Price = int64(*p.Price)
	}
	if p.Quantity != nil {
		n.Qty = *p.Quantity
	}
	if p.ExpiryDate != nil {
		n.Expiry = *p.ExpiryDate
	}
	if p.LowStockLimit != nil {
		n.Low = *p.LowStockLimit
	}
	if p.ParLevel != nil {
		n.Par = sql.NullInt64{Int64: *p.ParLevel, Valid: true}
	}
	if p.Capacity != nil {
		n.Cap = sql.NullInt64{Int64: *p.Capacity, Valid: true}
	}
	if n.Cap.Valid && n.Par.Valid {
		field := "parLevel"
		if p.Capacity != nil {
			field = "capacity"
		}
		if err := capacityFits(&n.Cap.Int64, &n.Par.Int64, field); err != nil {
			return err
		}
	}
	now := t.Now().UnixMilli()
	// The lots follow a counted quantity (units found go to the unknown
	// lot of the slot's date, units missing leave first expiry first) and
	// take a corrected date; the slot's date is then their earliest.
	ch := lot.Change{Reason: lot.ReasonCount, Ref: "UPDATE_PRODUCT", By: by}
	if d := n.Qty - cur.Qty; d > 0 {
		if _, err := r.lots.Add(t, n.MachineID, n.ProductID, d, lot.In{Expiry: cur.Expiry}, ch); err != nil {
			return err
		}
	} else if d < 0 {
		if _, err := r.lots.Remove(t, n.MachineID, n.ProductID, -d, ch); err != nil {
			return err
		}
	}
	if p.ExpiryDate != nil {
		if err := r.lots.Relabel(t, n.MachineID, n.ProductID, *p.ExpiryDate, false, lot.Change{Reason: lot.ReasonRelabel, Ref: "UPDATE_PRODUCT", By: by}); err != nil {
			return err
		}
	}
	n.Expiry = r.lots.Earliest(n.MachineID, n.ProductID, n.Expiry)
	if err := r.perishableSet(t, n.ProductID, p.Perishable); err != nil {
		return err
	}
	if _, err := t.Exec(r.updateSlot, n.Price, n.Qty, nullable(n.Expiry), n.Low, n.Par, now, n.Cap, n.MachineID, n.ProductID); err != nil {
		return fmt.Errorf("update inventory: %w", err)
	}
	if p.Name != nil || p.CasePack != nil {
		pr := r.products[n.ProductID]
		np := *pr
		if p.Name != nil {
			np.name = strings.TrimSpace(*p.Name)
		}
		if p.CasePack != nil {
			np.casePack = *p.CasePack
		}
		if _, err := t.Exec(r.updateProduct, np.name, np.casePack, now, n.ProductID); err != nil {
			return fmt.Errorf("update product: %w", err)
		}
		*pr = np
	}
	before := cur.Qty
	*cur = n
	if err := t.Audit("inventory", n.MachineID+"/"+n.ProductID, "UPDATE_PRODUCT", by, p); err != nil {
		return err
	}
	if err := r.inventoryEvent(t, cur, "UPDATED", by); err != nil {
		return err
	}
	if p.Quantity != nil {
		if _, err := t.Emit(envelope.KindStock, t.Now(), envelope.StockMovement{MachineID: n.MachineID, ProductID: n.ProductID,
			Reason: ReasonCount, Delta: n.Qty - before, After: n.Qty, By: by}); err != nil {
			return err
		}
		if err := alert.Counted(t, n.MachineID, n.ProductID); err != nil {
			return err
		}
	}
	return r.alerts.CheckStock(t, cur.alertSlot(), "UPDATED")
}

// perishableSet writes a product's perishable flag when on is given and
// differs from what the site has.
func (r *Rules) perishableSet(t *ingest.Tx, productID string, on *bool) error {
	p := r.products[productID]
	if on == nil || p == nil || p.perishable == *on {
		return nil
	}
	if _, err := t.Exec(r.setPerishable, *on, t.Now().UnixMilli(), productID); err != nil {
		return fmt.Errorf("update product: %w", err)
	}
	p.perishable = *on
	r.lots.SetPerishable(productID, *on)
	return nil
}

// checkCapacity checks an optional capacity is 1 to wire.MaxQuantity.
func checkCapacity(v *int64) error {
	if v != nil && (*v < 1 || *v > wire.MaxQuantity) {
		return errs.Invalidf("capacity", "capacity %d: must be between 1 and %d", *v, wire.MaxQuantity)
	}
	return nil
}

// capacityFits checks a slot's capacity holds its par level when both are
// set, naming field when it does not.
func capacityFits(capacity, par *int64, field string) error {
	if capacity != nil && par != nil && *capacity < *par {
		return errs.Invalidf(field, "capacity %d is below the par level %d: a slot cannot be filled beyond what it holds", *capacity, *par)
	}
	return nil
}
