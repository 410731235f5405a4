// Package ingest is the edge's single writer. Every change to the site's
// facts — sales, telemetry, faults, machines, products, alerts — runs as an
// operation on one goroutine that group-commits: it takes every request that
// is waiting, runs them in one SQLite transaction (synchronous=FULL), and
// answers each only after that transaction commits. Throughput is therefore
// not bounded by one fsync per sale, and nothing is acknowledged before it is
// durable.
//
// Each operation validates against the writer's in-memory view of machines,
// inventory and open alerts before it writes, so a rejected request writes
// nothing. If a transaction fails, every request in it gets the error and the
// in-memory view is reloaded from the database.
package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Config tunes the writer. DefaultConfig gives the defaults.
type Config struct {
	Thresholds alert.Thresholds
	// AmountTolerance is how far a sale's amount may differ from price ×
	// quantity, as a fraction of it (0.10 = 10%), on top of one cent.
	AmountTolerance float64
	// MaxClockSkew is how far in the future an event timestamp may be.
	MaxClockSkew time.Duration
	// MaxBatch caps how many requests share one transaction.
	MaxBatch int
	// TelemetrySummaryEvery is how often a machine's telemetry summary goes
	// up to central when nothing changes.
	TelemetrySummaryEvery time.Duration
	Now                   func() time.Time
	Logger                zerolog.Logger
	// Registerer receives the writer's metrics (nil: none).
	Registerer prometheus.Registerer
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Thresholds:            alert.DefaultThresholds(),
		AmountTolerance:       0.10,
		MaxClockSkew:          5 * time.Minute,
		MaxBatch:              512,
		TelemetrySummaryEvery: 5 * time.Minute,
		Now:                   time.Now,
		Logger:                zerolog.Nop(),
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if err := c.Thresholds.Validate(); err != nil {
		return err
	}
	switch {
	case c.AmountTolerance < 0 || c.AmountTolerance > 1:
		return fmt.Errorf("amount tolerance %v: must be between 0 and 1", c.AmountTolerance)
	case c.MaxClockSkew < 0:
		return fmt.Errorf("max clock skew must not be negative")
	case c.MaxBatch < 1:
		return fmt.Errorf("max batch %d: must be at least 1", c.MaxBatch)
	case c.TelemetrySummaryEvery <= 0:
		return fmt.Errorf("telemetry summary interval must be positive")
	}
	return nil
}

// ErrClosed is returned for requests made after Close.
var ErrClosed = errors.New("writer is closed")

type request struct {
	ctx  context.Context
	fn   func(*Tx) (any, error)
	res  any
	err  error
	done chan struct{}
}

// Writer is the single writer of a site's store.
type Writer struct {
	st   *store.Store
	site store.Site
	cfg  Config
	log  zerolog.Logger

	reqs     chan *request
	appended chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.RWMutex
	closed   bool

	stmts statements

	// The in-memory view, owned by the loop goroutine.
	machines map[string]*machine
	products map[string]*product
	items    map[itemKey]*item
	states   map[string]*mstate
	alerts   map[alertKey]openAlert
	lastSeq  uint64

	batchSize prometheus.Histogram
	committed prometheus.Counter
	failed    prometheus.Counter
}

type machine struct {
	id, status, city, building string
	lat, lng                   *float64
	payment                    []string
	tempMax                    *float64
	created                    int64
}

func (m *machine) location() store.Location {
	return store.Location{City: m.city, Building: m.building, Lat: m.lat, Lng: m.lng}
}

type product struct {
	name     string
	casePack int64
}

type itemKey struct{ machine, product string }

type item struct {
	price, qty, low int64
	par             sql.NullInt64
	expiry          string
}

type mstate struct {
	lastTel       int64 // unix ms of the newest telemetry, 0 = never
	temp          *float64
	power, door   string
	tempHighSince int64
	doorOpenSince int64
	lastSummary   int64 // not persisted: a restart sends one summary early
}

type alertKey struct {
	machine, product string
	typ              wire.AlertType
}

