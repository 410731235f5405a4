package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

// Location is where a machine stands.
type Location struct {
	City     string
	Building string
	Lat      *float64
	Lng      *float64
}

// Key is the location's aggregation key: "city/building", or the city alone.
func (l Location) Key() string {
	if l.Building == "" {
		return l.City
	}
	return l.City + "/" + l.Building
}

// MachineState is a machine's last reported telemetry.
type MachineState struct {
	LastTelemetryAt *time.Time
	Temperature     *float64
	PowerStatus     string
	DoorStatus      string
}

// Machine is a registered machine.
type Machine struct {
	MachineID        string
	Location         Location
	PaymentMethods   []string
	Status           string
	TemperatureMax   *float64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	DecommissionedAt *time.Time
	State            *MachineState
}

const machineCols = `m.machine_id, m.city, m.building, m.latitude, m.longitude, m.payment_methods, m.status, m.temp_max_c,
	m.created_at, m.updated_at, m.decommissioned_at, s.last_telemetry_at, s.temperature, COALESCE(s.power_status, ''), COALESCE(s.door_status, '')`

func scanMachine(sc interface{ Scan(...any) error }) (Machine, error) {
	var m Machine
	var pm string
	var created, updated int64
	var decom, lastTel sql.NullInt64
	var temp sql.NullFloat64
	var st MachineState
	if err := sc.Scan(&m.MachineID, &m.Location.City, &m.Location.Building, &m.Location.Lat, &m.Location.Lng, &pm, &m.Status,
		&m.TemperatureMax, &created, &updated, &decom, &lastTel, &temp, &st.PowerStatus, &st.DoorStatus); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(pm), &m.PaymentMethods); err != nil {
		return m, fmt.Errorf("machine %s payment methods: %w", m.MachineID, err)
	}
	m.CreatedAt, m.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if decom.Valid {
		t := time.UnixMilli(decom.Int64).UTC()
		m.DecommissionedAt = &t
	}
	if lastTel.Valid {
		t := time.UnixMilli(lastTel.Int64).UTC()
		st.LastTelemetryAt = &t
		if temp.Valid {
			st.Temperature = &temp.Float64
		}
		m.State = &st
	}
	return m, nil
}

