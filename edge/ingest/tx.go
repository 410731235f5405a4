package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/vendsync/vendsync/internal/sqlite"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Tx is one group-commit transaction, shared by the requests in a batch.
// Submitted functions use it and nothing else to write.
type Tx struct {
	w    *Writer
	c    *sqlite.WConn
	ctx  context.Context
	now  time.Time
	agg  map[aggKey]aggVal
	seq  uint64
	day  string // the site-local date of now, computed once per transaction
	held *held  // writes held until commit (later.go), the writer's (reused)
	// heldErr is the error of held writes that failed: it fails the
	// transaction whatever the request that ran into it made of it.
	heldErr error
	// lsn is the intake log sequence number of this transaction's logged
	// requests (intake.go), 0 if it has none.
	lsn uint64
}

// Now is the transaction's clock reading.
func (t *Tx) Now() time.Time { return t.now }

// Today is the site-local date (YYYY-MM-DD) of the transaction's clock.
func (t *Tx) Today() string {
	if t.day == "" {
		t.day = t.now.In(t.w.site.Loc).Format(time.DateOnly)
	}
	return t.day
}

// Site is the site the transaction writes for.
func (t *Tx) Site() store.Site { return t.w.site }

// use is s, after the held writes it may see have run.
func (t *Tx) use(s *Stmt) error {
	if s.namesHeld {
		return t.flushHeld()
	}
	return nil
}

// Exec runs a prepared statement in the transaction.
func (t *Tx) Exec(s *Stmt, args ...any) (sqlite.Result, error) {
	if err := t.use(s); err != nil {
		return sqlite.Result{}, err
	}
	return t.c.Exec(s.st, args...)
}

// QueryRow runs a prepared query returning at most one row.
func (t *Tx) QueryRow(s *Stmt, args ...any) *sqlite.Row {
	if err := t.use(s); err != nil {
		return sqlite.ErrRow(err) // and the transaction fails with it (t.heldErr)
	}
	return t.c.QueryRow(s.st, args...)
}

// Query runs a prepared query in the transaction.
func (t *Tx) Query(s *Stmt, args ...any) (*sqlite.Rows, error) {
	if err := t.use(s); err != nil {
		return nil, err
	}
	return t.c.Query(s.st, args...)
}

// NextSeq is the outbox sequence number the next Emit will use.
func (t *Tx) NextSeq() uint64 { return t.seq + 1 }

// Emit appends an event to the outbox with the next sequence number and
// returns that number. at is the event's own time.
func (t *Tx) Emit(kind envelope.Kind, at time.Time, data any) (uint64, error) {
	seq := t.seq + 1
	// One pass: the envelope with its data inline gives the same bytes as
	// envelope.Event with Data marshalled first, without encoding the data
	// and then scanning it again as a RawMessage.
	ev, err := json.Marshal(outEvent{V: envelope.Version, Site: t.w.site.ID, Seq: seq, Kind: kind, Time: at.UTC(), Data: data})
	if err != nil {
		return 0, fmt.Errorf("encode %s event: %w", kind, err)
	}
	// Held until the commit (later.go), many rows to a statement: no rule
	// reads the outbox back in its transaction, and a statement naming it
	// runs the held rows first.
	t.Append(t.w.own.outbox, seq, string(kind), at.UnixMilli(), ev, t.now.UnixMilli())
	t.seq = seq
	return seq, nil
}

// outEvent is envelope.Event as Emit writes it: the same fields and names,
// with the data not yet encoded.
type outEvent struct {
	V    int           `json:"v"`
	Site string        `json:"site"`
	Seq  uint64        `json:"seq"`
	Kind envelope.Kind `json:"kind"`
	Time time.Time     `json:"time"`
	Data any           `json:"data"`
}

