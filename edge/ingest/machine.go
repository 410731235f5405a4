package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// LocationIn is a machine's location as posted.
type LocationIn struct {
	City     string   `json:"city"`
	Building string   `json:"building"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
}

// MachineIn registers a machine (seed 000 POST /machines).
type MachineIn struct {
	MachineID      string      `json:"machineId"`
	Location       *LocationIn `json:"location"`
	PaymentMethods []string    `json:"paymentMethods"`
	Status         string      `json:"status"`
	TemperatureMax *float64    `json:"temperatureMax"`
}

// LocationPatch changes some of a machine's location fields.
type LocationPatch struct {
	City     *string  `json:"city"`
	Building *string  `json:"building"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
}

// MachinePatch changes a machine (seed 000 PATCH /machines/{id}).
type MachinePatch struct {
	Location       *LocationPatch `json:"location"`
	PaymentMethods []string       `json:"paymentMethods"`
	Status         *string        `json:"status"`
	TemperatureMax *float64       `json:"temperatureMax"`
}

// Statuses a machine can be set to with PATCH; DELETE decommissions.
var settableStatus = []string{"ACTIVE", "INACTIVE", "UNDER_MAINTENANCE"}

func normStatus(s string) (string, *web.Error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "MAINTENANCE" {
		s = "UNDER_MAINTENANCE"
	}
	if !slices.Contains(settableStatus, s) {
		return "", web.Invalid("status", "status %q: must be ACTIVE, INACTIVE or UNDER_MAINTENANCE (DELETE decommissions)", s)
	}
	return s, nil
}

func checkCoords(lat, lng *float64) *web.Error {
	if lat != nil && (math.IsNaN(*lat) || *lat < -90 || *lat > 90) {
		return web.Invalid("location.lat", "lat %v: must be between -90 and 90", *lat)
	}
	if lng != nil && (math.IsNaN(*lng) || *lng < -180 || *lng > 180) {
		return web.Invalid("location.lng", "lng %v: must be between -180 and 180", *lng)
	}
	return nil
}

