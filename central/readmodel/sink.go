package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

// chunkRows is how many rows one multi-row statement carries.
const chunkRows = 128

const (
	insertRawHead = `INSERT INTO raw_events (site, seq, kind, event_time, received_at, stream_seq, body)`
	insertRawRow  = `(?,?,?,?,?,?,?)`
	insertRawTail = `ON CONFLICT (site, seq) DO NOTHING`
	selectHeld    = `SELECT seq FROM raw_events WHERE site = ? AND seq BETWEEN ? AND ?`

	insertSaleHead = `INSERT INTO sales (site, machine_id, transaction_id, seq, product_id, city, location, quantity, amount_cents, payment_method, event_time)`
	insertSaleRow  = `(?,?,?,?,?,?,?,?,?,?,?)`
	insertSaleTail = `ON CONFLICT (site, machine_id, transaction_id) DO NOTHING`
	selectSaleSeq  = `SELECT seq FROM sales WHERE site = ? AND machine_id = ? AND transaction_id = ?`

	upsertAggHead = `INSERT INTO sales_agg (dim, win, site, city, bucket, key, tx_count, quantity, revenue_cents, discount_cents)`
	upsertAggRow  = `(?,?,?,?,?,?,?,?,?,?)`
	upsertAggTail = `ON CONFLICT (dim, win, site, city, bucket, key) DO UPDATE SET
		tx_count = tx_count + excluded.tx_count,
		quantity = quantity + excluded.quantity,
		revenue_cents = revenue_cents + excluded.revenue_cents,
		discount_cents = discount_cents + excluded.discount_cents`

	upsertSiteFleetHead = `INSERT INTO site_sales_fleet (win, bucket, site, tx_count, quantity, revenue_cents, discount_cents)`
	upsertSiteFleetRow  = `(?,?,?,?,?,?,?)`
	upsertSiteFleetTail = `ON CONFLICT (win, bucket, site) DO UPDATE SET
		tx_count = tx_count + excluded.tx_count,
		quantity = quantity + excluded.quantity,
		revenue_cents = revenue_cents + excluded.revenue_cents,
		discount_cents = discount_cents + excluded.discount_cents`

	upsertMachineFleetHead = `INSERT INTO machine_sales_fleet (win, bucket, machine_id, site, tx_count, quantity, revenue_cents, discount_cents)`
	upsertMachineFleetRow  = `(?,?,?,?,?,?,?,?)`
	upsertMachineFleetTail = `ON CONFLICT (win, bucket, machine_id, site) DO UPDATE SET
		tx_count = tx_count + excluded.tx_count,
		quantity = quantity + excluded.quantity,
		revenue_cents = revenue_cents + excluded.revenue_cents,
		discount_cents = discount_cents + excluded.discount_cents`

	insertScope = `INSERT INTO sales_scopes (site, city) VALUES (?, ?) ON CONFLICT DO NOTHING`

	selectSite = `SELECT tz, contiguous, max_seen, last_event_time FROM sites WHERE site = ?`
	walkSeqs   = `SELECT seq FROM raw_events WHERE site = ? AND seq > ? ORDER BY seq`
	upsertSite = `INSERT INTO sites (site, tz, contiguous, max_seen, last_event_time, last_contact, backlog)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site) DO UPDATE SET tz = excluded.tz, contiguous = excluded.contiguous,
			max_seen = excluded.max_seen, last_event_time = excluded.last_event_time,
			last_contact = excluded.last_contact, backlog = excluded.backlog`
	upsertPosition = `INSERT INTO stream_position (consumer, stream_seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (consumer) DO UPDATE SET stream_seq = max(stream_seq, excluded.stream_seq), updated_at = excluded.updated_at`

	upsertMachine = `INSERT INTO machines (site, machine_id, city, building, latitude, longitude, payment_methods, status, temp_max_c, action, seq, event_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, machine_id) DO UPDATE SET city = excluded.city, building = excluded.building,
			latitude = excluded.latitude, longitude = excluded.longitude, payment_methods = excluded.payment_methods,
			status = excluded.status, temp_max_c = excluded.temp_max_c, action = excluded.action,
			seq = excluded.seq, event_time = excluded.event_time
		WHERE excluded.seq > machines.seq`
	// upsertSiteCity sets site ?1's city in site_cities (migration 0027)
	// from its machines: their city if they all stand in one, else NULL.
	upsertSiteCity = `INSERT INTO site_cities (site, city)
		SELECT ?1, CASE WHEN MIN(city) = MAX(city) THEN MIN(city) END FROM machines WHERE site = ?1
		ON CONFLICT (site) DO UPDATE SET city = excluded.city WHERE city IS NOT excluded.city`
	upsertInventory = `INSERT INTO machine_products (site, machine_id, product_id, name, price_cents, quantity, expiry_date,
			low_stock_limit, par_level, case_pack, info_seq, qty_seq, updated_at, capacity)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, machine_id, product_id) DO UPDATE SET
			name = CASE WHEN excluded.info_seq > info_seq THEN excluded.name ELSE name END,
			price_cents = CASE WHEN excluded.info_seq > info_seq THEN excluded.price_cents ELSE price_cents END,
			expiry_date = CASE WHEN excluded.info_seq > info_seq THEN excluded.expiry_date ELSE expiry_date END,
			low_stock_limit = CASE WHEN excluded.info_seq > info_seq THEN excluded.low_stock_limit ELSE low_stock_limit END,
			par_level = CASE WHEN excluded.info_seq > info_seq THEN excluded.par_level ELSE par_level END,
			case_pack = CASE WHEN excluded.info_seq > info_seq THEN excluded.case_pack ELSE case_pack END,
			capacity = CASE WHEN excluded.info_seq > info_seq THEN excluded.capacity ELSE capacity END,
			quantity = CASE WHEN excluded.qty_seq > qty_seq THEN excluded.quantity ELSE quantity END,
			info_seq = max(info_seq, excluded.info_seq),
			qty_seq = max(qty_seq, excluded.qty_seq),
			updated_at = max(updated_at, excluded.updated_at)`
	upsertStock = `INSERT INTO machine_products (site, machine_id, product_id, quantity, qty_seq, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, machine_id, product_id) DO UPDATE SET
			quantity = CASE WHEN excluded.qty_seq > qty_seq THEN excluded.quantity ELSE quantity END,
			qty_seq = max(qty_seq, excluded.qty_seq),
			updated_at = max(updated_at, excluded.updated_at)`
	upsertFault = `INSERT INTO faults (site, fault_id, machine_id, fault_type, description, status, reported_at, resolved_at, updated_by, seq, event_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, fault_id) DO UPDATE SET machine_id = excluded.machine_id, fault_type = excluded.fault_type,
			description = excluded.description, status = excluded.status, reported_at = excluded.reported_at,
			resolved_at = excluded.resolved_at, updated_by = excluded.updated_by, seq = excluded.seq, event_time = excluded.event_time
		WHERE excluded.seq > faults.seq`
	upsertAlert = `INSERT INTO alerts (site, alert_id, machine_id, product_id, alert_type, status, detail, opened_at, closed_at, seq, event_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, alert_id) DO UPDATE SET machine_id = excluded.machine_id, product_id = excluded.product_id,
			alert_type = excluded.alert_type, status = excluded.status, detail = excluded.detail,
			opened_at = excluded.opened_at, closed_at = excluded.closed_at, seq = excluded.seq, event_time = excluded.event_time
		WHERE excluded.seq > alerts.seq`
	upsertTelemetry = `INSERT INTO machine_telemetry (site, machine_id, temperature, power_status, door_status, seq, event_time)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, machine_id) DO UPDATE SET
			temperature = coalesce(excluded.temperature, temperature),
			power_status = CASE WHEN excluded.power_status <> '' THEN excluded.power_status ELSE power_status END,
			door_status = CASE WHEN excluded.door_status <> '' THEN excluded.door_status ELSE door_status END,
			seq = excluded.seq, event_time = excluded.event_time
		WHERE excluded.seq > machine_telemetry.seq`
)

