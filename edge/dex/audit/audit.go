// Package audit is the edge's rule set for what a driver brings back from a
// machine: DEX audit files (stored, and reconciled against the previous
// read and the site's sales ledger), proof-of-service visits and cash
// collections. Each is one writer transaction (edge/ingest) with its
// outbox event for central.
//
// Reconciliation: between two reads of a machine (the previous one by read
// time), each selection's own count and value delta (edge/dex.Reconcile)
// is set against the sales the edge recorded for the mapped product with
// an event time in (previous read, this read]. The machine counting more
// than the ledger is unreported sales (events the machine lost or never
// sent); above Config.AlertThreshold it opens a DEX_UNREPORTED_SALES alert
// on the machine, which the next reconciliation within the threshold
// closes.
//
// Answers are built here as the edge API's wire types: they are stored
// with the fact and replayed byte for byte when a client resends.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/dex"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Config tunes the rules. DefaultConfig gives the defaults.
type Config struct {
	// AlertThreshold is the unreported value (cents) above which a
	// reconciliation raises DEX_UNREPORTED_SALES.
	AlertThreshold int64
	// MaxClockSkew is how far ahead of the edge's clock a time may be
	// (0: the edge's own, else 5 minutes).
	MaxClockSkew time.Duration
	// RecheckEvery is how often reconciliations are checked for late
	// sales (RunRecheck); RecheckWindow how far back a period may have
	// ended and still be checked.
	RecheckEvery, RecheckWindow time.Duration
}

// DefaultConfig alerts above 5.00 unreported and rechecks the last 14
// days' reconciliations for late sales every 5 minutes.
func DefaultConfig() Config {
	return Config{AlertThreshold: 500, RecheckEvery: 5 * time.Minute, RecheckWindow: 14 * 24 * time.Hour}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.AlertThreshold < 0 {
		return errors.New("dex alert threshold must not be negative")
	}
	if c.MaxClockSkew < 0 {
		return errors.New("max clock skew must not be negative")
	}
	if c.RecheckEvery < 0 || c.RecheckWindow < 0 {
		return errors.New("dex recheck period and window must not be negative")
	}
	return nil
}

// Rules records DEX reads, reconciliations, visits and cash collections.
type Rules struct {
	w        *ingest.Writer
	machines *machine.Rules
	stock    *stock.Rules
	cfg      Config

	findRead, insertRead, setAnswer, prevRead, ledger, insertRecon *ingest.Stmt
	findRecon, updateRecon, latestRecon, findReadByID              *ingest.Stmt
	findVisit, insertVisit                                         *ingest.Stmt
	findCash, prevCash, cashLedger, cashRead, insertCash           *ingest.Stmt
}

// The ledger's reads of one machine's sales in a DEX period, by the
// (machine_id, event_time) index: the sales per product, and the cash taken.
const (
	ledgerQuery = `SELECT product_id, SUM(quantity), SUM(amount_cents) FROM sales_events
			WHERE machine_id = ? AND event_time > ? AND event_time <= ? GROUP BY product_id`
	cashLedgerQuery = `SELECT COALESCE(SUM(amount_cents), 0) FROM sales_events
			WHERE machine_id = ? AND payment_method = 'CASH' AND event_time > ? AND event_time <= ?`
)

