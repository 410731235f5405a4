package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/purchasing"
	"github.com/vendsync/vendsync/internal/errs"
)

// SupplierRow is a supplier and what it sells.
type SupplierRow struct {
	ID            string
	Name          string
	LeadTimeDays  int64
	MinOrderCents int64
	Products      []SupplierProductRow
	CreatedBy     string
	CreatedAt     time.Time
}

// SupplierProductRow is one product a supplier sells.
type SupplierProductRow struct {
	ProductID     string
	CasePack      int64
	UnitCostCents int64
}

// PORow is a purchase order and its lines.
type PORow struct {
	ID         string
	SupplierID string
	DepotID    string
	Status     purchasing.Status
	Note       string
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Lines      []POLineRow
}

// Total is the order's value at its line costs, in cents.
func (p *PORow) Total() int64 {
	var t int64
	for _, l := range p.Lines {
		t += l.Quantity * l.UnitCostCents
	}
	return t
}

// POLineRow is one line of a purchase order.
type POLineRow struct {
	Line          int
	ProductID     string
	Quantity      int64
	UnitCostCents int64
	Received      int64
}

// ReceiptLine is what arrived for one order line.
type ReceiptLine struct {
	Line          int
	Quantity      int64
	UnitCostCents *int64 // nil: the line's cost
	ExpiryDate    string
	LotID         string // "": made from the receipt key and line
}

// LotRow is a lot at a depot.
type LotRow struct {
	LotID         string
	DepotID       string
	ProductID     string
	Quantity      int64
	UnitCostCents int64
	ExpiryDate    string
	POID          string
	ReceivedAt    time.Time
}

