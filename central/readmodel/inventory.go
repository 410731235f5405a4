package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/wire"
)

// The stock ledger (issue 11): every change of stock at a location is a
// movement; a depot's or van's stock is the sum of its movements, kept as a
// running balance in the same transaction (inventory_stock). Depots and vans
// are central's; machines are their sites', and their movements arrive as
// events (see ledgerFromEvent) and sales (read from the sales table).

// LocationKind is the kind of place stock is at.
type LocationKind string

// The location kinds.
const (
	LocationDepot   LocationKind = "depot"
	LocationVan     LocationKind = "van"
	LocationMachine LocationKind = "machine"
)

// MovementType is why stock changed.
type MovementType string

// The movement types. Positive quantities add stock, negative remove it.
const (
	MoveSale            MovementType = "sale"
	MoveRestock         MovementType = "restock"
	MoveTransferOut     MovementType = "transfer_out"
	MoveTransferIn      MovementType = "transfer_in"
	MoveReceipt         MovementType = "receipt"
	MoveCountAdjustment MovementType = "count_adjustment"
	MoveSpoilage        MovementType = "spoilage"
	MoveExpired         MovementType = "expired"
	MoveDamaged         MovementType = "damaged"
	MoveReturn          MovementType = "return"
	MoveReservation     MovementType = "reservation"
	MoveRelease         MovementType = "release"
)

// MovementTypes lists every movement type.
var MovementTypes = []MovementType{MoveSale, MoveRestock, MoveTransferOut, MoveTransferIn, MoveReceipt,
	MoveCountAdjustment, MoveSpoilage, MoveExpired, MoveDamaged, MoveReturn, MoveReservation, MoveRelease}

// sign is the sign a type's quantity must have: +1, -1, or 0 for either.
func (t MovementType) sign() int {
	switch t {
	case MoveRestock, MoveTransferIn, MoveReceipt, MoveRelease:
		return 1
	case MoveSale, MoveTransferOut, MoveSpoilage, MoveExpired, MoveDamaged, MoveReservation:
		return -1
	}
	return 0 // count_adjustment, return (a return is in at one end, out at the other)
}

// Valid reports whether t is a known movement type.
func (t MovementType) Valid() bool {
	for _, k := range MovementTypes {
		if t == k {
			return true
		}
	}
	return false
}

// Movement is one recorded movement.
type Movement struct {
	ID            int64
	Key           string
	Kind          LocationKind
	LocationID    string
	Site          string // machines only
	ProductID     string
	SKU           string
	Type          MovementType
	Quantity      int64
	UnitCostCents *int64
	LotID         string
	Ref           string
	Reason        string
	By            string
	At            time.Time
	RecordedAt    time.Time
}

// MovementIn is a movement to record at a depot or van. Key is its
// idempotency key: a key already recorded answers the recorded movement
// and changes nothing. At defaults to now.
type MovementIn struct {
	Key           string
	Kind          LocationKind
	LocationID    string
	ProductID     string
	SKU           string
	Type          MovementType
	Quantity      int64
	UnitCostCents *int64
	LotID         string
	Ref           string
	Reason        string
	By            string
	At            time.Time
	// AllowNegative records the movement even when it takes the balance
	// below zero: for facts that already happened (a restock that emptied
	// the van more than central knew), never for requests.
	AllowNegative bool
}

// Error codes of the ledger.
const (
	CodeInsufficientStock = "INSUFFICIENT_STOCK"
	CodeUnknownLocation   = "UNKNOWN_LOCATION"
	CodeIdempotency       = "IDEMPOTENCY_CONFLICT"
	CodeMachineOwned      = "MACHINE_OWNED_BY_SITE"
	CodeDuplicate         = "DUPLICATE"
)