// Machine returns one machine, or ErrNotFound.
func (s *Store) Machine(ctx context.Context, id string) (Machine, error) {
	m, err := scanMachine(s.DB.QueryRow(ctx, `SELECT `+machineCols+` FROM vending_machines m LEFT JOIN machine_state s USING (machine_id) WHERE m.machine_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("machine %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("read machine: %w", err)
	}
	return m, nil
}

// Machines lists machines, optionally only those with status.
func (s *Store) Machines(ctx context.Context, status string) ([]Machine, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+machineCols+` FROM vending_machines m LEFT JOIN machine_state s USING (machine_id)
		WHERE (?1 = '' OR m.status = ?1) ORDER BY m.machine_id`, status)
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	defer rows.Close()
	out := []Machine{}
	for rows.Next() {
		m, err := scanMachine(rows)
		if err != nil {
			return nil, fmt.Errorf("list machines: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// InventoryItem is one product on one machine.
type InventoryItem struct {
	ProductID     string
	Name          string
	Price         wire.Money
	Quantity      int64
	ExpiryDate    string
	LowStockLimit int64
	ParLevel      int64
	CasePack      int64
	UpdatedAt     time.Time
	OpenAlerts    []string
	// Capacity is the most units the slot's coil holds, 0 if not known.
	Capacity int64
}

// DefaultParMultiple is the par level of a product with none set, as a
// multiple of its low-stock limit (at least DefaultParMin).
const (
	DefaultParMultiple = 3
	DefaultParMin      = 10
)

// ParLevel returns the level a slot is filled to: its par level if set,
// otherwise DefaultParMultiple × the low-stock limit, at least DefaultParMin.
func ParLevel(par sql.NullInt64, lowLimit int64) int64 {
	if par.Valid {
		return par.Int64
	}
	return max(DefaultParMin, DefaultParMultiple*lowLimit)
}

// Inventory lists a machine's products with their open alerts. It returns
// ErrNotFound for an unknown machine.
func (s *Store) Inventory(ctx context.Context, machineID string) ([]InventoryItem, error) {
	var one int
	if err := s.DB.QueryRow(ctx, `SELECT 1 FROM vending_machines WHERE machine_id = ?`, machineID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("machine %q: %w", machineID, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	rows, err := s.DB.Query(ctx, `SELECT i.product_id, p.name, i.price_cents, i.quantity, COALESCE(i.expiry_date, ''), i.low_stock_limit,
		i.par_level, p.case_pack, i.updated_at,
		COALESCE((SELECT group_concat(a.alert_type) FROM alerts a WHERE a.status = 'OPEN' AND a.machine_id = i.machine_id AND a.product_id = i.product_id), ''),
		COALESCE(i.capacity, 0)
		FROM machine_inventory i JOIN products p USING (product_id) WHERE i.machine_id = ? ORDER BY i.product_id`, machineID)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	defer rows.Close()
	out := []InventoryItem{}
	for rows.Next() {
		var it InventoryItem
		var updated int64
		var par sql.NullInt64
		var alerts string
		if err := rows.Scan(&it.ProductID, &it.Name, &it.Price, &it.Quantity, &it.ExpiryDate, &it.LowStockLimit, &par, &it.CasePack, &updated, &alerts, &it.Capacity); err != nil {
			return nil, fmt.Errorf("read inventory: %w", err)
		}
		it.ParLevel = ParLevel(par, it.LowStockLimit)
		it.UpdatedAt = time.UnixMilli(updated).UTC()
		it.OpenAlerts = []string{}
		if alerts != "" {
			it.OpenAlerts = strings.Split(alerts, ",")
			sort.Strings(it.OpenAlerts)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Fault is a reported machine fault.
type Fault struct {
	FaultID     int64
	MachineID   string
	FaultType   string
	Description string
	Status      string
	Timestamp   time.Time
	ReportedAt  time.Time
	UpdatedAt   time.Time
	ResolvedAt  *time.Time
	ResolvedBy  string
}

const faultCols = `fault_id, machine_id, fault_type, description, status, event_time, reported_at, updated_at, resolved_at, COALESCE(resolved_by, '')`

func scanFault(sc interface{ Scan(...any) error }) (Fault, error) {
	var fs faultScan
	if err := sc.Scan(fs.dest()...); err != nil {
		return Fault{}, err
	}
	return fs.fault(), nil
}

// faultScan holds the columns of faultCols as scanned; a list reuses one
// for all its rows (its fields escape to the heap through Scan's ...any:
// once per query, not once per row).
type faultScan struct {
	f            Fault
	ev, rep, upd int64
	res          sql.NullInt64
}

func (s *faultScan) dest() []any {
	return []any{&s.f.FaultID, &s.f.MachineID, &s.f.FaultType, &s.f.Description, &s.f.Status, &s.ev, &s.rep, &s.upd, &s.res, &s.f.ResolvedBy}
}

func (s *faultScan) fault() Fault {
	f := s.f
	f.Timestamp, f.ReportedAt, f.UpdatedAt = time.UnixMilli(s.ev).UTC(), time.UnixMilli(s.rep).UTC(), time.UnixMilli(s.upd).UTC()
	f.ResolvedAt = nil
	if s.res.Valid {
		t := time.UnixMilli(s.res.Int64).UTC()
		f.ResolvedAt = &t
	}
	return f
}

// Fault returns one fault, or ErrNotFound.
func (s *Store) Fault(ctx context.Context, id int64) (Fault, error) {
	f, err := scanFault(s.DB.QueryRow(ctx, `SELECT `+faultCols+` FROM fault_events WHERE fault_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("fault %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("read fault: %w", err)
	}
	return f, nil
}

// FaultFilter selects faults; empty fields match everything.
type FaultFilter struct {
	Status    string
	MachineID string
	// City matches the faults of machines in that city.
	City  string
	Limit int
}

// Faults lists faults matching f, newest first.
func (s *Store) Faults(ctx context.Context, f FaultFilter) ([]Fault, error) {
	return s.AppendFaults(ctx, nil, f)
}

// AppendFaults is Faults appending to dst: a caller that lists often can
// keep one array for its lists (see edge/api's listBufs).
func (s *Store) AppendFaults(ctx context.Context, dst []Fault, f FaultFilter) ([]Fault, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+faultCols+` FROM fault_events
		WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR machine_id = ?2)
			AND (?3 = '' OR machine_id IN (SELECT machine_id FROM vending_machines WHERE city = ?3))
		ORDER BY fault_id DESC LIMIT ?4`, f.Status, f.MachineID, f.City, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list faults: %w", err)
	}
	defer rows.Close()
	out := dst
	if out == nil {
		out = make([]Fault, 0, min(max(f.Limit, 0), 1024)) // at its limit: no regrowth
	}
	var sc faultScan
	dest := sc.dest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list faults: %w", err)
		}
		out = append(out, sc.fault())
	}
	return out, rows.Err()
}