type openAlert struct {
	id      int64
	created int64
	detail  string
}

// New returns a writer for st. Call Open to start it.
func New(st *store.Store, cfg Config) (*Writer, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest config: %w", err)
	}
	w := &Writer{
		st: st, site: st.Site, cfg: cfg,
		log:      cfg.Logger.With().Str("component", "ingest").Logger(),
		reqs:     make(chan *request, 4096),
		appended: make(chan struct{}, 1),
		stop:     make(chan struct{}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vendsync_edge_commit_batch_size", Help: "Requests group-committed per transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_edge_commits_total", Help: "Committed write transactions."}),
		failed:    prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_edge_commit_failures_total", Help: "Write transactions that failed and were rolled back."}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{w.batchSize, w.committed, w.failed} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return w, nil
}

// Open prepares statements, loads the in-memory view and starts the loop.
func (w *Writer) Open(ctx context.Context) error {
	if err := w.stmts.prepare(ctx, w.st.DB.W); err != nil {
		return err
	}
	if err := w.load(ctx); err != nil {
		return err
	}
	w.wg.Add(1)
	go w.loop()
	return nil
}

// Close stops accepting requests, finishes those already queued, and waits.
func (w *Writer) Close() error {
	w.closeMu.Lock()
	if w.closed {
		w.closeMu.Unlock()
		return nil
	}
	w.closed = true
	close(w.stop)
	w.closeMu.Unlock()
	w.wg.Wait()
	return w.stmts.close()
}

// Appended is signalled (without blocking) after each commit that added
// outbox rows, so the uplink can send them promptly.
func (w *Writer) Appended() <-chan struct{} { return w.appended }

// Site is the site this writer writes for.
func (w *Writer) Site() store.Site { return w.site }

// Do runs fn in the writer's next transaction and returns its result after
// the transaction commits. fn must not write before it has decided to
// succeed: an *web.Error it returns rejects only its own request, any other
// error fails the whole transaction.
func (w *Writer) Do(ctx context.Context, fn func(*Tx) (any, error)) (any, error) {
	r := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	w.closeMu.RUnlock()
	// Once queued the request runs: wait for its answer even if ctx ends, so
	// the caller never mistakes a committed write for a failed one.
	<-r.done
	return r.res, r.err
}

func (w *Writer) loop() {
	defer w.wg.Done()
	batch := make([]*request, 0, w.cfg.MaxBatch)
	for {
		select {
		case r := <-w.reqs:
			batch = append(batch[:0], r)
		case <-w.stop:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-w.reqs:
					w.run([]*request{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < w.cfg.MaxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.run(batch)
	}
}

// run executes one batch in one transaction and answers its requests.
func (w *Writer) run(batch []*request) {
	seqBefore := w.lastSeq
	err := w.runTx(batch)
	if err != nil {
		w.failed.Inc()
		w.log.Error().Err(err).Int("requests", len(batch)).Msg("write transaction failed; reloading state")
		if lerr := w.load(context.Background()); lerr != nil {
			w.log.Error().Err(lerr).Msg("reload after failed transaction")
		}
		for _, r := range batch {
			r.res, r.err = nil, fmt.Errorf("store write failed: %w", err)
		}
	} else {
		w.committed.Inc()
		w.batchSize.Observe(float64(len(batch)))
		if w.lastSeq != seqBefore {
			select {
			case w.appended <- struct{}{}:
			default:
			}
		}
	}
	for _, r := range batch {
		close(r.done)
	}
}

func (w *Writer) runTx(batch []*request) error {
	ctx := context.Background()
	tx, err := w.st.DB.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	t := &Tx{w: w, tx: tx, ctx: ctx, now: w.cfg.Now(), agg: map[aggKey]*aggVal{}, seq: w.lastSeq}
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.err = r.ctx.Err() // the caller is gone; nothing written for it
			continue
		}
		res, err := r.fn(t)
		var we *web.Error
		if err != nil && !errors.As(err, &we) {
			return err
		}
		r.res, r.err = res, err
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	w.lastSeq = t.seq
	return nil
}

// load (re)reads the in-memory view from the database.
func (w *Writer) load(ctx context.Context) error {
	db := w.st.DB.W
	w.machines = map[string]*machine{}
	w.products = map[string]*product{}
	w.items = map[itemKey]*item{}
	w.states = map[string]*mstate{}
	w.alerts = map[alertKey]openAlert{}
	rows, err := db.QueryContext(ctx, `SELECT machine_id, status, city, building, latitude, longitude, payment_methods, temp_max_c, created_at FROM vending_machines`)
	if err != nil {
		return fmt.Errorf("load machines: %w", err)
	}
	for rows.Next() {
		m := &machine{}
		var pm string
		if err := rows.Scan(&m.id, &m.status, &m.city, &m.building, &m.lat, &m.lng, &pm, &m.tempMax, &m.created); err != nil {
			rows.Close()
			return fmt.Errorf("load machines: %w", err)
		}
		_ = json.Unmarshal([]byte(pm), &m.payment)
		w.machines[m.id] = m
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT product_id, name, case_pack FROM products`)
	if err != nil {
		return fmt.Errorf("load products: %w", err)
	}
	for rows.Next() {
		p := &product{}
		var id string
		if err := rows.Scan(&id, &p.name, &p.casePack); err != nil {
			rows.Close()
			return fmt.Errorf("load products: %w", err)
		}
		w.products[id] = p
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT machine_id, product_id, price_cents, quantity, low_stock_limit, par_level, COALESCE(expiry_date, '') FROM machine_inventory`)
	if err != nil {
		return fmt.Errorf("load inventory: %w", err)
	}
	for rows.Next() {
		var k itemKey
		it := &item{}
		if err := rows.Scan(&k.machine, &k.product, &it.price, &it.qty, &it.low, &it.par, &it.expiry); err != nil {
			rows.Close()
			return fmt.Errorf("load inventory: %w", err)
		}
		w.items[k] = it
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT machine_id, COALESCE(last_telemetry_at, 0), temperature, COALESCE(power_status, ''), COALESCE(door_status, ''),
		COALESCE(temp_high_since, 0), COALESCE(door_open_since, 0) FROM machine_state`)
	if err != nil {
		return fmt.Errorf("load machine state: %w", err)
	}
	for rows.Next() {
		s := &mstate{}
		var id string
		if err := rows.Scan(&id, &s.lastTel, &s.temp, &s.power, &s.door, &s.tempHighSince, &s.doorOpenSince); err != nil {
			rows.Close()
			return fmt.Errorf("load machine state: %w", err)
		}
		w.states[id] = s
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT alert_id, machine_id, product_id, alert_type, created_at, detail FROM alerts WHERE status = 'OPEN'`)
	if err != nil {
		return fmt.Errorf("load alerts: %w", err)
	}
	for rows.Next() {
		var k alertKey
		var a openAlert
		if err := rows.Scan(&a.id, &k.machine, &k.product, &k.typ, &a.created, &a.detail); err != nil {
			rows.Close()
			return fmt.Errorf("load alerts: %w", err)
		}
		w.alerts[k] = a
	}
	rows.Close()
	if err := db.QueryRowContext(ctx, `SELECT last_seq FROM sync_state WHERE id = 1`).Scan(&w.lastSeq); err != nil {
		return fmt.Errorf("load sequence: %w", err)
	}
	return nil
}

// Tx is one group-commit transaction, shared by the requests in a batch.
type Tx struct {
	w   *Writer
	tx  *sql.Tx
	ctx context.Context
	now time.Time
	agg map[aggKey]*aggVal
	seq uint64
	day string // the site-local date of now, computed once per transaction
}

// Now is the transaction's clock reading.
func (t *Tx) Now() time.Time { return t.now }

// today is the site-local date of the transaction's clock.
func (t *Tx) today() string {
	if t.day == "" {
		t.day = t.now.In(t.w.site.Loc).Format(time.DateOnly)
	}
	return t.day
}

// text is a fixed alert detail.
func text(s string) func() string { return func() string { return s } }

type aggKey struct {
	dim    string
	win    bucket.Window
	bucket int64
	key    string
}

type aggVal struct{ tx, qty, rev int64 }

func (t *Tx) exec(st *sql.Stmt, args ...any) (sql.Result, error) {
	return t.tx.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
}

// emit appends an event to the outbox with the next sequence number.
func (t *Tx) emit(kind envelope.Kind, at time.Time, data any) (uint64, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return 0, fmt.Errorf("encode %s event: %w", kind, err)
	}
	seq := t.seq + 1
	ev, err := json.Marshal(envelope.Event{V: envelope.Version, Site: t.w.site.ID, Seq: seq, Kind: kind, Time: at.UTC(), Data: raw})
	if err != nil {
		return 0, fmt.Errorf("encode envelope: %w", err)
	}
	if _, err := t.exec(t.w.stmts.outbox, seq, string(kind), at.UnixMilli(), ev, t.now.UnixMilli()); err != nil {
		return 0, fmt.Errorf("append outbox: %w", err)
	}
	t.seq = seq
	return seq, nil
}

// audit records who did what to which entity.
func (t *Tx) audit(entityType, entityID, action, by string, detail any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	if _, err := t.exec(t.w.stmts.audit, entityType, entityID, action, by, t.now.UnixMilli(), string(d)); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// setAlert opens or closes the alert (machine, product, typ) so that it is
// open exactly when want is true; describe gives an opened alert its detail. Opening and closing go up as events.
func (t *Tx) setAlert(machineID, productID string, typ wire.AlertType, want bool, describe func() string, closeReason string) error {
	k := alertKey{machineID, productID, typ}
	cur, open := t.w.alerts[k]
	switch {
	case want && !open:
		detail := ""
		if describe != nil {
			detail = describe() // formatted only when an alert opens, not on every sale
		}
		var id int64
		if err := t.tx.StmtContext(t.ctx, t.w.stmts.openAlert).QueryRowContext(t.ctx, machineID, productID, string(typ), detail, t.now.UnixMilli()).Scan(&id); err != nil {
			return fmt.Errorf("open %s alert: %w", typ, err)
		}
		t.w.alerts[k] = openAlert{id: id, created: t.now.UnixMilli(), detail: detail}
		_, err := t.emit(envelope.KindAlert, t.now, envelope.Alert{AlertID: id, MachineID: machineID, ProductID: productID, Type: string(typ), Status: "OPEN", Detail: detail, OpenedAt: t.now.UTC()})
		return err
	case !want && open:
		if _, err := t.exec(t.w.stmts.closeAlert, t.now.UnixMilli(), closeReason, cur.id); err != nil {
			return fmt.Errorf("close %s alert: %w", typ, err)
		}
		delete(t.w.alerts, k)
		closed := t.now.UTC()
		_, err := t.emit(envelope.KindAlert, t.now, envelope.Alert{AlertID: cur.id, MachineID: machineID, ProductID: productID, Type: string(typ), Status: "CLOSED", Detail: closeReason, OpenedAt: time.UnixMilli(cur.created).UTC(), ClosedAt: &closed})
		return err
	}
	return nil
}

// stockAlerts brings LOW_STOCK, OUT_OF_STOCK, EXPIRED and EXPIRING_SOON in
// line with an item's current state.
func (t *Tx) stockAlerts(k itemKey, it *item, reason string) error {
	low, out := alert.Stock(it.qty, it.low)
	if err := t.setAlert(k.machine, k.product, wire.LowStock, low, func() string {
		return fmt.Sprintf("quantity %d at or below limit %d", it.qty, it.low)
	}, reason); err != nil {
		return err
	}
	if err := t.setAlert(k.machine, k.product, wire.OutOfStock, out, text("quantity 0"), reason); err != nil {
		return err
	}
	return t.expiryAlerts(k, it, reason)
}

func (t *Tx) expiryAlerts(k itemKey, it *item, reason string) error {
	expired, soon := alert.Expiry(it.expiry, t.today(), it.qty, t.w.cfg.Thresholds.ExpiringSoonDays)
	if err := t.setAlert(k.machine, k.product, wire.Expired, expired, func() string { return "expired on " + it.expiry }, reason); err != nil {
		return err
	}
	return t.setAlert(k.machine, k.product, wire.ExpiringSoon, soon, func() string { return "expires on " + it.expiry }, reason)
}

func (t *Tx) addAgg(dim, key string, at time.Time, qty, rev int64) {
	ks := bucket.Keys(at, t.w.site.Loc)
	for i, win := range bucket.All {
		k := aggKey{dim, win, ks[i], key}
		v := t.agg[k]
		if v == nil {
			v = &aggVal{}
			t.agg[k] = v
		}
		v.tx++
		v.qty += qty
		v.rev += rev
	}
}

// flush writes the batch's aggregate deltas (one upsert per bucket and key,
// however many sales hit it) and the new sequence high-water mark.
func (t *Tx) flush() error {
	for k, v := range t.agg {
		if _, err := t.exec(t.w.stmts.agg, k.dim, string(k.win), k.bucket, k.key, v.tx, v.qty, v.rev); err != nil {
			return fmt.Errorf("update aggregates: %w", err)
		}
	}
	if t.seq != t.w.lastSeq {
		if _, err := t.exec(t.w.stmts.seq, t.seq); err != nil {
			return fmt.Errorf("record sequence: %w", err)
		}
	}
	return nil
}

type statements struct {
	insertSale, findSale, setQty, outbox, audit, agg, seq, openAlert, closeAlert *sql.Stmt
	all                                                                          []*sql.Stmt
}

func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&s.insertSale, `INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents, payment_method, event_time, received_at, body_hash, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (transaction_id) DO NOTHING`},
		{&s.findSale, `SELECT body_hash, seq FROM sales_events WHERE transaction_id = ?`},
		{&s.setQty, `UPDATE machine_inventory SET quantity = ?, updated_at = ? WHERE machine_id = ? AND product_id = ?`},
		{&s.outbox, `INSERT INTO outbox (seq, kind, event_time, payload, created_at) VALUES (?, ?, ?, ?, ?)`},
		{&s.audit, `INSERT INTO audit_logs (entity_type, entity_id, action, performed_by, performed_at, detail) VALUES (?, ?, ?, ?, ?, ?)`},
		{&s.agg, `INSERT INTO sales_agg (dim, win, bucket, key, tx_count, quantity, revenue_cents) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (dim, win, bucket, key) DO UPDATE SET tx_count = tx_count + excluded.tx_count,
			quantity = quantity + excluded.quantity, revenue_cents = revenue_cents + excluded.revenue_cents`},
		{&s.seq, `UPDATE sync_state SET last_seq = ? WHERE id = 1`},
		{&s.openAlert, `INSERT INTO alerts (machine_id, product_id, alert_type, status, detail, created_at) VALUES (?, ?, ?, 'OPEN', ?, ?) RETURNING alert_id`},
		{&s.closeAlert, `UPDATE alerts SET status = 'CLOSED', closed_at = ?, close_reason = ? WHERE alert_id = ?`},
	} {
		st, err := db.PrepareContext(ctx, p.q)
		if err != nil {
			s.close()
			return fmt.Errorf("prepare %q: %w", p.q[:30], err)
		}
		*p.dst = st
		s.all = append(s.all, st)
	}
	return nil
}

func (s *statements) close() error {
	for _, st := range s.all {
		st.Close()
	}
	s.all = nil
	return nil
}

// errUnknownMachine and friends are the writer's validation errors.
func errUnknownMachine(id string) *web.Error {
	return web.Errorf(http.StatusUnprocessableEntity, "UNKNOWN_MACHINE", "machineId", "machine %q is not registered at this site", id)
}

func errDecommissioned(id string) *web.Error {
	return web.Errorf(http.StatusConflict, "MACHINE_DECOMMISSIONED", "machineId", "machine %q is decommissioned", id)
}