func checkPayments(pm []string) ([]string, *web.Error) {
	out := make([]string, 0, len(pm))
	for _, p := range pm {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" || len(p) > 32 {
			return nil, web.Invalid("paymentMethods", "payment method %q: must be 1 to 32 characters", p)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func checkTemp(v *float64) *web.Error {
	if v != nil && (math.IsNaN(*v) || *v < -40 || *v > 60) {
		return web.Invalid("temperatureMax", "temperatureMax %v: must be between -40 and 60 °C", *v)
	}
	return nil
}

func machineEvent(m *machine, action string) envelope.Machine {
	return envelope.Machine{MachineID: m.id, City: m.city, Building: m.building, Lat: m.lat, Lng: m.lng,
		PaymentMethods: m.payment, Status: m.status, TempMaxC: m.tempMax, Action: action}
}

// RegisterMachine registers a machine. It answers 409 MACHINE_EXISTS for a
// machine id already registered (decommissioned ones included: ids are never
// reused, so history stays unambiguous).
func (w *Writer) RegisterMachine(ctx context.Context, in MachineIn, by string) error {
	if e := ValidID("machineId", in.MachineID); e != nil {
		return e
	}
	if in.Location == nil {
		return web.Invalid("location", "location is required")
	}
	if strings.TrimSpace(in.Location.City) == "" {
		return web.Invalid("location.city", "location.city is required")
	}
	if e := checkCoords(in.Location.Lat, in.Location.Lng); e != nil {
		return e
	}
	pm, e := checkPayments(in.PaymentMethods)
	if e != nil {
		return e
	}
	status := "ACTIVE"
	if in.Status != "" {
		if status, e = normStatus(in.Status); e != nil {
			return e
		}
	}
	if e := checkTemp(in.TemperatureMax); e != nil {
		return e
	}
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		if _, ok := t.w.machines[in.MachineID]; ok {
			return nil, web.Errorf(http.StatusConflict, "MACHINE_EXISTS", "machineId", "machine %q is already registered", in.MachineID)
		}
		m := &machine{id: in.MachineID, status: status, city: strings.TrimSpace(in.Location.City), building: strings.TrimSpace(in.Location.Building),
			lat: in.Location.Lat, lng: in.Location.Lng, payment: pm, tempMax: in.TemperatureMax, created: t.now.UnixMilli()}
		pmJSON, _ := json.Marshal(pm)
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO vending_machines (machine_id, city, building, latitude, longitude, payment_methods, status, temp_max_c, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.id, m.city, m.building, m.lat, m.lng, string(pmJSON), m.status, m.tempMax, m.created, m.created); err != nil {
			return nil, fmt.Errorf("insert machine: %w", err)
		}
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO machine_state (machine_id) VALUES (?)`, m.id); err != nil {
			return nil, fmt.Errorf("insert machine state: %w", err)
		}
		t.w.machines[m.id] = m
		t.w.states[m.id] = &mstate{}
		ev := machineEvent(m, "REGISTERED")
		if err := t.audit("machine", m.id, "REGISTER", by, ev); err != nil {
			return nil, err
		}
		_, err := t.emit(envelope.KindMachine, t.now, ev)
		return nil, err
	})
	return err
}

// UpdateMachine changes a machine's status, location, payment methods or
// temperature limit.
func (w *Writer) UpdateMachine(ctx context.Context, id string, p MachinePatch, by string) error {
	if p.Location == nil && p.PaymentMethods == nil && p.Status == nil && p.TemperatureMax == nil {
		return web.Invalid("", "nothing to change: give status, location, paymentMethods or temperatureMax")
	}
	var status string
	if p.Status != nil {
		var e *web.Error
		if status, e = normStatus(*p.Status); e != nil {
			return e
		}
	}
	if p.Location != nil {
		if p.Location.City != nil && strings.TrimSpace(*p.Location.City) == "" {
			return web.Invalid("location.city", "location.city must not be empty")
		}
		if e := checkCoords(p.Location.Lat, p.Location.Lng); e != nil {
			return e
		}
	}
	var pm []string
	if p.PaymentMethods != nil {
		var e *web.Error
		if pm, e = checkPayments(p.PaymentMethods); e != nil {
			return e
		}
	}
	if e := checkTemp(p.TemperatureMax); e != nil {
		return e
	}
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		m := t.w.machines[id]
		if m == nil {
			return nil, web.NotFound("machineId", "machine %q is not registered", id)
		}
		if m.status == "DECOMMISSIONED" {
			return nil, errDecommissioned(id)
		}
		n := *m
		if p.Status != nil {
			n.status = status
		}
		if l := p.Location; l != nil {
			if l.City != nil {
				n.city = strings.TrimSpace(*l.City)
			}
			if l.Building != nil {
				n.building = strings.TrimSpace(*l.Building)
			}
			if l.Lat != nil {
				n.lat = l.Lat
			}
			if l.Lng != nil {
				n.lng = l.Lng
			}
		}
		if pm != nil {
			n.payment = pm
		}
		if p.TemperatureMax != nil {
			n.tempMax = p.TemperatureMax
		}
		if err := t.saveMachine(&n); err != nil {
			return nil, err
		}
		*m = n
		ev := machineEvent(m, "UPDATED")
		if err := t.audit("machine", id, "UPDATE", by, p); err != nil {
			return nil, err
		}
		_, err := t.emit(envelope.KindMachine, t.now, ev)
		return nil, err
	})
	return err
}

func (t *Tx) saveMachine(m *machine) error {
	pmJSON, _ := json.Marshal(m.payment)
	var decom any
	if m.status == "DECOMMISSIONED" {
		decom = t.now.UnixMilli()
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE vending_machines SET city = ?, building = ?, latitude = ?, longitude = ?, payment_methods = ?,
		status = ?, temp_max_c = ?, updated_at = ?, decommissioned_at = COALESCE(decommissioned_at, ?) WHERE machine_id = ?`,
		m.city, m.building, m.lat, m.lng, string(pmJSON), m.status, m.tempMax, t.now.UnixMilli(), decom, m.id); err != nil {
		return fmt.Errorf("update machine: %w", err)
	}
	return nil
}

// DecommissionMachine retires a machine: its history stays, it takes no new
// events, and its open alerts close.
func (w *Writer) DecommissionMachine(ctx context.Context, id, by string) error {
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		m := t.w.machines[id]
		if m == nil {
			return nil, web.NotFound("machineId", "machine %q is not registered", id)
		}
		if m.status == "DECOMMISSIONED" {
			return nil, errDecommissioned(id)
		}
		n := *m
		n.status = "DECOMMISSIONED"
		if err := t.saveMachine(&n); err != nil {
			return nil, err
		}
		*m = n
		for k := range t.w.alerts {
			if k.machine == id {
				if err := t.setAlert(k.machine, k.product, k.typ, false, nil, "DECOMMISSIONED"); err != nil {
					return nil, err
				}
			}
		}
		if err := t.audit("machine", id, "DECOMMISSION", by, map[string]string{}); err != nil {
			return nil, err
		}
		_, err := t.emit(envelope.KindMachine, t.now, machineEvent(m, "DECOMMISSIONED"))
		return nil, err
	})
	return err
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
}

func checkNonNeg(field string, v *int64, limit int64) *web.Error {
	if v != nil && (*v < 0 || *v > limit) {
		return web.Invalid(field, "%s %d: must be between 0 and %d", field, *v, limit)
	}
	return nil
}

