package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Watermark is a site's uplink position in the read model: every event with
// Seq <= Contiguous is committed, MaxSeen is the highest Seq received at all.
type Watermark struct {
	Site       string
	Contiguous uint64
	MaxSeen    uint64
}

// Result is what one Apply did.
type Result struct {
	Watermark
	// Applied counts the batch's events that were new to the read model.
	Applied int
	// Duplicates counts the batch's events that were already present.
	Duplicates int
	// Skipped counts new events whose data could not be decoded: they are
	// kept raw and count toward the watermark, but have no effect.
	Skipped int
}

// Scope markers in sales_agg.site: never valid site ids.
const (
	scopeCity  = "*"  // all sites of one city
	scopeFleet = "**" // the whole fleet (city '')
)

// Dimension names (sales_agg.dim).
const (
	dimMachine = "machine"
	dimSite    = "site"
	dimCity    = "city"
	dimProduct = "product"
)

// chunkRows is how many rows one multi-row statement carries.
const chunkRows = 128

const (
	insertRawHead = `INSERT INTO raw_events (site, seq, kind, event_time, received_at, stream_seq, body)`
	insertRawRow  = `(?,?,?,?,?,?,?)`
	insertRawTail = `ON CONFLICT (site, seq) DO NOTHING`
	selectHeld    = `SELECT seq FROM raw_events WHERE site = ? AND seq BETWEEN ? AND ?`

	insertSaleHead = `INSERT INTO sales (transaction_id, site, seq, machine_id, product_id, city, location, quantity, amount_cents, payment_method, event_time)`
	insertSaleRow  = `(?,?,?,?,?,?,?,?,?,?,?)`
	insertSaleTail = `ON CONFLICT (transaction_id) DO NOTHING RETURNING transaction_id`

	upsertAggHead = `INSERT INTO sales_agg (dim, win, site, city, bucket, key, tx_count, quantity, revenue_cents)`
	upsertAggRow  = `(?,?,?,?,?,?,?,?,?)`
	upsertAggTail = `ON CONFLICT (dim, win, site, city, bucket, key) DO UPDATE SET
		tx_count = tx_count + excluded.tx_count,
		quantity = quantity + excluded.quantity,
		revenue_cents = revenue_cents + excluded.revenue_cents`

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
	upsertInventory = `INSERT INTO machine_products (site, machine_id, product_id, name, price_cents, quantity, expiry_date,
			low_stock_limit, par_level, case_pack, info_seq, qty_seq, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, machine_id, product_id) DO UPDATE SET
			name = CASE WHEN excluded.info_seq > info_seq THEN excluded.name ELSE name END,
			price_cents = CASE WHEN excluded.info_seq > info_seq THEN excluded.price_cents ELSE price_cents END,
			expiry_date = CASE WHEN excluded.info_seq > info_seq THEN excluded.expiry_date ELSE expiry_date END,
			low_stock_limit = CASE WHEN excluded.info_seq > info_seq THEN excluded.low_stock_limit ELSE low_stock_limit END,
			par_level = CASE WHEN excluded.info_seq > info_seq THEN excluded.par_level ELSE par_level END,
			case_pack = CASE WHEN excluded.info_seq > info_seq THEN excluded.case_pack ELSE case_pack END,
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

type aggKey struct {
	dim, win   string
	site, city string
	bucket     int64
	key        string
}

type aggVal struct{ tx, qty, rev int64 }

// aggDeltas accumulates one transaction's aggregate changes in memory so
// that each key is upserted once.
type aggDeltas struct {
	m      map[aggKey]*aggVal
	scopes map[[2]string]struct{}
}

func newAggDeltas() *aggDeltas {
	return &aggDeltas{m: map[aggKey]*aggVal{}, scopes: map[[2]string]struct{}{}}
}

func (d *aggDeltas) add(k aggKey, qty, rev int64) {
	v := d.m[k]
	if v == nil {
		v = &aggVal{}
		d.m[k] = v
	}
	v.tx++
	v.qty += qty
	v.rev += rev
}

// addSale adds one sale to every row it counts in: each window, each dim,
// each scope (see migrations/central/0001_init.sql).
func (d *aggDeltas) addSale(site, city, machine, product string, qty, rev int64, t time.Time, loc *time.Location) {
	keys := bucket.Keys(t, loc)
	for i, w := range bucket.All {
		win, b := string(w), keys[i]
		d.add(aggKey{dimMachine, win, site, city, b, machine}, qty, rev)
		d.add(aggKey{dimSite, win, site, city, b, site}, qty, rev)
		d.add(aggKey{dimCity, win, site, city, b, city}, qty, rev)
		d.add(aggKey{dimCity, win, scopeCity, city, b, city}, qty, rev)
		d.add(aggKey{dimProduct, win, site, city, b, product}, qty, rev)
		d.add(aggKey{dimProduct, win, scopeCity, city, b, product}, qty, rev)
		d.add(aggKey{dimProduct, win, scopeFleet, "", b, product}, qty, rev)
	}
	d.scopes[[2]string{site, city}] = struct{}{}
}

// flushAgg upserts plus minus the deltas in minus (nil for none), and the
// scopes of plus. It leaves plus and minus unchanged. The caller holds s.mu.
func (s *Store) flushAgg(ctx context.Context, plus, minus *aggDeltas) error {
	args := make([]any, 0, len(plus.m)*9)
	for k, v := range plus.m {
		tx, qty, rev := v.tx, v.qty, v.rev
		if minus != nil {
			if m := minus.m[k]; m != nil {
				tx, qty, rev = tx-m.tx, qty-m.qty, rev-m.rev
			}
		}
		if tx == 0 {
			continue
		}
		args = append(args, k.dim, k.win, k.site, k.city, k.bucket, k.key, tx, qty, rev)
	}
	if err := s.execChunks(ctx, upsertAggHead, upsertAggRow, upsertAggTail, args, nil); err != nil {
		return fmt.Errorf("upsert aggregates: %w", err)
	}
	if len(args) == 0 {
		return nil
	}
	st, err := s.stmt(ctx, insertScope)
	if err != nil {
		return err
	}
	for sc := range plus.scopes {
		if _, err := st.ExecContext(ctx, sc[0], sc[1]); err != nil {
			return fmt.Errorf("insert scope: %w", err)
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

// Prepared is a batch validated, decoded and pre-aggregated outside the
// writer lock, ready for ApplyPrepared. It is not changed by being applied,
// so a failed ApplyPrepared can be retried with it.
type Prepared struct {
	b      *envelope.Batch
	loc    *time.Location // of b.TZ; UTC when b.TZ is empty
	bodies [][]byte       // envelope JSON per event
	sales  []preparedSale // decodable sales, in event order
	deltas *aggDeltas     // every sale in sales counted once
}

type preparedSale struct {
	idx int // index in b.Events
	envelope.Sale
}

// Prepare validates b and does the work of applying it that needs no
// database: decoding, encoding raw events, bucketing sales. A caller that
// applies a stream of batches can Prepare the next while the current one
// commits. It returns an error wrapping ErrInvalidBatch when b is malformed.
func (s *Store) Prepare(b *envelope.Batch) (*Prepared, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("prepare: %w: %w", ErrInvalidBatch, err)
	}
	loc, err := s.location(b.TZ)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w: timezone %q: %w", b.MsgID(), ErrInvalidBatch, b.TZ, err)
	}
	p := &Prepared{b: b, loc: loc, bodies: make([][]byte, len(b.Events)), deltas: newAggDeltas()}
	for i := range b.Events {
		e := &b.Events[i]
		if p.bodies[i], err = eventJSON(e); err != nil {
			return nil, fmt.Errorf("prepare %s: %w: event %d: %w", b.MsgID(), ErrInvalidBatch, e.Seq, err)
		}
		if e.Kind != envelope.KindSale {
			continue
		}
		var d envelope.Sale
		if json.Unmarshal(e.Data, &d) != nil || d.TransactionID == "" || d.MachineID == "" || d.ProductID == "" {
			continue // kept raw, counted as skipped
		}
		p.sales = append(p.sales, preparedSale{i, d})
		p.deltas.addSale(b.Site, d.City, d.MachineID, d.ProductID, d.Quantity, d.AmountCents, e.Time, loc)
	}
	return p, nil
}

// Apply validates b and applies it in one transaction: raw events are
// inserted unless (site, seq) exists, only the new ones take effect (sales
// into aggregates unless their transactionId exists, other kinds into their
// latest-state tables, never going back to an older seq), the site's
// contiguous watermark advances over every event present, and streamSeq is
// recorded as this consumer's stream position (0 records nothing). A batch
// applied twice changes nothing the second time.
//
// It returns an error wrapping ErrInvalidBatch when b is malformed (retrying
// cannot help), or a storage error (retrying may).
func (s *Store) Apply(ctx context.Context, streamSeq uint64, b *envelope.Batch) (Result, error) {
	p, err := s.Prepare(b)
	if err != nil {
		return Result{}, err
	}
	return s.ApplyPrepared(ctx, streamSeq, p)
}

// ApplyPrepared is Apply for a batch already through Prepare.
func (s *Store) ApplyPrepared(ctx context.Context, streamSeq uint64, p *Prepared) (Result, error) {
	b := p.b
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return Result{}, fmt.Errorf("apply %s: %w", b.MsgID(), err)
	}
	res, err := s.apply(ctx, streamSeq, p, now)
	if err != nil {
		s.rollback()
		return Result{}, fmt.Errorf("apply %s: %w", b.MsgID(), err)
	}
	if err := s.commit(ctx); err != nil {
		return Result{}, fmt.Errorf("apply %s: %w", b.MsgID(), err)
	}
	if res.Skipped > 0 {
		s.log.Warn().Str("site", b.Site).Str("batch", b.MsgID()).Int("skipped", res.Skipped).
			Msg("events with undecodable data kept raw without effect")
	}
	return res, nil
}

type siteRow struct {
	tz                  string
	contiguous, maxSeen uint64
	lastEventTime       int64
}

func (s *Store) apply(ctx context.Context, streamSeq uint64, p *Prepared, now time.Time) (Result, error) {
	b := p.b
	var st siteRow
	switch err := s.queryRow(ctx, selectSite, b.Site).Scan(&st.tz, &st.contiguous, &st.maxSeen, &st.lastEventTime); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Result{}, fmt.Errorf("read site: %w", err)
	}
	tz, loc := b.TZ, p.loc
	if tz == "" && st.tz != "" {
		// An edge that sends no zone keeps the site's last one.
		l, err := s.location(st.tz)
		if err != nil {
			return Result{}, fmt.Errorf("%w: stored timezone %q: %w", ErrInvalidBatch, st.tz, err)
		}
		tz, loc = st.tz, l
	}
	if tz == "" {
		tz = "UTC"
	}

	// Raw events: the ones already held are not new; the rest are inserted.
	fresh := make([]bool, len(b.Events))
	for i := range fresh {
		fresh[i] = true
	}
	rows, err := s.query(ctx, selectHeld, b.Site, int64(b.First), int64(b.Last))
	if err != nil {
		return Result{}, fmt.Errorf("read held events: %w", err)
	}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return Result{}, fmt.Errorf("read held events: %w", err)
		}
		fresh[uint64(seq)-b.First] = false
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return Result{}, fmt.Errorf("read held events: %w", err)
	}
	rows.Close()
	nowMS := now.UnixMilli()
	args := make([]any, 0, len(b.Events)*11)
	for i := range b.Events {
		if e := &b.Events[i]; fresh[i] {
			args = append(args, b.Site, int64(e.Seq), string(e.Kind), ms(e.Time), nowMS, int64(streamSeq), p.bodies[i])
		}
	}
	if err := s.execChunks(ctx, insertRawHead, insertRawRow, insertRawTail, args, nil); err != nil {
		return Result{}, fmt.Errorf("insert raw events: %w", err)
	}

	res := Result{Watermark: Watermark{Site: b.Site}}
	lastEvent := st.lastEventTime
	hasSale := make([]bool, len(b.Events))
	for _, sl := range p.sales {
		hasSale[sl.idx] = true
	}
	for i := range b.Events {
		if !fresh[i] {
			res.Duplicates++
			continue
		}
		res.Applied++
		e := &b.Events[i]
		lastEvent = max(lastEvent, ms(e.Time))
		if e.Kind == envelope.KindSale {
			if !hasSale[i] {
				res.Skipped++
			}
			continue
		}
		ok, err := s.applyEvent(ctx, b.Site, e)
		if err != nil {
			return Result{}, fmt.Errorf("apply event %d: %w", e.Seq, err)
		}
		if !ok {
			res.Skipped++
		}
	}

	// Sales of new events: RETURNING names the transactions that are new;
	// only they count. The prepared deltas count every sale, so the ones that
	// must not count are subtracted.
	args = args[:0]
	for _, sl := range p.sales {
		if fresh[sl.idx] {
			e := &b.Events[sl.idx]
			args = append(args, sl.TransactionID, b.Site, int64(e.Seq), sl.MachineID, sl.ProductID, sl.City, sl.Location,
				sl.Quantity, sl.AmountCents, sl.PaymentMethod, ms(e.Time))
		}
	}
	if err := s.applySaleStock(ctx, b, p, fresh); err != nil {
		return Result{}, err
	}
	if len(args) > 0 {
		newTx := make(map[string]int, len(args)/11)
		err := s.execChunks(ctx, insertSaleHead, insertSaleRow, insertSaleTail, args, func(r *sql.Rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			newTx[id]++
			return nil
		})
		if err != nil {
			return Result{}, fmt.Errorf("insert sales: %w", err)
		}
		plus, minus := p.deltas, newAggDeltas()
		if loc != p.loc {
			plus = newAggDeltas()
		}
		for _, sl := range p.sales {
			counts := fresh[sl.idx] && newTx[sl.TransactionID] > 0
			if counts {
				newTx[sl.TransactionID]-- // a transaction repeated inside the batch counts once
			}
			t := b.Events[sl.idx].Time
			switch {
			case loc != p.loc && counts:
				plus.addSale(b.Site, sl.City, sl.MachineID, sl.ProductID, sl.Quantity, sl.AmountCents, t, loc)
			case loc == p.loc && !counts:
				minus.addSale(b.Site, sl.City, sl.MachineID, sl.ProductID, sl.Quantity, sl.AmountCents, t, loc)
			}
		}
		if err := s.flushAgg(ctx, plus, minus); err != nil {
			return Result{}, err
		}
	}

	// Watermark: only a batch that holds contiguous+1 can move it, and then
	// over every event already held above it.
	c := st.contiguous
	if b.First <= c+1 && c+1 <= b.Last {
		c = b.Last
		rows, err := s.query(ctx, walkSeqs, b.Site, int64(c))
		if err != nil {
			return Result{}, fmt.Errorf("walk watermark: %w", err)
		}
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return Result{}, fmt.Errorf("walk watermark: %w", err)
			}
			if uint64(seq) != c+1 {
				break
			}
			c++
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return Result{}, fmt.Errorf("walk watermark: %w", err)
		}
		if err := rows.Close(); err != nil {
			return Result{}, fmt.Errorf("walk watermark: %w", err)
		}
	}
	maxSeen := max(st.maxSeen, b.Last)
	if _, err := s.execStmt(ctx, upsertSite, b.Site, tz, int64(c), int64(maxSeen), lastEvent, nowMS, int64(maxSeen-c)); err != nil {
		return Result{}, fmt.Errorf("update site: %w", err)
	}
	if streamSeq > 0 {
		if _, err := s.execStmt(ctx, upsertPosition, s.consumer, int64(streamSeq), nowMS); err != nil {
			return Result{}, fmt.Errorf("record stream position: %w", err)
		}
	}
	res.Contiguous, res.MaxSeen = c, maxSeen
	return res, nil
}

// eventJSON encodes e as json.Marshal would, without reflection and without
// re-validating Data (the batch it came in was decoded from valid JSON).
func eventJSON(e *envelope.Event) ([]byte, error) {
	t, err := e.Time.MarshalJSON()
	if err != nil {
		return nil, err
	}
	data := []byte(e.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	b := make([]byte, 0, 64+len(e.Site)+len(e.Kind)+len(t)+len(data))
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = append(b, `,"site":`...)
	b = strconv.AppendQuote(b, e.Site) // site ids are [A-Za-z0-9_-]: identical to JSON quoting
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"kind":`...)
	k, err := json.Marshal(string(e.Kind))
	if err != nil {
		return nil, err
	}
	b = append(b, k...)
	b = append(b, `,"time":`...)
	b = append(b, t...)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}'), nil
}

// applySaleStock mirrors the site's stock count carried by new sales: one
// guarded upsert per machine product per batch, with its newest count.
func (s *Store) applySaleStock(ctx context.Context, b *envelope.Batch, p *Prepared, fresh []bool) error {
	type key struct{ machine, product string }
	type count struct {
		after int64
		seq   uint64
		at    int64
	}
	latest := map[key]count{}
	for _, sl := range p.sales {
		if !fresh[sl.idx] || sl.StockAfter == nil {
			continue
		}
		e := &b.Events[sl.idx]
		k := key{sl.MachineID, sl.ProductID}
		if c, ok := latest[k]; !ok || e.Seq > c.seq {
			latest[k] = count{*sl.StockAfter, e.Seq, ms(e.Time)}
		}
	}
	for k, c := range latest {
		if err := s.exec(ctx, upsertStock, b.Site, k.machine, k.product, c.after, c.seq, c.at); err != nil {
			return fmt.Errorf("mirror stock of %s/%s: %w", k.machine, k.product, err)
		}
	}
	return nil
}