const (
	insertMovement = `INSERT INTO inventory_movements (idem_key, location_kind, location_id, site, product_id, sku, type, quantity,
		unit_cost_cents, lot_id, ref, reason, performed_by, performed_at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`
	movementCols = `movement_id, idem_key, location_kind, location_id, site, product_id, COALESCE(sku, ''), type, quantity,
		unit_cost_cents, COALESCE(lot_id, ''), ref, reason, performed_by, performed_at, recorded_at`
	selectMovementByKey = `SELECT ` + movementCols + ` FROM inventory_movements WHERE idem_key = ?`
	selectBalance       = `SELECT quantity FROM inventory_stock WHERE location_kind = ? AND location_id = ? AND product_id = ?`
	upsertBalance       = `INSERT INTO inventory_stock (location_kind, location_id, product_id, quantity, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (location_kind, location_id, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, updated_at = excluded.updated_at`
	selectDepotExists = `SELECT 1 FROM depots WHERE depot_id = ?`
	selectVanExists   = `SELECT 1 FROM vans WHERE van_id = ?`
)

// InventoryTx is one write transaction on the ledger, for callers that
// record movements together with rows of their own (a purchase-order
// receipt, a transfer) atomically.
type InventoryTx struct {
	s   *Store
	now time.Time
}

// Inventory runs fn in one write transaction, committed when fn returns
// nil and rolled back otherwise; fn's error is returned as it is. Inside an
// HQ log entry's apply (ApplyHQ) it joins the entry's transaction, and the
// transaction's clock is the entry's time (Clock), the same on every node.
func (s *Store) Inventory(ctx context.Context, fn func(tx *InventoryTx) error) error {
	return s.WriteTx(ctx, func(ctx context.Context, w *WTx) error {
		return fn(&InventoryTx{s: s, now: w.Now()})
	})
}

// Now is the transaction's clock reading.
func (tx *InventoryTx) Now() time.Time { return tx.now }

// Exec runs a statement inside the transaction.
func (tx *InventoryTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.s.execStmt(ctx, query, args...)
}

// QueryRow runs a one-row query inside the transaction; a prepare error
// surfaces from Scan.
func (tx *InventoryTx) QueryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	return tx.s.queryRow(ctx, query, args...)
}

// Query runs a query inside the transaction.
func (tx *InventoryTx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.s.query(ctx, query, args...)
}

// Record checks in and records it at its depot or van, updating the
// location's balance. A key already recorded answers the recorded movement
// with replayed true. It returns an *errs.Error: Invalid for a bad field,
// Unprocessable UNKNOWN_LOCATION for a depot or van that does not exist,
// MACHINE_OWNED_BY_SITE for a machine (its site owns its stock),
// INSUFFICIENT_STOCK when the balance would go below zero (never for a van
// inside an HQ log entry: see below).
func (tx *InventoryTx) Record(ctx context.Context, in MovementIn) (m Movement, replayed bool, err error) {
	if err := checkMovement(in); err != nil {
		return Movement{}, false, err
	}
	if prev, err := tx.movementByKey(ctx, in.Key); err == nil {
		return prev, true, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Movement{}, false, fmt.Errorf("read movement: %w", err)
	}
	if err := tx.LocationExists(ctx, in.Kind, in.LocationID); err != nil {
		return Movement{}, false, err
	}
	bal, err := tx.Balance(ctx, in.Kind, in.LocationID, in.ProductID)
	if err != nil {
		return Movement{}, false, err
	}
	// A van's balance also moves with the sites' restocks (FLEET), whose
	// order against the HQ log differs between central nodes, so inside an
	// HQ log entry a van is never refused on its balance: every node must
	// reach the same outcome. It may go below zero, as a restock from an
	// empty van already can; the ledger shows it. Depots move only by HQ
	// log entries, so their check is the same on every node.
	_, inHQ := ctx.Value(hqApplyKey{}).(hqApply)
	if bal+in.Quantity < 0 && !in.AllowNegative && !(inHQ && in.Kind == LocationVan) {
		return Movement{}, false, errs.Errorf(errs.Unprocessable, CodeInsufficientStock, "quantity",
			"%s %s holds %d of %q; cannot move %d", in.Kind, in.LocationID, bal, in.ProductID, in.Quantity)
	}
	return tx.insert(ctx, in, "")
}