func checkDate(field, v string) *web.Error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return web.Invalid(field, "%s %q: must be a date YYYY-MM-DD", field, v)
	}
	return nil
}

func checkPrice(p *wire.Money) *web.Error {
	if p != nil && (*p < 0 || *p > wire.MaxPriceCents) {
		return web.Invalid("price", "price %s: must be between 0 and 1000000", *p)
	}
	return nil
}

func (t *Tx) inventoryEvent(k itemKey, it *item, action, by string) error {
	p := t.w.products[k.product]
	ev := envelope.Inventory{MachineID: k.machine, ProductID: k.product, Name: p.name, PriceCents: it.price, Quantity: it.qty,
		ExpiryDate: it.expiry, LowStockLimit: it.low, CasePack: p.casePack, Action: action, By: by}
	if it.par.Valid {
		v := it.par.Int64
		ev.ParLevel = &v
	}
	_, err := t.emit(envelope.KindInventory, t.now, ev)
	return err
}

// AddProduct puts a product into a machine, creating the catalog entry if
// the site has not seen the product before. It answers 409 PRODUCT_EXISTS if
// the machine already has it (use PATCH).
func (w *Writer) AddProduct(ctx context.Context, machineID string, in ProductIn, by string) (store.InventoryItem, error) {
	if e := ValidID("productId", in.ProductID); e != nil {
		return store.InventoryItem{}, e
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 128 {
		return store.InventoryItem{}, web.Invalid("name", "name is required (at most 128 characters)")
	}
	if in.Price == nil {
		return store.InventoryItem{}, web.Invalid("price", "price is required")
	}
	if in.Quantity == nil {
		return store.InventoryItem{}, web.Invalid("quantity", "quantity is required")
	}
	for _, e := range []*web.Error{checkPrice(in.Price), checkNonNeg("quantity", in.Quantity, wire.MaxQuantity),
		checkNonNeg("lowStockLimit", in.LowStockLimit, wire.MaxQuantity), checkNonNeg("parLevel", in.ParLevel, wire.MaxQuantity),
		checkNonNeg("casePack", in.CasePack, wire.MaxCasePack), checkDate("expiryDate", in.ExpiryDate)} {
		if e != nil {
			return store.InventoryItem{}, e
		}
	}
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		m := t.w.machines[machineID]
		if m == nil {
			return nil, web.NotFound("machineId", "machine %q is not registered", machineID)
		}
		if m.status == "DECOMMISSIONED" {
			return nil, errDecommissioned(machineID)
		}
		k := itemKey{machineID, in.ProductID}
		if t.w.items[k] != nil {
			return nil, web.Errorf(http.StatusConflict, "PRODUCT_EXISTS", "productId", "machine %q already has product %q; use PATCH to change it", machineID, in.ProductID)
		}
		p := t.w.products[in.ProductID]
		casePack := int64(0)
		if in.CasePack != nil {
			casePack = *in.CasePack
		}
		if p == nil {
			if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO products (product_id, name, case_pack, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				in.ProductID, in.Name, casePack, t.now.UnixMilli(), t.now.UnixMilli()); err != nil {
				return nil, fmt.Errorf("insert product: %w", err)
			}
			p = &product{name: in.Name, casePack: casePack}
			t.w.products[in.ProductID] = p
		} else if p.name != in.Name || (in.CasePack != nil && p.casePack != casePack) {
			if in.CasePack == nil {
				casePack = p.casePack
			}
			if _, err := t.tx.ExecContext(t.ctx, `UPDATE products SET name = ?, case_pack = ?, updated_at = ? WHERE product_id = ?`,
				in.Name, casePack, t.now.UnixMilli(), in.ProductID); err != nil {
				return nil, fmt.Errorf("update product: %w", err)
			}
			p.name, p.casePack = in.Name, casePack
		}
		it := &item{price: int64(*in.Price), qty: *in.Quantity, low: 5, expiry: in.ExpiryDate}
		if in.LowStockLimit != nil {
			it.low = *in.LowStockLimit
		}
		if in.ParLevel != nil {
			it.par = sql.NullInt64{Int64: *in.ParLevel, Valid: true}
		}
		var expiry any
		if it.expiry != "" {
			expiry = it.expiry
		}
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO machine_inventory (machine_id, product_id, price_cents, quantity, expiry_date, low_stock_limit, par_level, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, machineID, in.ProductID, it.price, it.qty, expiry, it.low, it.par, t.now.UnixMilli()); err != nil {
			return nil, fmt.Errorf("insert inventory: %w", err)
		}
		t.w.items[k] = it
		if err := t.audit("inventory", machineID+"/"+in.ProductID, "ADD_PRODUCT", by, in); err != nil {
			return nil, err
		}
		if err := t.inventoryEvent(k, it, "ADDED", by); err != nil {
			return nil, err
		}
		return nil, t.stockAlerts(k, it, "ADDED")
	})
	if err != nil {
		return store.InventoryItem{}, err
	}
	return w.item(ctx, machineID, in.ProductID)
}