// Audit records who (by) did what (action) to which entity; detail is
// stored as JSON.
func (t *Tx) Audit(entityType, entityID, action, by string, detail any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	if _, err := t.Exec(t.w.own.audit, entityType, entityID, action, by, t.now.UnixMilli(), string(d)); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

type alertKey struct {
	machine, product string
	typ              wire.AlertType
}

type openAlert struct {
	id      int64
	created int64
}

// SetAlert opens or closes the alert (machine, product, typ) (product ""
// for a machine's own alerts) so that it is open exactly when open is true.
// describe gives an opened alert its detail and is called only then; reason
// is recorded when it closes. Opening and closing each go up as an event.
func (t *Tx) SetAlert(machineID, productID string, typ wire.AlertType, open bool, describe func() string, reason string) error {
	k := alertKey{machineID, productID, typ}
	cur, isOpen := t.w.alerts[k]
	switch {
	case open && !isOpen:
		detail := ""
		if describe != nil {
			detail = describe()
		}
		var id int64
		if err := t.QueryRow(t.w.own.openAlert, machineID, productID, string(typ), detail, t.now.UnixMilli()).Scan(&id); err != nil {
			return fmt.Errorf("open %s alert: %w", typ, err)
		}
		t.w.alerts[k] = openAlert{id: id, created: t.now.UnixMilli()}
		_, err := t.Emit(envelope.KindAlert, t.now, envelope.Alert{AlertID: id, MachineID: machineID, ProductID: productID, Type: string(typ),
			Status: "OPEN", Detail: detail, OpenedAt: t.now.UTC()})
		return err
	case !open && isOpen:
		if _, err := t.Exec(t.w.own.closeAlert, t.now.UnixMilli(), reason, cur.id); err != nil {
			return fmt.Errorf("close %s alert: %w", typ, err)
		}
		delete(t.w.alerts, k)
		closed := t.now.UTC()
		_, err := t.Emit(envelope.KindAlert, t.now, envelope.Alert{AlertID: cur.id, MachineID: machineID, ProductID: productID, Type: string(typ),
			Status: "CLOSED", Detail: reason, OpenedAt: time.UnixMilli(cur.created).UTC(), ClosedAt: &closed})
		return err
	}
	return nil
}

// CloseAlerts closes every open alert of a machine and its products.
func (t *Tx) CloseAlerts(machineID, reason string) error {
	for k := range t.w.alerts {
		if k.machine == machineID {
			if err := t.SetAlert(k.machine, k.product, k.typ, false, nil, reason); err != nil {
				return err
			}
		}
	}
	return nil
}

type aggKey struct {
	dim    string
	win    bucket.Window
	bucket int64
	key    string
}

type aggVal struct{ tx, qty, rev, disc int64 }

// CountSale adds one sale of qty for revenue cents at time at to the local
// aggregates of dimension dim ("machine", "product", "location") and key, in
// every window (hour, day, week, month) in the site's timezone. The sums are
// written once per bucket when the transaction commits.
func (t *Tx) CountSale(dim, key string, at time.Time, qty, revenue int64) {
	ks := bucket.Keys(at, t.w.site.Loc)
	for i, win := range bucket.All {
		k := aggKey{dim, win, ks[i], key}
		v := t.agg[k]
		v.tx++
		v.qty += qty
		v.rev += revenue
		t.agg[k] = v
	}
}

// CountDiscount adds discount cents that promotions took off a sale counted
// with CountSale (same dim, key and time) to the same aggregate rows; the
// row's revenue stays what was charged.
func (t *Tx) CountDiscount(dim, key string, at time.Time, discount int64) {
	ks := bucket.Keys(at, t.w.site.Loc)
	for i, win := range bucket.All {
		k := aggKey{dim, win, ks[i], key}
		v := t.agg[k]
		v.disc += discount
		t.agg[k] = v
	}
}

// flush writes the batch's aggregate deltas (one upsert per bucket and key,
// however many sales hit it, aggRows rows to a statement where it can).
// The sequence high-water mark is not written: the outbox rows are it
// (store.LastSeqQuery).
func (t *Tx) flush() error {
	args := t.w.aggArgs[:0]
	for k, v := range t.agg {
		args = append(args, sqlite.Text(k.dim), sqlite.Text(string(k.win)), sqlite.Int(k.bucket), sqlite.Text(k.key),
			sqlite.Int(v.tx), sqlite.Int(v.qty), sqlite.Int(v.rev), sqlite.Int(v.disc))
	}
	t.w.aggArgs = args[:0]
	for len(args) > 0 {
		st := t.w.own.aggOne
		n := 1
		for i, rows := range aggRows {
			if len(args) >= rows*aggCols {
				st, n = t.w.own.aggMany[i], rows
				break
			}
		}
		if err := t.use(st); err != nil {
			return err
		}
		if _, err := t.c.ExecArgs(st.st, args[:n*aggCols]); err != nil {
			return fmt.Errorf("update aggregates: %w", err)
		}
		args = args[n*aggCols:]
	}
	// A transaction with logged requests records their intake log position
	// (intake.go).
	if t.lsn != 0 {
		if _, err := t.Exec(t.w.own.seqLSN, t.lsn); err != nil {
			return fmt.Errorf("record intake position: %w", err)
		}
	}
	return nil
}

// engineStmts are the statements behind the Tx API.
type engineStmts struct {
	audit, aggOne, seqLSN, openAlert, closeAlert, applied *Stmt
	aggMany                                               []*Stmt // by aggRows
	outbox                                                *Rows   // appended at commit
}

// aggRows are the sizes of the multi-row aggregate upserts, largest first:
// one statement for many rows saves the per-statement cost of binding and
// running, which at a few rows per sale was most of flush.
// Halving sizes: a lone sale's 12 rows take two statements (8 + 4).
var aggRows = []int{32, 16, 8, 4, 2}

// aggCols is how many values one aggregate row binds.
const aggCols = 8

// aggUpsert is the upsert of rows aggregate rows.
func aggUpsert(rows int) string {
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", rows), ", ")
	return `INSERT INTO sales_agg (dim, win, bucket, key, tx_count, quantity, revenue_cents, discount_cents) VALUES ` + values + `
			ON CONFLICT (dim, win, bucket, key) DO UPDATE SET tx_count = tx_count + excluded.tx_count,
			quantity = quantity + excluded.quantity, revenue_cents = revenue_cents + excluded.revenue_cents,
			discount_cents = discount_cents + excluded.discount_cents`
}

func (s *engineStmts) prepare(w *Writer) {
	s.outbox = w.PrepareRows("outbox", "seq", "kind", "event_time", "payload", "created_at")
	s.audit = w.Prepare(`INSERT INTO audit_logs (entity_type, entity_id, action, performed_by, performed_at, detail) VALUES (?, ?, ?, ?, ?, ?)`)
	s.aggOne = w.Prepare(aggUpsert(1))
	for _, rows := range aggRows {
		s.aggMany = append(s.aggMany, w.Prepare(aggUpsert(rows)))
	}
	s.seqLSN = w.Prepare(`UPDATE sync_state SET intake_lsn = ? WHERE id = 1`)
	s.applied = w.Prepare(store.SetAppliedQuery)
	s.openAlert = w.Prepare(`INSERT INTO alerts (machine_id, product_id, alert_type, status, detail, created_at) VALUES (?, ?, ?, 'OPEN', ?, ?) RETURNING alert_id`)
	s.closeAlert = w.Prepare(`UPDATE alerts SET status = 'CLOSED', closed_at = ?, close_reason = ? WHERE alert_id = ?`)
}

func (w *Writer) loadAlerts(ctx context.Context, db Querier) error {
	w.alerts = map[alertKey]openAlert{}
	rows, err := db.QueryContext(ctx, `SELECT alert_id, machine_id, product_id, alert_type, created_at FROM alerts WHERE status = 'OPEN'`)
	if err != nil {
		return fmt.Errorf("load alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k alertKey
		var a openAlert
		if err := rows.Scan(&a.id, &k.machine, &k.product, &k.typ, &a.created); err != nil {
			return fmt.Errorf("load alerts: %w", err)
		}
		w.alerts[k] = a
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load alerts: %w", err)
	}
	return nil
}