// sqliteSink is the Store's Sink: its writer connection inside the
// transaction ApplyPrepared opened. The caller holds s.mu.
type sqliteSink struct {
	s     *Store
	now   int64      // receive time, unix milliseconds
	saved *SiteState // what SaveSite recorded, for the freshness table after commit
	// disc is the discount of each aggregate row that AddDiscounts found
	// in the sales it was given; AddTotals writes it in the same upsert as
	// the row's totals, and forgets it.
	disc map[aggregate.Row]int64
	// held, when set, collects what AddTotals would write, for ApplyGroup
	// to write once for the whole group.
	held *heldTotals
}

// heldTotals is what AddTotals of the items of a group would write, summed:
// the rows many items count in (a product's fleet-wide and per-city rows,
// say) are written once per group instead of once per item.
type heldTotals struct {
	d    *aggregate.Deltas
	disc map[aggregate.Row]int64
}

func newHeldTotals() *heldTotals {
	return &heldTotals{d: aggregate.NewDeltas(), disc: map[aggregate.Row]int64{}}
}

// add sums d and disc into h. It copies: d may be a Prepared batch's own
// deltas, which must not change.
func (h *heldTotals) add(d *aggregate.Deltas, disc map[aggregate.Row]int64) {
	for r, v := range d.Rows {
		t := h.d.Rows[r]
		if t == nil {
			t = &aggregate.Totals{}
			h.d.Rows[r] = t
		}
		t.Tx += v.Tx
		t.Quantity += v.Quantity
		t.Revenue += v.Revenue
	}
	for sc := range d.Scopes {
		h.d.Scopes[sc] = struct{}{}
	}
	for r, v := range disc {
		h.disc[r] += v
	}
}