// insert writes a checked movement and its balance (depots and vans).
func (tx *InventoryTx) insert(ctx context.Context, in MovementIn, site string) (Movement, bool, error) {
	at := in.At
	if at.IsZero() {
		at = tx.now
	}
	var sku, lot any
	if in.SKU != "" {
		sku = in.SKU
	}
	if in.LotID != "" {
		lot = in.LotID
	}
	res, err := tx.s.execStmt(ctx, insertMovement, in.Key, string(in.Kind), in.LocationID, site, in.ProductID, sku, string(in.Type),
		in.Quantity, in.UnitCostCents, lot, in.Ref, in.Reason, in.By, at.UnixMilli(), tx.now.UnixMilli())
	if err != nil {
		return Movement{}, false, fmt.Errorf("insert movement: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		m, err := tx.movementByKey(ctx, in.Key)
		return m, true, err
	}
	if in.Kind != LocationMachine {
		if _, err := tx.s.execStmt(ctx, upsertBalance, string(in.Kind), in.LocationID, in.ProductID, in.Quantity, tx.now.UnixMilli()); err != nil {
			return Movement{}, false, fmt.Errorf("update balance: %w", err)
		}
	}
	m, err := tx.movementByKey(ctx, in.Key)
	return m, false, err
}

// Balance is the stock of product at a depot or van (0 when none moved).
func (tx *InventoryTx) Balance(ctx context.Context, kind LocationKind, id, product string) (int64, error) {
	var q int64
	err := tx.s.queryRow(ctx, selectBalance, string(kind), id, product).Scan(&q)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	return q, nil
}

// LocationExists returns nil when kind/id is a depot or van central
// knows; an Unprocessable UNKNOWN_LOCATION error when not, and
// MACHINE_OWNED_BY_SITE for a machine.
func (tx *InventoryTx) LocationExists(ctx context.Context, kind LocationKind, id string) error {
	var q string
	switch kind {
	case LocationDepot:
		q = selectDepotExists
	case LocationVan:
		q = selectVanExists
	case LocationMachine:
		return errs.Errorf(errs.Unprocessable, CodeMachineOwned, "locationKind",
			"machine %s: a site owns its machines' stock; record it at the site (restock or count), not at central", id)
	default:
		return errs.Invalidf("locationKind", "locationKind %q: want depot or van", kind)
	}
	var one int
	err := tx.s.queryRow(ctx, q, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Errorf(errs.Unprocessable, CodeUnknownLocation, "locationId", "no %s %q", kind, id)
	}
	if err != nil {
		return fmt.Errorf("read location: %w", err)
	}
	return nil
}

func (tx *InventoryTx) movementByKey(ctx context.Context, key string) (Movement, error) {
	return scanMovement(tx.s.queryRow(ctx, selectMovementByKey, key))
}

func checkMovement(in MovementIn) error {
	if in.Key == "" || len(in.Key) > 200 {
		return errs.Invalidf("key", "an idempotency key of 1 to 200 characters is required")
	}
	if in.LocationID == "" || len(in.LocationID) > 64 {
		return errs.Invalidf("locationId", "locationId of 1 to 64 characters is required")
	}
	if in.ProductID == "" || len(in.ProductID) > 64 {
		return errs.Invalidf("productId", "productId of 1 to 64 characters is required")
	}
	if !in.Type.Valid() {
		return errs.Invalidf("type", "type %q: want one of %v", in.Type, MovementTypes)
	}
	if in.Quantity == 0 {
		return errs.Invalidf("quantity", "quantity must not be 0")
	}
	if in.Quantity > wire.MaxQuantity || in.Quantity < -wire.MaxQuantity {
		return errs.Invalidf("quantity", "quantity %d: at most %d units per movement", in.Quantity, wire.MaxQuantity)
	}
	switch sg := in.Type.sign(); {
	case sg > 0 && in.Quantity < 0:
		return errs.Invalidf("quantity", "a %s adds stock: quantity must be positive", in.Type)
	case sg < 0 && in.Quantity > 0:
		return errs.Invalidf("quantity", "a %s removes stock: quantity must be negative", in.Type)
	}
	if in.UnitCostCents != nil && *in.UnitCostCents < 0 {
		return errs.Invalidf("unitCostCents", "unitCostCents must not be negative")
	}
	if in.By == "" {
		return errs.Invalidf("by", "who made the movement is required")
	}
	return nil
}

func scanMovement(r interface{ Scan(...any) error }) (Movement, error) {
	var m Movement
	var kind, typ string
	var cost sql.NullInt64
	var at, rec int64
	if err := r.Scan(&m.ID, &m.Key, &kind, &m.LocationID, &m.Site, &m.ProductID, &m.SKU, &typ, &m.Quantity,
		&cost, &m.LotID, &m.Ref, &m.Reason, &m.By, &at, &rec); err != nil {
		return Movement{}, err
	}
	m.Kind, m.Type = LocationKind(kind), MovementType(typ)
	if cost.Valid {
		v := cost.Int64
		m.UnitCostCents = &v
	}
	m.At, m.RecordedAt = time.UnixMilli(at).UTC(), time.UnixMilli(rec).UTC()
	return m, nil
}

// RecordMovements records ins in one transaction, all or nothing (see
// InventoryTx.Record); replayed[i] is true for a key already recorded.
func (s *Store) RecordMovements(ctx context.Context, ins []MovementIn) (out []Movement, replayed []bool, err error) {
	err = s.Inventory(ctx, func(tx *InventoryTx) error {
		out, replayed = make([]Movement, len(ins)), make([]bool, len(ins))
		for i, in := range ins {
			if out[i], replayed[i], err = tx.Record(ctx, in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, replayed, nil
}

// StockRow is the stock of one product at one location.
type StockRow struct {
	Kind       LocationKind
	LocationID string
	ProductID  string
	Quantity   int64
	UpdatedAt  time.Time
}

// Stock lists the balances at depots and vans, filtered by kind and id
// ("" for all).
func (s *Store) Stock(ctx context.Context, kind LocationKind, id string) ([]StockRow, error) {
	rows, err := s.db.Query(ctx, `SELECT location_kind, location_id, product_id, quantity, updated_at FROM inventory_stock
		WHERE (?1 = '' OR location_kind = ?1) AND (?2 = '' OR location_id = ?2) ORDER BY 1, 2, 3`, string(kind), id)
	if err != nil {
		return nil, fmt.Errorf("query stock: %w", err)
	}
	defer rows.Close()
	var out []StockRow
	for rows.Next() {
		var r StockRow
		var k string
		var at int64
		if err := rows.Scan(&k, &r.LocationID, &r.ProductID, &r.Quantity, &at); err != nil {
			return nil, fmt.Errorf("query stock: %w", err)
		}
		r.Kind, r.UpdatedAt = LocationKind(k), time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// LedgerSums returns, per depot/van location and product, the sum of its
// movements; a test checks it against Stock.
func (s *Store) LedgerSums(ctx context.Context) (map[[3]string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT location_kind, location_id, product_id, SUM(quantity) FROM inventory_movements
		WHERE location_kind IN ('depot', 'van') GROUP BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("sum ledger: %w", err)
	}
	defer rows.Close()
	out := map[[3]string]int64{}
	for rows.Next() {
		var k [3]string
		var q int64
		if err := rows.Scan(&k[0], &k[1], &k[2], &q); err != nil {
			return nil, fmt.Errorf("sum ledger: %w", err)
		}
		out[k] = q
	}
	return out, rows.Err()
}