func (w *Writer) item(ctx context.Context, machineID, productID string) (store.InventoryItem, error) {
	items, err := w.st.Inventory(ctx, machineID)
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
// limits, name or case pack. A new quantity is recorded as a COUNT stock
// movement and clears an INVENTORY_MISMATCH alert.
func (w *Writer) UpdateProduct(ctx context.Context, machineID, productID string, p ProductPatch, by string) (store.InventoryItem, error) {
	if p == (ProductPatch{}) {
		return store.InventoryItem{}, web.Invalid("", "nothing to change: give price, quantity, expiryDate, lowStockLimit, parLevel, casePack or name")
	}
	if p.Name != nil && (strings.TrimSpace(*p.Name) == "" || len(*p.Name) > 128) {
		return store.InventoryItem{}, web.Invalid("name", "name must be 1 to 128 characters")
	}
	for _, e := range []*web.Error{checkPrice(p.Price), checkNonNeg("quantity", p.Quantity, wire.MaxQuantity),
		checkNonNeg("lowStockLimit", p.LowStockLimit, wire.MaxQuantity), checkNonNeg("parLevel", p.ParLevel, wire.MaxQuantity),
		checkNonNeg("casePack", p.CasePack, wire.MaxCasePack)} {
		if e != nil {
			return store.InventoryItem{}, e
		}
	}
	if p.ExpiryDate != nil {
		if e := checkDate("expiryDate", *p.ExpiryDate); e != nil {
			return store.InventoryItem{}, e
		}
	}
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		m := t.w.machines[machineID]
		if m == nil {
			return nil, web.NotFound("machineId", "machine %q is not registered", machineID)
		}
		if m.status == "DECOMMISSIONED" {
			return nil, errDecommissioned(machineID)
		}
		k := itemKey{machineID, productID}
		cur := t.w.items[k]
		if cur == nil {
			return nil, web.NotFound("productId", "machine %q has no product %q", machineID, productID)
		}
		return nil, t.updateItem(k, cur, p, by)
	})
	if err != nil {
		return store.InventoryItem{}, err
	}
	return w.item(ctx, machineID, productID)
}

func (t *Tx) updateItem(k itemKey, cur *item, p ProductPatch, by string) error {
	n := *cur
	if p.Price != nil {
		n.price = int64(*p.Price)
	}
	if p.Quantity != nil {
		n.qty = *p.Quantity
	}
	if p.ExpiryDate != nil {
		n.expiry = *p.ExpiryDate
	}
	if p.LowStockLimit != nil {
		n.low = *p.LowStockLimit
	}
	if p.ParLevel != nil {
		n.par = sql.NullInt64{Int64: *p.ParLevel, Valid: true}
	}
	var expiry any
	if n.expiry != "" {
		expiry = n.expiry
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE machine_inventory SET price_cents = ?, quantity = ?, expiry_date = ?, low_stock_limit = ?, par_level = ?, updated_at = ?
		WHERE machine_id = ? AND product_id = ?`, n.price, n.qty, expiry, n.low, n.par, t.now.UnixMilli(), k.machine, k.product); err != nil {
		return fmt.Errorf("update inventory: %w", err)
	}
	if p.Name != nil || p.CasePack != nil {
		pr := t.w.products[k.product]
		np := *pr
		if p.Name != nil {
			np.name = strings.TrimSpace(*p.Name)
		}
		if p.CasePack != nil {
			np.casePack = *p.CasePack
		}
		if _, err := t.tx.ExecContext(t.ctx, `UPDATE products SET name = ?, case_pack = ?, updated_at = ? WHERE product_id = ?`,
			np.name, np.casePack, t.now.UnixMilli(), k.product); err != nil {
			return fmt.Errorf("update product: %w", err)
		}
		*pr = np
	}
	before := cur.qty
	*cur = n
	if err := t.audit("inventory", k.machine+"/"+k.product, "UPDATE_PRODUCT", by, p); err != nil {
		return err
	}
	if err := t.inventoryEvent(k, cur, "UPDATED", by); err != nil {
		return err
	}
	if p.Quantity != nil {
		if _, err := t.emit(envelope.KindStock, t.now, envelope.StockMovement{MachineID: k.machine, ProductID: k.product,
			Reason: "COUNT", Delta: n.qty - before, After: n.qty, By: by}); err != nil {
			return err
		}
		if err := t.setAlert(k.machine, k.product, wire.InventoryMismatch, false, nil, "COUNTED"); err != nil {
			return err
		}
	}
	return t.stockAlerts(k, cur, "UPDATED")
}