var _ Sink = (*sqliteSink)(nil)

func (k *sqliteSink) Site(ctx context.Context, site string) (SiteState, error) {
	var st SiteState
	var last int64
	err := k.s.queryRow(ctx, selectSite, site).Scan(&st.TZ, &st.Contiguous, &st.MaxSeen, &last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SiteState{}, nil
	case err != nil:
		return SiteState{}, err
	}
	st.LastEvent = fromMS(last)
	return st, nil
}

func (k *sqliteSink) InsertEvents(ctx context.Context, b *aggregate.Batch, streamSeq uint64) ([]bool, error) {
	fresh := make([]bool, len(b.Events))
	for i := range fresh {
		fresh[i] = true
	}
	rows, err := k.s.query(ctx, selectHeld, b.Site, int64(b.First), int64(b.Last))
	if err != nil {
		return nil, fmt.Errorf("read held events: %w", err)
	}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read held events: %w", err)
		}
		fresh[uint64(seq)-b.First] = false
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("read held events: %w", err)
	}
	rows.Close()
	args := make([]any, 0, len(b.Events)*7)
	for i := range b.Events {
		if e := &b.Events[i]; fresh[i] {
			args = append(args, b.Site, int64(e.Seq), string(e.Kind), ms(e.Time), k.now, int64(streamSeq), e.JSON)
		}
	}
	if err := k.s.execChunks(ctx, insertRawHead, insertRawRow, insertRawTail, args, nil); err != nil {
		return nil, err
	}
	return fresh, nil
}

func (k *sqliteSink) Upsert(ctx context.Context, site string, facts []aggregate.Fact) error {
	for _, f := range facts {
		if err := k.upsert(ctx, site, f); err != nil {
			return fmt.Errorf("event %d: %w", f.Seq, err)
		}
	}
	return nil
}