const (
	insertSupplier        = `INSERT INTO suppliers (supplier_id, name, lead_time_days, min_order_cents, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	insertSupplierProduct = `INSERT INTO supplier_products (supplier_id, product_id, case_pack, unit_cost_cents) VALUES (?, ?, ?, ?)`
	selectSuppliers       = `SELECT supplier_id, name, lead_time_days, min_order_cents, created_by, created_at FROM suppliers
		WHERE ? = '' OR supplier_id = ? ORDER BY supplier_id`
	selectSupplierProducts = `SELECT supplier_id, product_id, case_pack, unit_cost_cents FROM supplier_products
		WHERE ? = '' OR supplier_id = ? ORDER BY supplier_id, product_id`
	insertPO = `INSERT INTO purchase_orders (po_id, supplier_id, depot_id, status, note, created_by, created_at, updated_at)
		VALUES (?, ?, ?, 'DRAFT', ?, ?, ?, ?)`
	insertPOLine = `INSERT INTO po_lines (po_id, line, product_id, quantity, unit_cost_cents) VALUES (?, ?, ?, ?, ?)`
	countPOs     = `SELECT count(*) FROM purchase_orders`
	selectPOs    = `SELECT po_id, supplier_id, depot_id, status, note, created_by, created_at, updated_at FROM purchase_orders
		WHERE (? = '' OR po_id = ?) AND (? = '' OR status = ?) AND (? = '' OR depot_id = ?) AND (? = '' OR supplier_id = ?)
		ORDER BY created_at DESC, po_id DESC LIMIT ?`
	selectPOLines  = `SELECT line, product_id, quantity, unit_cost_cents, received FROM po_lines WHERE po_id = ? ORDER BY line`
	updatePOStatus = `UPDATE purchase_orders SET status = ?, updated_at = ? WHERE po_id = ? AND status = ?`
	updatePOLine   = `UPDATE po_lines SET received = received + ? WHERE po_id = ? AND line = ?`
	insertReceipt  = `INSERT INTO po_receipts (receipt_key, po_id, received_by, received_at) VALUES (?, ?, ?, ?)`
	selectReceipt  = `SELECT po_id FROM po_receipts WHERE receipt_key = ?`
	insertLot      = `INSERT INTO depot_lots (lot_id, depot_id, product_id, quantity, unit_cost_cents, expiry_date, po_id, receipt_key, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	selectLotsOfReceipt = `SELECT lot_id, depot_id, product_id, quantity, unit_cost_cents, expiry_date, po_id, received_at
		FROM depot_lots WHERE receipt_key = ? ORDER BY lot_id`
)

// ErrExists is returned when creating something whose id is taken.
var ErrExists = errors.New("already exists")

// CreateSupplier stores sup. It returns an *errs.Error (Conflict) when its
// id is taken.
func (s *Store) CreateSupplier(ctx context.Context, sup SupplierRow) error {
	err := s.writeTx(ctx, func(ctx context.Context) error {
		if err := s.exec(ctx, insertSupplier, sup.ID, sup.Name, sup.LeadTimeDays, sup.MinOrderCents, sup.CreatedBy, ms(sup.CreatedAt)); err != nil {
			if isConstraint(err) {
				return errs.Errorf(errs.Conflict, "DUPLICATE", "id", "supplier %s already exists", sup.ID)
			}
			return err
		}
		for i, p := range sup.Products {
			if err := s.exec(ctx, insertSupplierProduct, sup.ID, p.ProductID, p.CasePack, p.UnitCostCents); err != nil {
				if isConstraint(err) {
					return errs.Errorf(errs.Invalid, errs.CodeValidation, fmt.Sprintf("products[%d].productId", i), "product %s is listed twice", p.ProductID)
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create supplier: %w", err)
	}
	return nil
}

func isConstraint(err error) bool {
	return err != nil && strings.Contains(err.Error(), "constraint failed")
}

// Suppliers lists suppliers (one when id is set), by id.
func (s *Store) Suppliers(ctx context.Context, id string) ([]SupplierRow, error) {
	rows, err := s.db.Query(ctx, selectSuppliers, id, id)
	if err != nil {
		return nil, fmt.Errorf("list suppliers: %w", err)
	}
	var out []SupplierRow
	at := map[string]int{}
	for rows.Next() {
		var r SupplierRow
		var created int64
		if err := rows.Scan(&r.ID, &r.Name, &r.LeadTimeDays, &r.MinOrderCents, &r.CreatedBy, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list suppliers: %w", err)
		}
		r.CreatedAt = fromMS(created)
		at[r.ID] = len(out)
		out = append(out, r)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	prows, err := s.db.Query(ctx, selectSupplierProducts, id, id)
	if err != nil {
		return nil, fmt.Errorf("list supplier products: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var sid string
		var p SupplierProductRow
		if err := prows.Scan(&sid, &p.ProductID, &p.CasePack, &p.UnitCostCents); err != nil {
			return nil, fmt.Errorf("list supplier products: %w", err)
		}
		if i, ok := at[sid]; ok {
			out[i].Products = append(out[i].Products, p)
		}
	}
	return out, prows.Err()
}

// POQuery filters purchase orders.
type POQuery struct {
	ID, Status, DepotID, SupplierID string
	Limit                           int
}

// PurchaseOrders lists purchase orders, newest first, with their lines.
func (s *Store) PurchaseOrders(ctx context.Context, q POQuery) ([]PORow, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	return s.purchaseOrders(ctx, s.db.R, q)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) purchaseOrders(ctx context.Context, db querier, q POQuery) ([]PORow, error) {
	rows, err := db.QueryContext(ctx, selectPOs, q.ID, q.ID, q.Status, q.Status, q.DepotID, q.DepotID, q.SupplierID, q.SupplierID, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list purchase orders: %w", err)
	}
	var out []PORow
	for rows.Next() {
		var p PORow
		var created, updated int64
		if err := rows.Scan(&p.ID, &p.SupplierID, &p.DepotID, &p.Status, &p.Note, &p.CreatedBy, &created, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list purchase orders: %w", err)
		}
		p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, p)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for i := range out {
		lr, err := db.QueryContext(ctx, selectPOLines, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("lines of %s: %w", out[i].ID, err)
		}
		for lr.Next() {
			var l POLineRow
			if err := lr.Scan(&l.Line, &l.ProductID, &l.Quantity, &l.UnitCostCents, &l.Received); err != nil {
				lr.Close()
				return nil, err
			}
			out[i].Lines = append(out[i].Lines, l)
		}
		if err := lr.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PurchaseOrder returns order id, or an *errs.Error (NotFound).
func (s *Store) PurchaseOrder(ctx context.Context, id string) (PORow, error) {
	return s.purchaseOrder(ctx, s.db.R, id)
}

func (s *Store) purchaseOrder(ctx context.Context, db querier, id string) (PORow, error) {
	l, err := s.purchaseOrders(ctx, db, POQuery{ID: id, Limit: 1})
	if err != nil {
		return PORow{}, err
	}
	if len(l) == 0 {
		return PORow{}, errs.NotFoundf("id", "purchase order %s not found", id)
	}
	return l[0], nil
}

// writer is the writer connection as a querier (inside writeTx).
type writer struct{ s *Store }

func (w writer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return w.s.w.QueryContext(ctx, query, args...)
}

// CreatePurchaseOrder stores po as a DRAFT, giving it the next id
// (PO-000001, …), and returns it. Lines must already be checked.
func (s *Store) CreatePurchaseOrder(ctx context.Context, po PORow) (PORow, error) {
	err := s.Inventory(ctx, func(tx *InventoryTx) error {
		if err := tx.LocationExists(ctx, LocationDepot, po.DepotID); err != nil {
			return errs.Errorf(errs.Unprocessable, CodeUnknownLocation, "depotId", "no depot %q", po.DepotID)
		}
		var n int64
		if err := s.queryRow(ctx, countPOs).Scan(&n); err != nil {
			return err
		}
		po.ID = fmt.Sprintf("PO-%06d", n+1)
		po.Status = purchasing.Draft
		if err := s.exec(ctx, insertPO, po.ID, po.SupplierID, po.DepotID, po.Note, po.CreatedBy, ms(po.CreatedAt), ms(po.CreatedAt)); err != nil {
			return err
		}
		for i := range po.Lines {
			l := &po.Lines[i]
			l.Line = i + 1
			if err := s.exec(ctx, insertPOLine, po.ID, l.Line, l.ProductID, l.Quantity, l.UnitCostCents); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return PORow{}, fmt.Errorf("create purchase order: %w", err)
	}
	po.UpdatedAt = po.CreatedAt
	return po, nil
}

// SetPOStatus moves order id to the status next returns for its current
// one (purchasing.Send or purchasing.Cancel), checked in the transaction.
func (s *Store) SetPOStatus(ctx context.Context, id string, next func(id string, st purchasing.Status) (purchasing.Status, error), check func(PORow) error) (PORow, error) {
	var out PORow
	err := s.writeTx(ctx, func(ctx context.Context) error {
		po, err := s.purchaseOrder(ctx, writer{s}, id)
		if err != nil {
			return err
		}
		to, err := next(po.ID, po.Status)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(po); err != nil {
				return err
			}
		}
		now := s.Clock(ctx)
		if err := s.exec(ctx, updatePOStatus, to, ms(now), po.ID, po.Status); err != nil {
			return err
		}
		po.Status, po.UpdatedAt, out = to, now, po
		out.Status, out.UpdatedAt = to, now
		return nil
	})
	if err != nil {
		return PORow{}, fmt.Errorf("purchase order %s: %w", id, err)
	}
	return out, nil
}

// ReceivePurchaseOrder records a receipt against order id: each line's
// quantity is added to what was received, a lot is created at the depot at
// cost, and the order becomes PARTIALLY_RECEIVED or RECEIVED. A receipt key
// already used for this order answers the first receipt's lots with
// replayed true and changes nothing; used for another order it is a
// Conflict.
func (s *Store) ReceivePurchaseOrder(ctx context.Context, id, key, by string, lines []ReceiptLine) (po PORow, lots []LotRow, replayed bool, err error) {
	err = s.Inventory(ctx, func(tx *InventoryTx) error {
		var prior string
		switch err := s.queryRow(ctx, selectReceipt, key).Scan(&prior); {
		case err == nil && prior == id:
			replayed = true
			return nil
		case err == nil:
			return errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", "receiptKey", "receipt key %s was used for purchase order %s", key, prior)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		cur, err := s.purchaseOrder(ctx, writer{s}, id)
		if err != nil {
			return err
		}
		if err := purchasing.CanReceive(cur.ID, cur.Status); err != nil {
			return err
		}
		byLine := map[int]int{}
		for i, l := range cur.Lines {
			byLine[l.Line] = i
		}
		now := tx.Now()
		for i, rl := range lines {
			field := fmt.Sprintf("lines[%d]", i)
			li, ok := byLine[rl.Line]
			if !ok {
				return errs.Errorf(errs.Unprocessable, "UNKNOWN_LINE", field+".line", "purchase order %s has no line %d", cur.ID, rl.Line)
			}
			pl := &cur.Lines[li]
			if err := purchasing.CheckReceipt(field, purchasing.Line{Line: pl.Line, ProductID: pl.ProductID, Quantity: pl.Quantity, Received: pl.Received}, rl.Quantity); err != nil {
				return err
			}
			pl.Received += rl.Quantity
			cost := pl.UnitCostCents
			if rl.UnitCostCents != nil {
				cost = *rl.UnitCostCents
			}
			lot := LotRow{LotID: rl.LotID, DepotID: cur.DepotID, ProductID: pl.ProductID, Quantity: rl.Quantity,
				UnitCostCents: cost, ExpiryDate: rl.ExpiryDate, POID: cur.ID, ReceivedAt: now}
			if lot.LotID == "" {
				lot.LotID = fmt.Sprintf("%s/%s/%d", cur.ID, key, pl.Line)
			}
			if err := s.exec(ctx, updatePOLine, rl.Quantity, cur.ID, pl.Line); err != nil {
				return err
			}
			if err := s.exec(ctx, insertLot, lot.LotID, lot.DepotID, lot.ProductID, lot.Quantity, lot.UnitCostCents,
				lot.ExpiryDate, lot.POID, key, ms(now)); err != nil {
				if isConstraint(err) {
					return errs.Errorf(errs.Conflict, "DUPLICATE", field+".lotId", "lot %s already exists", lot.LotID)
				}
				return err
			}
			lotCost := lot.UnitCostCents
			if _, _, err := tx.Record(ctx, MovementIn{Key: "receipt:" + lot.LotID, Kind: LocationDepot, LocationID: lot.DepotID,
				ProductID: lot.ProductID, Type: MoveReceipt, Quantity: lot.Quantity, UnitCostCents: &lotCost, LotID: lot.LotID,
				Ref: cur.ID, Reason: "purchase order receipt " + key, By: by, At: now}); err != nil {
				return err
			}
			lots = append(lots, lot)
		}
		if err := s.exec(ctx, insertReceipt, key, cur.ID, by, ms(now)); err != nil {
			return err
		}
		to := purchasing.AfterReceipt(poLines(cur.Lines))
		if err := s.exec(ctx, updatePOStatus, to, ms(now), cur.ID, cur.Status); err != nil {
			return err
		}
		cur.Status, cur.UpdatedAt = to, now
		po = cur
		return nil
	})
	if err != nil {
		return PORow{}, nil, false, fmt.Errorf("receive %s: %w", id, err)
	}
	if replayed {
		if po, err = s.PurchaseOrder(ctx, id); err != nil {
			return PORow{}, nil, false, err
		}
		lots, err = s.lotsOfReceipt(ctx, key)
		return po, lots, true, err
	}
	return po, lots, false, nil
}

func poLines(ls []POLineRow) []purchasing.Line {
	out := make([]purchasing.Line, len(ls))
	for i, l := range ls {
		out[i] = purchasing.Line{Line: l.Line, ProductID: l.ProductID, Quantity: l.Quantity, Received: l.Received}
	}
	return out
}

func (s *Store) lotsOfReceipt(ctx context.Context, key string) ([]LotRow, error) {
	rows, err := s.db.Query(ctx, selectLotsOfReceipt, key)
	if err != nil {
		return nil, fmt.Errorf("lots of receipt %s: %w", key, err)
	}
	defer rows.Close()
	var out []LotRow
	for rows.Next() {
		var l LotRow
		var at int64
		if err := rows.Scan(&l.LotID, &l.DepotID, &l.ProductID, &l.Quantity, &l.UnitCostCents, &l.ExpiryDate, &l.POID, &at); err != nil {
			return nil, err
		}
		l.ReceivedAt = fromMS(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

// AverageDemand is the default purchasing.DemandSource: average daily
// sales over the last Days days (28 when 0) at the machines in the depot's
// city (the whole fleet when the depot has no city).
type AverageDemand struct {
	Store *Store
	Days  int
}

// Name says where the figures come from.
func (a AverageDemand) Name() string {
	return fmt.Sprintf("average daily sales, last %d days", a.days())
}

func (a AverageDemand) days() int {
	if a.Days <= 0 {
		return 28
	}
	return a.Days
}

// DailyDemand implements purchasing.DemandSource.
func (a AverageDemand) DailyDemand(ctx context.Context, depotID string, asOf time.Time) (map[string]float64, error) {
	var city string
	err := a.Store.db.QueryRow(ctx, `SELECT city FROM depots WHERE depot_id = ?`, depotID).Scan(&city)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Errorf(errs.NotFound, errs.CodeNotFound, "depotId", "no depot %q", depotID)
	}
	if err != nil {
		return nil, fmt.Errorf("depot %s: %w", depotID, err)
	}
	from := asOf.Add(-time.Duration(a.days()) * 24 * time.Hour)
	rows, err := a.Store.db.Query(ctx, `SELECT product_id, SUM(quantity) FROM sales
		WHERE event_time >= ? AND event_time < ? AND (? = '' OR city = ?) GROUP BY product_id`, ms(from), ms(asOf), city, city)
	if err != nil {
		return nil, fmt.Errorf("demand at %s: %w", depotID, err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var p string
		var q int64
		if err := rows.Scan(&p, &q); err != nil {
			return nil, fmt.Errorf("demand at %s: %w", depotID, err)
		}
		out[p] = float64(q) / float64(a.days())
	}
	return out, rows.Err()
}

// OnOrder returns, per product, what open orders (DRAFT, SENT,
// PARTIALLY_RECEIVED) for depotID still expect.
func (s *Store) OnOrder(ctx context.Context, depotID string) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT l.product_id, SUM(l.quantity - l.received) FROM po_lines l
		JOIN purchase_orders o ON o.po_id = l.po_id
		WHERE o.depot_id = ? AND o.status IN ('DRAFT', 'SENT', 'PARTIALLY_RECEIVED') GROUP BY l.product_id`, depotID)
	if err != nil {
		return nil, fmt.Errorf("on order at %s: %w", depotID, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var q int64
		if err := rows.Scan(&p, &q); err != nil {
			return nil, fmt.Errorf("on order at %s: %w", depotID, err)
		}
		out[p] = q
	}
	return out, rows.Err()
}