// New builds the rules on w; call it before w opens.
func New(w *ingest.Writer, machines *machine.Rules, st *stock.Rules, cfg Config) *Rules {
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = 5 * time.Minute
	}
	def := DefaultConfig()
	if cfg.RecheckEvery == 0 {
		cfg.RecheckEvery = def.RecheckEvery
	}
	if cfg.RecheckWindow == 0 {
		cfg.RecheckWindow = def.RecheckWindow
	}
	return &Rules{w: w, machines: machines, stock: st, cfg: cfg,
		findRead: w.Prepare(`SELECT read_id, answer FROM dex_reads WHERE machine_id = ? AND body_hash = ?`),
		insertRead: w.Prepare(`INSERT INTO dex_reads (machine_id, read_at, received_at, body_hash, raw, audit, answer, cash_sales_init, uploaded_by)
			VALUES (?, ?, ?, ?, ?, ?, '', ?, ?) RETURNING read_id`),
		setAnswer: w.Prepare(`UPDATE dex_reads SET answer = ? WHERE read_id = ?`),
		prevRead: w.Prepare(`SELECT read_id, read_at, audit FROM dex_reads WHERE machine_id = ? AND read_at < ?
			ORDER BY read_at DESC, read_id DESC LIMIT 1`),
		ledger: w.Prepare(ledgerQuery),
		insertRecon: w.Prepare(`INSERT INTO reconciliations (reconciliation_id, machine_id, from_read_id, to_read_id, from_at, to_at, unreported_cents, detail, seq, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		findRecon: w.Prepare(`SELECT machine_id, from_read_id, to_read_id, from_at, to_at, detail, revision
			FROM reconciliations WHERE reconciliation_id = ?`),
		updateRecon: w.Prepare(`UPDATE reconciliations SET detail = ?, unreported_cents = ?, revision = ?, seq = ? WHERE reconciliation_id = ?`),
		latestRecon: w.Prepare(`SELECT reconciliation_id FROM reconciliations WHERE machine_id = ?
			ORDER BY to_at DESC, reconciliation_id DESC LIMIT 1`),
		findReadByID: w.Prepare(`SELECT audit, read_at, uploaded_by FROM dex_reads WHERE read_id = ?`),
		findVisit:    w.Prepare(`SELECT body_hash, answer FROM visits WHERE visit_id = ?`),
		insertVisit: w.Prepare(`INSERT INTO visits (visit_id, machine_id, arrived_at, left_at, driver, notes, actions, recorded_by, recorded_at, body_hash, answer, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		findCash: w.Prepare(`SELECT body_hash, answer FROM cash_collections WHERE collection_id = ?`),
		prevCash: w.Prepare(`SELECT collected_at FROM cash_collections WHERE machine_id = ? AND collected_at < ?
			ORDER BY collected_at DESC LIMIT 1`),
		cashLedger: w.Prepare(cashLedgerQuery),
		cashRead: w.Prepare(`SELECT read_id, cash_sales_init FROM dex_reads WHERE machine_id = ? AND read_at <= ? AND cash_sales_init IS NOT NULL
			ORDER BY read_at DESC, read_id DESC LIMIT 1`),
		insertCash: w.Prepare(`INSERT INTO cash_collections (collection_id, machine_id, collected_at, amount_cents, currency, driver, notes,
			expected_ledger, expected_dex, recorded_by, recorded_at, body_hash, answer, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
	}
}

// Upload is a DEX file for a machine. ReadAt (RFC 3339, optional) is when
// the meters were read; without it the file's EA3 read date and time (in
// the site's timezone) is used, else the time of upload.
type Upload struct {
	MachineID string
	Raw       []byte
	ReadAt    string
}

// CodeInvalidDEX is the code of a file the parser refused.
const CodeInvalidDEX = "INVALID_DEX"

// Upload parses a DEX file, stores it and reconciles it with the machine's
// previous read (the first read of a machine has nothing to compare).
//
// It returns an *errs.Error: Invalid INVALID_DEX (field "body", the message
// naming line and field) for a file the parser refuses, Invalid for a bad
// machine id or readAt, NOT_FOUND for an unknown machine, Conflict
// MACHINE_DECOMMISSIONED for a retired one. The same file for the same
// machine again answers the first result with Replayed set.
func (r *Rules) Upload(ctx context.Context, in Upload, by string) (edgeapi.DEXRead, error) {
	if err := check.ID("machineId", in.MachineID); err != nil {
		return edgeapi.DEXRead{}, err
	}
	a, err := dex.Parse(in.Raw)
	if err != nil {
		return edgeapi.DEXRead{}, errs.Errorf(errs.Invalid, CodeInvalidDEX, "body", "%s", err.Error())
	}
	now := r.w.Now()
	at, err := r.readAt(in.ReadAt, a, now)
	if err != nil {
		return edgeapi.DEXRead{}, err
	}
	sum := sha256.Sum256(in.Raw)
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (edgeapi.DEXRead, error) {
		return r.upload(t, in, a, at, sum[:], by)
	})
}

// readAt is when the meters were read: the client's word, the file's EA3,
// or now.
func (r *Rules) readAt(given string, a *dex.Audit, now time.Time) (time.Time, error) {
	if given != "" {
		return check.Timestamp("readAt", given, now, r.cfg.MaxClockSkew)
	}
	if t, ok := ea3Time(a.ReadDate, a.ReadTime, r.w.Site().Loc); ok && !t.After(now.Add(r.cfg.MaxClockSkew)) && t.Year() >= 2000 {
		return t, nil
	}
	return now, nil
}

// ea3Time reads EA302 (YYMMDD or YYYYMMDD) and EA303 (HHMM or HHMMSS).
func ea3Time(date, clock string, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	var layout string
	switch len(date) {
	case 6:
		layout = "060102"
	case 8:
		layout = "20060102"
	default:
		return time.Time{}, false
	}
	switch len(clock) {
	case 4:
		layout += "1504"
	case 6:
		layout += "150405"
	case 0:
	default:
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(layout, date+clock, loc)
	return t, err == nil
}

func (r *Rules) upload(t *ingest.Tx, in Upload, a *dex.Audit, at time.Time, sum []byte, by string) (edgeapi.DEXRead, error) {
	var id int64
	var answer string
	switch err := t.QueryRow(r.findRead, in.MachineID, sum).Scan(&id, &answer); {
	case err == nil:
		var out edgeapi.DEXRead
		if err := json.Unmarshal([]byte(answer), &out); err != nil {
			return out, fmt.Errorf("decode stored dex answer: %w", err)
		}
		out.Replayed = true
		return out, nil
	case !errors.Is(err, sql.ErrNoRows):
		return edgeapi.DEXRead{}, fmt.Errorf("find dex read: %w", err)
	}
	if _, err := r.machines.Find(in.MachineID); err != nil {
		return edgeapi.DEXRead{}, err
	}
	auditJSON, err := json.Marshal(a)
	if err != nil {
		return edgeapi.DEXRead{}, fmt.Errorf("encode dex audit: %w", err)
	}
	var cash any
	if a.CashSales.HasInit {
		cash = a.CashSales.Init.Value
	}
	if err := t.QueryRow(r.insertRead, in.MachineID, at.UnixMilli(), t.Now().UnixMilli(), sum, string(in.Raw), string(auditJSON), cash, by).Scan(&id); err != nil {
		return edgeapi.DEXRead{}, fmt.Errorf("insert dex read: %w", err)
	}
	cat := r.catalog(in.MachineID, a, nil)
	out := readOut(id, in.MachineID, at, a, func(p *dex.Product) string { return cat.MapSelection(p) })
	rec, err := r.reconcile(t, in.MachineID, id, at, a, by)
	if err != nil {
		return edgeapi.DEXRead{}, err
	}
	out.Reconciliation = rec
	if err := t.Audit("dex_read", in.MachineID, "DEX_UPLOADED", by, map[string]any{"readId": id, "readAt": at.UTC(),
		"serial": a.Serial, "products": len(a.Products)}); err != nil {
		return edgeapi.DEXRead{}, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return edgeapi.DEXRead{}, fmt.Errorf("encode dex answer: %w", err)
	}
	if _, err := t.Exec(r.setAnswer, string(b), id); err != nil {
		return edgeapi.DEXRead{}, fmt.Errorf("store dex answer: %w", err)
	}
	return out, nil
}

// catalog is the machine's prices of the products the audit's selections
// and the ledger's products may name.
func (r *Rules) catalog(machineID string, a *dex.Audit, ledger map[string]dex.Ledger) dex.Catalog {
	c := dex.Catalog{}
	add := func(pid string) {
		if pid == "" {
			return
		}
		if s := r.stock.Slot(machineID, pid); s != nil {
			c[pid] = s.Price
		}
	}
	for _, p := range a.Products {
		add(p.Selection)
		add(p.ProductID)
	}
	for pid := range ledger {
		add(pid)
	}
	return c
}

func readOut(id int64, machineID string, at time.Time, a *dex.Audit, mapSel func(*dex.Product) string) edgeapi.DEXRead {
	m := func(c dex.Counter) edgeapi.DEXCounter {
		return edgeapi.DEXCounter{Count: c.Count, Value: wire.Money(c.Value)}
	}
	out := edgeapi.DEXRead{ReadID: id, MachineID: machineID, ReadAt: at.UTC(), Serial: a.Serial, Model: a.Model,
		PaidVends: m(a.PaidVends.Init), TestVends: m(a.TestVends.Init), FreeVends: m(a.FreeVends.Init),
		CashSales: m(a.CashSales.Init), CashIn: wire.Money(a.CashIn.InInit), Cashless: m(a.Cashless.Init),
		Products: []edgeapi.DEXProduct{}, Warnings: a.Warnings}
	for i := range a.Products {
		p := &a.Products[i]
		out.Products = append(out.Products, edgeapi.DEXProduct{Selection: p.Selection, ProductID: mapSel(p),
			Price: wire.Money(p.Price), SinceInit: m(p.Sales.Init), SinceReset: m(p.Sales.Reset),
			Partial: !p.Sales.HasInit || !p.Sales.HasReset})
	}
	for _, e := range a.Events {
		out.Events = append(out.Events, edgeapi.DEXEvent{Record: e.Record, Code: e.Code, Fields: e.Fields})
	}
	return out
}

// reconcile compares read id with the machine's previous read, if any:
// stores the result, sends it up, and opens or closes the alert.
func (r *Rules) reconcile(t *ingest.Tx, machineID string, id int64, at time.Time, a *dex.Audit, by string) (*edgeapi.Reconciliation, error) {
	var prevID, prevAt int64
	var prevJSON string
	switch err := t.QueryRow(r.prevRead, machineID, at.UnixMilli()).Scan(&prevID, &prevAt, &prevJSON); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("find previous dex read: %w", err)
	}
	var prev dex.Audit
	if err := json.Unmarshal([]byte(prevJSON), &prev); err != nil {
		return nil, fmt.Errorf("decode previous dex read %d: %w", prevID, err)
	}
	rec, ev, err := r.compute(t, machineID, prevID, prevAt, &prev, id, at, a, by)
	if err != nil {
		return nil, err
	}
	seq, err := t.Emit(envelope.KindReconciliation, at, ev)
	if err != nil {
		return nil, err
	}
	detail, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode reconciliation: %w", err)
	}
	if _, err := t.Exec(r.insertRecon, id, machineID, prevID, id, prevAt, at.UnixMilli(), ev.UnreportedValue, string(detail), seq, t.Now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("insert reconciliation: %w", err)
	}
	if err := r.alert(t, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// compute reconciles the read id of machineID at at (audit a) with the
// previous read (prevID at prevAt, audit prev) against the ledger between
// them, as the stored answer and as the event that goes up. A read is
// reconciled once, so the reconciliation's id is its read's; a recheck
// after late sales gives the same id a higher revision.
func (r *Rules) compute(t *ingest.Tx, machineID string, prevID, prevAt int64, prev *dex.Audit, id int64, at time.Time, a *dex.Audit, by string) (*edgeapi.Reconciliation, envelope.Reconciliation, error) {
	ledger, err := r.ledgerBetween(t, machineID, prevAt, at.UnixMilli())
	if err != nil {
		return nil, envelope.Reconciliation{}, err
	}
	res := dex.Reconcile(prev, a, ledger, r.catalog(machineID, a, ledger))
	from := time.UnixMilli(prevAt).UTC()
	alerted := res.Unreported.Value > r.cfg.AlertThreshold
	rec := &edgeapi.Reconciliation{ReconciliationID: id, MachineID: machineID, FromReadID: prevID, ToReadID: id, From: from, To: at.UTC(),
		MachineCount: res.Machine.Count, MachineValue: wire.Money(res.Machine.Value),
		LedgerCount: res.Ledger.Count, LedgerValue: wire.Money(res.Ledger.Value),
		UnreportedCount: res.Unreported.Count, UnreportedValue: wire.Money(res.Unreported.Value),
		MissingCount: res.Missing.Count, MissingValue: wire.Money(res.Missing.Value),
		PriceMismatches: res.PriceMismatches,
		TestVends:       edgeapi.DEXCounter{Count: res.TestVends.Count, Value: wire.Money(res.TestVends.Value)},
		FreeVends:       edgeapi.DEXCounter{Count: res.FreeVends.Count, Value: wire.Money(res.FreeVends.Value)},
		Alerted:         alerted, Lines: make([]edgeapi.ReconciliationLine, 0, len(res.Lines)), CreatedAt: t.Now().UTC(), Revision: 1}
	for _, l := range res.Lines {
		ol := edgeapi.ReconciliationLine{Selection: l.Selection, ProductID: l.ProductID,
			MachineCount: l.Machine.Count, MachineValue: wire.Money(l.Machine.Value),
			LedgerCount: l.Ledger.Count, LedgerValue: wire.Money(l.Ledger.Value),
			UnreportedCount: l.Unreported.Count, UnreportedValue: wire.Money(l.Unreported.Value),
			MissingCount: l.Missing.Count, MissingValue: wire.Money(l.Missing.Value),
			MachinePrice: wire.Money(l.MachinePrice), PriceMismatch: l.PriceMismatch}
		if l.HasCatalog {
			p := wire.Money(l.CatalogPrice)
			ol.CatalogPrice = &p
		}
		rec.Lines = append(rec.Lines, ol)
	}
	ev := envelope.Reconciliation{
		ID: id, MachineID: machineID, FromReadID: prevID, ToReadID: id, From: from, To: at.UTC(),
		MachineCount: res.Machine.Count, MachineValue: res.Machine.Value, LedgerCount: res.Ledger.Count, LedgerValue: res.Ledger.Value,
		UnreportedCount: res.Unreported.Count, UnreportedValue: res.Unreported.Value, MissingCount: res.Missing.Count,
		MissingValue: res.Missing.Value, PriceMismatches: int64(res.PriceMismatches), TestVends: res.TestVends.Count,
		FreeVends: res.FreeVends.Count, Alerted: alerted, By: by}
	return rec, ev, nil
}

// alert opens or closes the machine's DEX_UNREPORTED_SALES alert as rec
// says.
func (r *Rules) alert(t *ingest.Tx, rec *edgeapi.Reconciliation) error {
	describe := func() string {
		return fmt.Sprintf("DEX read %d: the machine counted %d vends worth %s that the ledger lacks (threshold %s)",
			rec.ToReadID, rec.UnreportedCount, rec.UnreportedValue, wire.Money(r.cfg.AlertThreshold))
	}
	return t.SetAlert(rec.MachineID, "", wire.DEXUnreportedSales, rec.Alerted, describe, "DEX_RECONCILED")
}

func (r *Rules) ledgerBetween(t *ingest.Tx, machineID string, from, to int64) (map[string]dex.Ledger, error) {
	rows, err := t.Query(r.ledger, machineID, from, to)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	defer rows.Close()
	out := map[string]dex.Ledger{}
	for rows.Next() {
		var pid string
		var l dex.Ledger
		if err := rows.Scan(&pid, &l.Count, &l.Value); err != nil {
			return nil, fmt.Errorf("read ledger: %w", err)
		}
		out[pid] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	return out, nil
}

// Limits of the visit and cash bodies.
const (
	MaxNotes  = 2000
	MaxDriver = 100
)

func checkText(field, v string, limit int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return errs.Invalidf(field, "%s is required", field)
	}
	if len(v) > limit {
		return errs.Invalidf(field, "%s is longer than %d characters", field, limit)
	}
	return nil
}

func bodyHash(v any) []byte {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return h[:]
}

// replay answers a key seen before: the same body hash is a replay of the
// stored answer, another a conflict.
func replay[T any](row interface{ Scan(...any) error }, hash []byte, field, key string, set func(*T)) (T, bool, error) {
	var out T
	var h []byte
	var answer string
	switch err := row.Scan(&h, &answer); {
	case errors.Is(err, sql.ErrNoRows):
		return out, false, nil
	case err != nil:
		return out, false, fmt.Errorf("find %s: %w", field, err)
	}
	if !bytes.Equal(h, hash) {
		return out, true, errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", field, "%s %q was already recorded with a different body", field, key)
	}
	if err := json.Unmarshal([]byte(answer), &out); err != nil {
		return out, true, fmt.Errorf("decode stored %s: %w", field, err)
	}
	set(&out)
	return out, true, nil
}

// Visit records a driver's proof of service at a machine. The driver
// defaults to the caller's client id.
//
// It returns an *errs.Error: Invalid naming the field (a missing visitId,
// a time that is not RFC 3339 or lies ahead, leftAt before arrivedAt, an
// unknown action), NOT_FOUND for an unknown machine, Conflict
// IDEMPOTENCY_CONFLICT for a visitId recorded with another body. A replay
// answers the first result with Replayed set.
func (r *Rules) Visit(ctx context.Context, machineID string, in edgeapi.VisitIn, by string) (edgeapi.Visit, error) {
	if err := check.ID("machineId", machineID); err != nil {
		return edgeapi.Visit{}, err
	}
	if err := check.ID("visitId", in.VisitID); err != nil {
		return edgeapi.Visit{}, err
	}
	now := r.w.Now()
	arrived, err := check.Timestamp("arrivedAt", in.ArrivedAt, now, r.cfg.MaxClockSkew)
	if err != nil {
		return edgeapi.Visit{}, err
	}
	left, err := check.Timestamp("leftAt", in.LeftAt, now, r.cfg.MaxClockSkew)
	if err != nil {
		return edgeapi.Visit{}, err
	}
	if left.Before(arrived) {
		return edgeapi.Visit{}, errs.Invalidf("leftAt", "leftAt %s is before arrivedAt %s", in.LeftAt, in.ArrivedAt)
	}
	if in.Driver == "" {
		in.Driver = by
	}
	if err := check.First(checkText("driver", in.Driver, MaxDriver, true), checkText("notes", in.Notes, MaxNotes, false)); err != nil {
		return edgeapi.Visit{}, err
	}
	actions := []string{}
	for i, a := range in.Actions {
		if !slices.Contains(edgeapi.VisitActions, a) {
			return edgeapi.Visit{}, errs.Invalidf(fmt.Sprintf("actions[%d]", i), "action %q: want one of %s", a, strings.Join(edgeapi.VisitActions, ", "))
		}
		if !slices.Contains(actions, a) {
			actions = append(actions, a)
		}
	}
	hash := bodyHash(struct {
		M string
		V edgeapi.VisitIn
	}{machineID, in})
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (edgeapi.Visit, error) {
		if out, ok, err := replay(t.QueryRow(r.findVisit, in.VisitID), hash, "visitId", in.VisitID, func(v *edgeapi.Visit) { v.Replayed = true }); ok || err != nil {
			return out, err
		}
		if _, err := r.machines.Find(machineID); err != nil {
			return edgeapi.Visit{}, err
		}
		out := edgeapi.Visit{VisitID: in.VisitID, MachineID: machineID, ArrivedAt: arrived.UTC(), LeftAt: left.UTC(), Driver: in.Driver,
			Notes: in.Notes, Actions: actions, RecordedAt: t.Now().UTC()}
		seq, err := t.Emit(envelope.KindVisit, left, envelope.Visit{VisitID: in.VisitID, MachineID: machineID, ArrivedAt: out.ArrivedAt,
			LeftAt: out.LeftAt, Driver: in.Driver, Notes: in.Notes, Actions: actions, By: by})
		if err != nil {
			return out, err
		}
		out.Sequence = seq
		answer, _ := json.Marshal(out)
		acts, _ := json.Marshal(actions)
		if _, err := t.Exec(r.insertVisit, in.VisitID, machineID, arrived.UnixMilli(), left.UnixMilli(), in.Driver, in.Notes, string(acts),
			by, t.Now().UnixMilli(), hash, string(answer), seq); err != nil {
			return out, fmt.Errorf("insert visit: %w", err)
		}
		if err := t.Audit("machine", machineID, "VISIT", by, map[string]any{"visitId": in.VisitID, "driver": in.Driver, "actions": actions}); err != nil {
			return out, err
		}
		return out, nil
	})
}

// CashCollection records cash a driver took out of a machine and what was
// expected: from the ledger, the machine's CASH sales since its previous
// collection; from DEX, the CA201 (cash sales value since init) delta
// between the last read at or before this collection and the last read at
// or before the previous one (none without a previous collection or a
// read since it).
//
// It returns an *errs.Error: Invalid naming the field, NOT_FOUND for an
// unknown machine, Conflict IDEMPOTENCY_CONFLICT for a collectionId
// recorded with another body. A replay answers the first result with
// Replayed set.
func (r *Rules) CashCollection(ctx context.Context, machineID string, in edgeapi.CashIn, by string) (edgeapi.CashCollection, error) {
	if err := check.ID("machineId", machineID); err != nil {
		return edgeapi.CashCollection{}, err
	}
	if err := check.ID("collectionId", in.CollectionID); err != nil {
		return edgeapi.CashCollection{}, err
	}
	at, err := check.Timestamp("collectedAt", in.CollectedAt, r.w.Now(), r.cfg.MaxClockSkew)
	if err != nil {
		return edgeapi.CashCollection{}, err
	}
	if in.Amount < 0 {
		return edgeapi.CashCollection{}, errs.Invalidf("amount", "amount %s must not be negative", in.Amount)
	}
	if in.Currency != "" && (len(in.Currency) != 3 || strings.ToUpper(in.Currency) != in.Currency) {
		return edgeapi.CashCollection{}, errs.Invalidf("currency", "currency %q: want an ISO 4217 code such as EUR", in.Currency)
	}
	if in.Driver == "" {
		in.Driver = by
	}
	if err := check.First(checkText("driver", in.Driver, MaxDriver, true), checkText("notes", in.Notes, MaxNotes, false)); err != nil {
		return edgeapi.CashCollection{}, err
	}
	hash := bodyHash(struct {
		M string
		C edgeapi.CashIn
	}{machineID, in})
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (edgeapi.CashCollection, error) {
		if out, ok, err := replay(t.QueryRow(r.findCash, in.CollectionID), hash, "collectionId", in.CollectionID,
			func(c *edgeapi.CashCollection) { c.Replayed = true }); ok || err != nil {
			return out, err
		}
		if _, err := r.machines.Find(machineID); err != nil {
			return edgeapi.CashCollection{}, err
		}
		return r.cash(t, machineID, in, at, hash, by)
	})
}

func (r *Rules) cash(t *ingest.Tx, machineID string, in edgeapi.CashIn, at time.Time, hash []byte, by string) (edgeapi.CashCollection, error) {
	out := edgeapi.CashCollection{CollectionID: in.CollectionID, MachineID: machineID, CollectedAt: at.UTC(), Amount: in.Amount,
		Currency: in.Currency, Driver: in.Driver, Notes: in.Notes, RecordedAt: t.Now().UTC()}
	var since int64 // 0: from the beginning
	switch err := t.QueryRow(r.prevCash, machineID, at.UnixMilli()).Scan(&since); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return out, fmt.Errorf("find previous collection: %w", err)
	default:
		s := time.UnixMilli(since).UTC()
		out.Since = &s
	}
	var ledger int64
	if err := t.QueryRow(r.cashLedger, machineID, since, at.UnixMilli()).Scan(&ledger); err != nil {
		return out, fmt.Errorf("sum cash sales: %w", err)
	}
	out.ExpectedLedger = wire.Money(ledger)
	out.OverShortLedger = in.Amount - out.ExpectedLedger
	if out.Since != nil {
		expected, ok, err := r.dexCash(t, machineID, since, at.UnixMilli())
		if err != nil {
			return out, err
		}
		if ok {
			e, d := wire.Money(expected), in.Amount-wire.Money(expected)
			out.ExpectedDEX, out.OverShortDEX = &e, &d
		}
	}
	ev := envelope.CashCollection{CollectionID: in.CollectionID, MachineID: machineID, CollectedAt: out.CollectedAt, AmountCents: int64(in.Amount),
		Currency: in.Currency, Driver: in.Driver, Notes: in.Notes, Since: out.Since, ExpectedLedger: ledger, By: by}
	var dexArg any
	if out.ExpectedDEX != nil {
		v := int64(*out.ExpectedDEX)
		ev.ExpectedDEX, dexArg = &v, v
	}
	seq, err := t.Emit(envelope.KindCash, at, ev)
	if err != nil {
		return out, err
	}
	out.Sequence = seq
	answer, _ := json.Marshal(out)
	if _, err := t.Exec(r.insertCash, in.CollectionID, machineID, at.UnixMilli(), int64(in.Amount), in.Currency, in.Driver, in.Notes,
		ledger, dexArg, by, t.Now().UnixMilli(), hash, string(answer), seq); err != nil {
		return out, fmt.Errorf("insert cash collection: %w", err)
	}
	if err := t.Audit("machine", machineID, "CASH_COLLECTED", by, map[string]any{"collectionId": in.CollectionID,
		"amount": in.Amount, "expectedLedger": out.ExpectedLedger, "expectedDex": out.ExpectedDEX}); err != nil {
		return out, err
	}
	return out, nil
}

// dexCash is the machine's cash sales (CA201 delta) between the last read
// at or before from and the last read at or before to; ok is false when
// no read covers the period or the meter went down.
func (r *Rules) dexCash(t *ingest.Tx, machineID string, from, to int64) (int64, bool, error) {
	read := func(at int64) (id, cash int64, ok bool, err error) {
		switch err := t.QueryRow(r.cashRead, machineID, at).Scan(&id, &cash); {
		case errors.Is(err, sql.ErrNoRows):
			return 0, 0, false, nil
		case err != nil:
			return 0, 0, false, fmt.Errorf("find dex cash meter: %w", err)
		}
		return id, cash, true, nil
	}
	bID, b, ok, err := read(from)
	if err != nil || !ok {
		return 0, false, err
	}
	aID, a, ok, err := read(to)
	if err != nil || !ok || aID == bID || a < b {
		return 0, false, err
	}
	return a - b, true, nil
}

// Query filters Reconciliations: a machine ("" any) and a range of the
// later read's time, From inclusive, To exclusive (zero: open).
type Query struct {
	MachineID string
	From, To  time.Time
	Limit     int
}

// MaxList bounds one answer of Reconciliations.
const MaxList = 1000

// Reconciliations lists stored reconciliations, newest first.
func (r *Rules) Reconciliations(ctx context.Context, q Query) ([]edgeapi.Reconciliation, error) {
	if q.Limit <= 0 || q.Limit > MaxList {
		q.Limit = min(max(q.Limit, 100), MaxList)
	}
	var to int64 = 1<<63 - 1
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	rows, err := r.w.Store().DB.Query(ctx, `SELECT detail FROM reconciliations
		WHERE (?1 = '' OR machine_id = ?1) AND to_at >= ?2 AND to_at < ?3 ORDER BY to_at DESC, reconciliation_id DESC LIMIT ?4`,
		q.MachineID, q.From.UnixMilli(), to, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list reconciliations: %w", err)
	}
	defer rows.Close()
	out := []edgeapi.Reconciliation{}
	for rows.Next() {
		var detail string
		if err := rows.Scan(&detail); err != nil {
			return nil, fmt.Errorf("list reconciliations: %w", err)
		}
		var rec edgeapi.Reconciliation
		if err := json.Unmarshal([]byte(detail), &rec); err != nil {
			return nil, fmt.Errorf("decode reconciliation: %w", err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list reconciliations: %w", err)
	}
	return out, nil
}