func (k *sqliteSink) upsert(ctx context.Context, site string, f aggregate.Fact) error {
	seq, at := int64(f.Seq), ms(f.Time)
	switch d := f.Data.(type) {
	case *envelope.Machine:
		pm := []byte("[]")
		if d.PaymentMethods != nil {
			var err error
			if pm, err = json.Marshal(d.PaymentMethods); err != nil {
				return err
			}
		}
		if err := k.s.exec(ctx, upsertMachine, site, d.MachineID, d.City, d.Building, d.Lat, d.Lng,
			string(pm), d.Status, d.TempMaxC, d.Action, seq, at); err != nil {
			return err
		}
		return k.s.exec(ctx, upsertSiteCity, site)
	case *envelope.Inventory:
		return k.s.exec(ctx, upsertInventory, site, d.MachineID, d.ProductID, d.Name, d.PriceCents,
			d.Quantity, d.ExpiryDate, d.LowStockLimit, d.ParLevel, d.CasePack, seq, seq, at, d.Capacity)
	case *aggregate.StockCount:
		if err := k.s.exec(ctx, upsertStock, site, d.MachineID, d.ProductID, d.After, seq, at); err != nil {
			return err
		}
		return k.ledgerFromEvent(ctx, site, f, d)
	case *envelope.Fault:
		var resolved *int64
		if d.ResolvedAt != nil {
			v := ms(*d.ResolvedAt)
			resolved = &v
		}
		return k.s.exec(ctx, upsertFault, site, d.FaultID, d.MachineID, d.FaultType, d.Description,
			d.Status, ms(d.ReportedAt), resolved, d.By, seq, at)
	case *envelope.Alert:
		var closed *int64
		if d.ClosedAt != nil {
			v := ms(*d.ClosedAt)
			closed = &v
		}
		if err := k.s.exec(ctx, upsertAlert, site, d.AlertID, d.MachineID, d.ProductID, d.Type,
			d.Status, d.Detail, ms(d.OpenedAt), closed, seq, at); err != nil {
			return err
		}
		return k.notifyAlert(ctx, site, d)
	case *envelope.Telemetry:
		return k.s.exec(ctx, upsertTelemetry, site, d.MachineID, d.Temperature, d.PowerStatus,
			d.DoorStatus, seq, at)
	}
	if ok, err := k.upsertDEX(ctx, site, f); ok {
		return err
	}
	if ok, err := k.upsertLease(ctx, site, f); ok {
		return err
	}
	if ok, err := k.upsertOrder(ctx, site, f); ok {
		return err
	}
	if ok, err := k.upsertPayment(ctx, site, f); ok {
		return err
	}
	if ok, err := k.upsertLot(ctx, site, f); ok {
		return err
	}
	return fmt.Errorf("no table for %T", f.Data)
}

func (k *sqliteSink) InsertSales(ctx context.Context, site string, sales []aggregate.SaleRow) ([]bool, error) {
	const width = 11
	args := make([]any, 0, len(sales)*width)
	for _, sl := range sales {
		args = append(args, site, sl.MachineID, sl.TransactionID, int64(sl.Seq), sl.ProductID, sl.City, sl.Location,
			sl.Quantity, sl.AmountCents, sl.PaymentMethod, ms(sl.Time))
	}
	isNew := make([]bool, len(sales))
	for off := 0; off < len(sales); off += chunkRows {
		n := min(chunkRows, len(sales)-off)
		st, err := k.s.multiStmt(ctx, insertSaleHead, insertSaleRow, insertSaleTail, n)
		if err != nil {
			return nil, err
		}
		res, err := st.ExecContext(ctx, args[off*width:(off+n)*width]...)
		if err != nil {
			return nil, err
		}
		inserted, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		if inserted == int64(n) {
			// Every row was new: the case of every batch but a replayed
			// transaction's, without reading anything back.
			for i := off; i < off+n; i++ {
				isNew[i] = true
			}
			continue
		}
		// Some keys were held. A sale is new when its key's row is now its
		// own: the sales given come from events new to the read model,
		// whose seqs no row held before carries, and of a key repeated
		// here the first is the one inserted.
		for i := off; i < off+n; i++ {
			var seq int64
			if err := k.s.queryRow(ctx, selectSaleSeq, site, sales[i].MachineID, sales[i].TransactionID).Scan(&seq); err != nil {
				return nil, fmt.Errorf("read sale %s/%s: %w", sales[i].MachineID, sales[i].TransactionID, err)
			}
			isNew[i] = uint64(seq) == sales[i].Seq
		}
	}
	return isNew, nil
}

func (k *sqliteSink) AddTotals(ctx context.Context, d *aggregate.Deltas) error {
	disc := k.disc
	k.disc = nil
	if k.held != nil {
		k.held.add(d, disc)
		return nil
	}
	return k.s.writeTotals(ctx, d, disc)
}

// fleetKey is a row of site_sales_fleet (migration 0028; machine is "")
// or of machine_sales_fleet (0031).
type fleetKey struct {
	win     string
	bucket  int64
	machine string
	site    string
}