// Alert is an alert with its lifecycle.
type Alert struct {
	AlertID     int64
	MachineID   string
	ProductID   string
	Type        string
	Status      string
	Detail      string
	CreatedAt   time.Time
	ClosedAt    *time.Time
	CloseReason string
}

// Alerts lists alerts, newest first, filtered by status, type and machine.
func (s *Store) Alerts(ctx context.Context, status, typ, machineID string, limit int) ([]Alert, error) {
	rows, err := s.DB.Query(ctx, `SELECT alert_id, machine_id, product_id, alert_type, status, detail, created_at, closed_at, COALESCE(close_reason, '')
		FROM alerts WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR alert_type = ?2) AND (?3 = '' OR machine_id = ?3)
		ORDER BY alert_id DESC LIMIT ?4`, status, typ, machineID, limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		var created int64
		var closed sql.NullInt64
		if err := rows.Scan(&a.AlertID, &a.MachineID, &a.ProductID, &a.Type, &a.Status, &a.Detail, &created, &closed, &a.CloseReason); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		a.CreatedAt = time.UnixMilli(created).UTC()
		if closed.Valid {
			t := time.UnixMilli(closed.Int64).UTC()
			a.ClosedAt = &t
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AggRow is one group's totals in one bucket.
type AggRow struct {
	Key          string
	Bucket       string // local wall-clock start of the bucket
	Transactions int64
	Quantity     int64
	Revenue      wire.Money
}

// Totals sums rows.
type Totals struct {
	Transactions int64
	Quantity     int64
	Revenue      wire.Money
}

// Dims are the edge's aggregation dimensions.
var Dims = []string{"machine", "product", "location"}

// salesAggQuery reads one window's buckets in the primary key's order.
const salesAggQuery = `SELECT key, bucket, tx_count, quantity, revenue_cents FROM sales_agg
	WHERE dim = ? AND win = ? AND bucket >= ? AND bucket < ? ORDER BY bucket, key`

// SalesAgg returns the buckets of window w whose start lies in the
// naive-local range [Start(w, from), to), per key of dimension dim.
func (s *Store) SalesAgg(ctx context.Context, dim string, w bucket.Window, from, to time.Time) ([]AggRow, Totals, error) {
	return s.AppendSalesAgg(ctx, nil, dim, w, from, to)
}

// AppendSalesAgg is SalesAgg appending to dst (as AppendFaults); the
// totals are of the rows it appended.
func (s *Store) AppendSalesAgg(ctx context.Context, dst []AggRow, dim string, w bucket.Window, from, to time.Time) ([]AggRow, Totals, error) {
	rows, err := s.DB.Query(ctx, salesAggQuery, dim, string(w), bucket.Start(w, from).Unix(), to.Unix())
	if err != nil {
		return nil, Totals{}, fmt.Errorf("read aggregates: %w", err)
	}
	defer rows.Close()
	out := dst
	if out == nil {
		out = make([]AggRow, 0, min(1024, max(16, int(s.aggHint.Load()))))
	}
	base := len(out)
	var tot Totals
	label, last := "", int64(math.MinInt64)
	// The scan's targets live across rows (they escape through Scan's
	// ...any: once per query, not per row); rev is an int64, not a
	// wire.Money, which database/sql would convert by reflection.
	var key string
	var b, tx, qty, rev int64
	dest := []any{&key, &b, &tx, &qty, &rev}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, Totals{}, fmt.Errorf("read aggregates: %w", err)
		}
		r := AggRow{Key: key, Transactions: tx, Quantity: qty, Revenue: wire.Money(rev)}
		if b != last { // rows come by bucket: each label is formatted once
			label, last = bucket.Label(b), b
		}
		r.Bucket = label
		tot.Transactions += r.Transactions
		tot.Quantity += r.Quantity
		tot.Revenue += r.Revenue
		out = append(out, r)
	}
	s.aggHint.Store(int64(len(out) - base))
	return out, tot, rows.Err()
}

// ProductTotal is one product's totals over a range.
type ProductTotal struct {
	ProductID    string
	Name         string
	Transactions int64
	Quantity     int64
	Revenue      wire.Money
}

// TopProducts returns the n best products over the naive-local range
// [from, to) (hour precision), ranked by revenue or by quantity: one
// statement reads the range's coarsest covering buckets (bucket.Cover:
// months, then days, then hours at its edges), summed here, and one more
// the names of the n.
func (s *Store) TopProducts(ctx context.Context, n int, from, to time.Time, byQuantity bool) ([]ProductTotal, error) {
	spans := bucket.Cover(from, to)
	if len(spans) == 0 {
		return []ProductTotal{}, nil
	}
	query, args := topProductsQuery(spans)
	rows, err := s.DB.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("top products: %w", err)
	}
	defer rows.Close()
	sums := map[string]*ProductTotal{}
	var k string
	var tx, q, rev int64 // int64s: database/sql scans other types by reflection
	for rows.Next() {
		if err := rows.Scan(&k, &tx, &q, &rev); err != nil {
			return nil, fmt.Errorf("top products: %w", err)
		}
		p := sums[k]
		if p == nil {
			p = &ProductTotal{ProductID: k}
			sums[k] = p
		}
		p.Transactions += tx
		p.Quantity += q
		p.Revenue += wire.Money(rev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("top products: %w", err)
	}
	out := make([]ProductTotal, 0, len(sums))
	for _, p := range sums {
		out = append(out, *p)
	}
	rankProducts(out, byQuantity)
	if len(out) > n {
		out = out[:n]
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, len(out))
	for i := range out {
		ids[i] = out[i].ProductID
	}
	names, err := s.DB.Query(ctx, `SELECT product_id, name FROM products WHERE product_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("top products: names: %w", err)
	}
	defer names.Close()
	byID := make(map[string]string, len(out))
	var id, name string
	for names.Next() {
		if err := names.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("top products: names: %w", err)
		}
		byID[id] = name
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("top products: names: %w", err)
	}
	for i := range out {
		out[i].Name = byID[out[i].ProductID] // a product sold but never named has none
	}
	return out, nil
}

// rankProducts orders ps best first: by revenue, or by quantity then
// revenue; ties by product id.
func rankProducts(ps []ProductTotal, byQuantity bool) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if byQuantity && a.Quantity != b.Quantity {
			return a.Quantity > b.Quantity
		}
		if a.Revenue != b.Revenue {
			return a.Revenue > b.Revenue
		}
		return a.ProductID < b.ProductID
	})
}

// topProductsQuery reads the product buckets of spans.
func topProductsQuery(spans []bucket.Span) (string, []any) {
	var q strings.Builder
	args := make([]any, 0, 3*len(spans))
	for i, sp := range spans {
		if i > 0 {
			q.WriteString(` UNION ALL `)
		}
		q.WriteString(`SELECT key, tx_count, quantity, revenue_cents FROM sales_agg WHERE dim = 'product' AND win = ? AND bucket >= ? AND bucket < ?`)
		args = append(args, string(sp.Window), sp.From, sp.To)
	}
	return q.String(), args
}

// AuditEntry is one audit log row.
type AuditEntry struct {
	ID          int64
	EntityType  string
	EntityID    string
	Action      string
	PerformedBy string
	PerformedAt time.Time
	Detail      json.RawMessage
}

// Audit lists audit entries, newest first, optionally for one entity.
func (s *Store) Audit(ctx context.Context, entityType, entityID string, limit int) ([]AuditEntry, error) {
	out, _, err := s.AppendAudit(ctx, nil, nil, entityType, entityID, limit)
	return out, err
}

// AppendAudit is Audit appending to dst (as AppendFaults), with every
// entry's detail appended to details and the entries' Detail slices of it:
// one array for all the details (a caller can keep it from read to read)
// instead of one each. It returns the entries and the details' array.
func (s *Store) AppendAudit(ctx context.Context, dst []AuditEntry, details []byte, entityType, entityID string, limit int) ([]AuditEntry, []byte, error) {
	rows, err := s.DB.Query(ctx, `SELECT id, entity_type, entity_id, action, performed_by, performed_at, detail FROM audit_logs
		WHERE (?1 = '' OR entity_type = ?1) AND (?2 = '' OR entity_id = ?2) ORDER BY id DESC LIMIT ?3`, entityType, entityID, limit)
	if err != nil {
		return nil, details, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := dst
	if out == nil {
		out = make([]AuditEntry, 0, min(max(limit, 0), 1024)) // at its limit: no regrowth
	}
	// The scan's targets live across rows: once on the heap per query.
	var e AuditEntry
	var at int64
	var d []byte
	dest := []any{&e.ID, &e.EntityType, &e.EntityID, &e.Action, &e.PerformedBy, &at, &sqlite.AppendBytes{Arena: &details, Dst: &d}}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, details, fmt.Errorf("read audit log: %w", err)
		}
		a := e
		a.PerformedAt = time.UnixMilli(at).UTC()
		a.Detail = json.RawMessage(d)
		out = append(out, a)
	}
	return out, details, rows.Err()
}