// writeTotals adds d's totals, and disc's discounts, to the aggregate rows
// and to the fleet's site and machine rows (site_sales_fleet and
// machine_sales_fleet: a site's or machine's rows of every city summed,
// hours left out) and records d's scopes. The caller holds s.mu.
func (s *Store) writeTotals(ctx context.Context, d *aggregate.Deltas, disc map[aggregate.Row]int64) error {
	args := make([]any, 0, len(d.Rows)*10)
	sites, machines := map[fleetKey]*[4]int64{}, map[fleetKey]*[4]int64{}
	add := func(m map[fleetKey]*[4]int64, k fleetKey, v *aggregate.Totals, disc int64) {
		t := m[k]
		if t == nil {
			t = new([4]int64)
			m[k] = t
		}
		t[0] += v.Tx
		t[1] += v.Quantity
		t[2] += v.Revenue
		t[3] += disc
	}
	for r, v := range d.Rows {
		if v.Tx == 0 {
			continue
		}
		args = append(args, r.Dim, r.Win, r.Site, r.City, r.Bucket, r.Key, v.Tx, v.Quantity, v.Revenue, disc[r])
		if r.Win == string(bucket.Hour) {
			continue
		}
		switch r.Dim {
		case aggregate.DimSite:
			add(sites, fleetKey{win: r.Win, bucket: r.Bucket, site: r.Key}, v, disc[r])
		case aggregate.DimMachine:
			add(machines, fleetKey{r.Win, r.Bucket, r.Key, r.Site}, v, disc[r])
		}
	}
	if len(args) == 0 {
		return nil
	}
	if err := s.execChunks(ctx, upsertAggHead, upsertAggRow, upsertAggTail, args, nil); err != nil {
		return err
	}
	args = args[:0]
	for k, t := range sites {
		args = append(args, k.win, k.bucket, k.site, t[0], t[1], t[2], t[3])
	}
	if err := s.execChunks(ctx, upsertSiteFleetHead, upsertSiteFleetRow, upsertSiteFleetTail, args, nil); err != nil {
		return err
	}
	args = args[:0]
	for k, t := range machines {
		args = append(args, k.win, k.bucket, k.machine, k.site, t[0], t[1], t[2], t[3])
	}
	if err := s.execChunks(ctx, upsertMachineFleetHead, upsertMachineFleetRow, upsertMachineFleetTail, args, nil); err != nil {
		return err
	}
	st, err := s.stmt(ctx, insertScope)
	if err != nil {
		return err
	}
	for sc := range d.Scopes {
		if _, err := st.ExecContext(ctx, sc.Site, sc.City); err != nil {
			return fmt.Errorf("insert scope: %w", err)
		}
	}
	return nil
}

func (k *sqliteSink) Contiguous(ctx context.Context, site string, from uint64) (uint64, error) {
	rows, err := k.s.query(ctx, walkSeqs, site, int64(from))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	c := from
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return 0, err
		}
		if uint64(seq) != c+1 {
			break
		}
		c++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return c, rows.Close()
}

func (k *sqliteSink) SaveSite(ctx context.Context, site string, st SiteState, streamSeq uint64) error {
	if _, err := k.s.execStmt(ctx, upsertSite, site, st.TZ, int64(st.Contiguous), int64(st.MaxSeen),
		ms(st.LastEvent), k.now, int64(st.MaxSeen-st.Contiguous)); err != nil {
		return err
	}
	k.saved = &st
	if streamSeq > 0 {
		if _, err := k.s.execStmt(ctx, upsertPosition, k.s.consumer, int64(streamSeq), k.now); err != nil {
			return fmt.Errorf("record stream position: %w", err)
		}
	}
	return nil
}

// execChunks runs a multi-row statement (see multiRow) over args, width
// values per row, chunkRows rows at a time. When scan is set the statement has a RETURNING clause and scan sees every
// returned row. The caller holds s.mu.
func (s *Store) execChunks(ctx context.Context, head, row, tail string, args []any, scan func(*sql.Rows) error) error {
	width := strings.Count(row, "?")
	n := len(args) / width
	for off := 0; off < n; off += chunkRows {
		k := min(chunkRows, n-off)
		st, err := s.multiStmt(ctx, head, row, tail, k)
		if err != nil {
			return err
		}
		a := args[off*width : (off+k)*width]
		if scan == nil {
			if _, err := st.ExecContext(ctx, a...); err != nil {
				return err
			}
			continue
		}
		rows, err := st.QueryContext(ctx, a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// exec runs a prepared writer statement. The caller holds s.mu.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	if _, err := s.execStmt(ctx, query, args...); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// execStmt runs a prepared writer statement. The caller holds s.mu.
func (s *Store) execStmt(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs a prepared query on the writer (inside its transaction). The
// caller holds s.mu.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is query for one row; a prepare error surfaces from Scan.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
