// Package ingest is the edge's single writer: the engine that runs the site's
// rules. Every change to the site's facts runs as a function on one goroutine
// that group-commits: it takes every request that is waiting, runs them in
// one SQLite transaction, and answers each only after that transaction is
// durable. Throughput is therefore not bounded by one fsync per request, and
// nothing is acknowledged before it is durable.
//
// # How a commit is made durable
//
// By default (FsyncInline) the writer commits with synchronous=FULL: the
// commit fsyncs the WAL itself, and the batch is answered after it.
// FsyncPipelined commits with synchronous=NORMAL and hands the batch to a
// syncer goroutine, which fsyncs the WAL and only then answers: the writer
// runs the next batch while the fsync runs, and one fsync covers every
// commit that ended before it began. Every answer, a rejection or a replay
// answered from an earlier commit included, waits for an fsync that began
// after its own transaction ended. What acts outside the process on
// committed data waits for it too: Appended fires, and DurableSeq moves,
// only after the fsync. FsyncLog makes a single sale durable by a record in
// the intake log instead (intake.go). Inline is the default because, with
// the clients of a site, a pipelined writer's batches are smaller and its
// throughput no higher (BENCHMARKS.md).
//
// The engine knows no rule. Rules live in their own packages (edge/sale,
// edge/stock, edge/machine, edge/telemetry, edge/fault, with edge/alert
// deciding which alerts hold) and reach the database only through a *Tx,
// which gives them what every rule needs: statements prepared once, the next
// outbox sequence and Emit (an event for central, in the same transaction as
// its effect), Audit, SetAlert and CloseAlerts (the alerts table and its
// events), CountSale (the local sales aggregates, one upsert per bucket per
// transaction) and the transaction's clock.
//
// # How a rule package plugs in
//
// A rule package exports a type built from the writer before Open:
//
//	func New(w *ingest.Writer, deps ...) *Rules {
//		r := &Rules{w: w, insert: w.Prepare(insertQuery)}
//		w.Register(&r.view) // only if it keeps an in-memory view
//		w.OnSweep(r.sweep)  // only if it has time-driven rules
//		return r
//	}
//
// and one method per operation, which validates what needs no state, then
// submits a function that decides against the in-memory view and writes:
//
//	func (r *Rules) Record(ctx context.Context, in In) (Result, error) {
//		if err := check(in); err != nil {
//			return Result{}, err // an *errs.Error
//		}
//		return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Result, error) { ... })
//	}
//
// Wiring it is a few lines in edge.Node.Open (New after the packages it
// depends on) and a field in api.Config for its endpoints.
//
// # Rejected and failed
//
// A submitted function that returns an *errs.Error (of any kind but
// errs.Internal) rejects its own request only: it must not have written
// anything, nor changed its view, before deciding to refuse. Any other error
// fails the whole transaction: every request in it gets the error, and every
// registered View is loaded again from the database, since it may hold
// changes that were rolled back.
package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/sqlite"
)

// Config tunes the writer. DefaultConfig gives the defaults.
type Config struct {
	// MaxBatch caps how many requests share one transaction.
	MaxBatch int
	// Now is the writer's clock (default time.Now).
	Now    func() time.Time
	Logger zerolog.Logger
	// Registerer receives the writer's metrics (nil: none).
	Registerer prometheus.Registerer
	// Fsync says how a commit is made durable (default FsyncInline).
	Fsync Fsync
	// SyncHook, when set, runs each WAL fsync of a pipelined writer: it
	// must call sync and return its error. Tests hold or observe fsyncs
	// with it; nil in production.
	SyncHook func(sync func() error) error
}

// Fsync is how the writer makes a commit durable before it answers.
type Fsync string

const (
	// FsyncPipelined commits with synchronous=NORMAL and fsyncs the WAL on
	// another goroutine while the next batch runs.
	FsyncPipelined Fsync = "pipelined"
	// FsyncInline commits with synchronous=FULL: the commit fsyncs the WAL
	// itself, and the writer waits for it.
	FsyncInline Fsync = "inline"
	// FsyncLog commits with synchronous=NORMAL and makes a logged request
	// (SubmitLogged: a single sale) durable by a record in the intake log,
	// fdatasynced on another goroutine while the next batch runs; other
	// requests get a WAL fsync as in FsyncPipelined (intake.go).
	FsyncLog Fsync = "log"
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxBatch: 512, Now: time.Now, Logger: zerolog.Nop(), Fsync: FsyncInline}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.MaxBatch < 1 {
		return fmt.Errorf("max batch %d: must be at least 1", c.MaxBatch)
	}
	switch c.Fsync {
	case "", FsyncPipelined, FsyncInline, FsyncLog:
	default:
		return fmt.Errorf("fsync %q: must be %q, %q or %q", c.Fsync, FsyncInline, FsyncPipelined, FsyncLog)
	}
	return nil
}

// ErrClosed is returned for requests made after Close.
var ErrClosed = errors.New("writer is closed")

// Querier reads the database; a View loads itself through it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// A View is a rule package's share of the writer's in-memory view: what it
// keeps in memory so that it decides without reading the database. Only the
// writer's goroutine touches it, inside submitted functions.
type View interface {
	// Load (re)reads the view from the database: at Open, and after a
	// transaction failed (the view may hold changes that were rolled back).
	Load(ctx context.Context, db Querier) error
}

// Stmt is a statement prepared on the writer's connection by the first
// transaction that runs it and kept there (sqlite.Statement), so that Open
// does not parse statements a site may never run.
type Stmt struct {
	query string
	idx   int // its place among the writer's statements
	st    *sqlite.Statement
	// namesHeld: the query names a table that may have held writes
	// (later.go), which run before it.
	namesHeld bool
}

type request struct {
	ctx  context.Context
	rev  uint64 // downlink revision to record with fn's writes (WithDownlinkRevision)
	fn   func(*Tx) error
	err  error
	done chan struct{}
	// kind and data are the request's intake log record (SubmitLogged);
	// kind 0: none.
	kind byte
	data []byte
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
	opened   bool
	full     atomic.Bool // the last transaction failed for a full storage

	stmts  map[string]*Stmt
	views  []View
	sweeps []func(*Tx) error
	own    engineStmts
	// rows and heldTables are the tables whose writes a Tx may hold until
	// commit (later.go).
	rows       []*Rows
	heldTables []string
	held       held // a transaction's held writes (reused)

	// The engine's own view, owned by the loop goroutine.
	alerts  map[alertKey]openAlert
	lastSeq uint64
	agg     map[aggKey]aggVal // a transaction's aggregate deltas
	aggArgs []sqlite.Arg      // flush's arguments, reused

	batchSize prometheus.Histogram
	committed prometheus.Counter
	failed    prometheus.Counter

	commits []committer // per-transaction sums written at commit (OnCommit)

	// Pipelined fsync (sync.go).
	syncq   chan *synced          // committed batches waiting for their fsync
	free    chan *synced          // answered ones, reused
	txns    uint64                // transactions ended (committed or not); loop goroutine only
	ended   atomic.Uint64         // txns, for the syncer and tests
	durable atomic.Uint64         // outbox sequence every fsync so far covers
	syncErr atomic.Pointer[error] // a failed fsync: every write fails from then on
	fsyncs  prometheus.Counter

	// The intake log (intake.go), FsyncLog only.
	intake  *intake
	lsn     uint64 // the last LSN given to a transaction; loop goroutine only
	txLog   []byte // the running transaction's records
	txWAL   bool   // the running transaction has a request without a record
	replays map[byte]func(*Tx, []byte) error
	logged  prometheus.Counter
	// groupRecs is a sync group's records (syncer goroutine only).
	groupRecs []byte
	// replaying is the intake log transaction recover is running again.
	replaying *intakeRecord
	// syncBusy: the syncer is making a group durable; syncIdle is
	// signalled when it is done (runTx's more).
	syncBusy atomic.Bool
	syncIdle chan struct{}
}

// New returns a writer for st. Register rule packages on it, then call Open.
func New(st *store.Store, cfg Config) (*Writer, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Fsync == "" {
		cfg.Fsync = FsyncPipelined
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
		stmts:    map[string]*Stmt{},
		agg:      map[aggKey]aggVal{},
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vendsync_edge_commit_batch_size", Help: "Requests group-committed per transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_edge_commits_total", Help: "Committed write transactions."}),
		failed:    prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_edge_commit_failures_total", Help: "Write transactions that failed and were rolled back."}),
		fsyncs:    prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_edge_wal_fsyncs_total", Help: "WAL fsyncs of the pipelined writer (each covers every commit before it)."}),
		syncq:     make(chan *synced, 64),
		free:      make(chan *synced, 64),
		replays:   map[byte]func(*Tx, []byte) error{},
		syncIdle:  make(chan struct{}, 1),
		logged:    prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_edge_intake_syncs_total", Help: "Intake log fdatasyncs (each makes a group of logged requests durable)."}),
	}
	w.own.prepare(w)
	if cfg.Registerer != nil {
		walBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vendsync_edge_wal_bytes",
			Help: "Bytes written to the database's WAL since it last started again from its beginning (kept near 64 MiB under steady writes)."},
			func() float64 { return float64(st.DB.WALBytes()) })
		for _, c := range []prometheus.Collector{w.batchSize, w.committed, w.failed, w.fsyncs, w.logged, walBytes} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return w, nil
}

// Prepare returns a handle for query, prepared on its first use (an error
// in it fails the transaction using it, naming the query). Call it before
// Open, typically in a rule package's constructor; the same query twice
// gives the same handle.
func (w *Writer) Prepare(query string) *Stmt {
	if w.opened {
		panic("ingest: Prepare after Open")
	}
	if s, ok := w.stmts[query]; ok {
		return s
	}
	s := &Stmt{query: query, idx: len(w.stmts), st: sqlite.NewStatement(query)}
	w.stmts[query] = s
	return s
}

// Register adds v to the in-memory view: it is loaded at Open and reloaded
// after a failed transaction, in the order registered. Call it before Open.
func (w *Writer) Register(v View) {
	if w.opened {
		panic("ingest: Register after Open")
	}
	w.views = append(w.views, v)
}

// OnSweep adds a time-driven rule to Sweep. Call it before Open.
func (w *Writer) OnSweep(fn func(*Tx) error) {
	if w.opened {
		panic("ingest: OnSweep after Open")
	}
	w.sweeps = append(w.sweeps, fn)
}

// Open loads the in-memory view and starts the loop. Statements are
// prepared on first use, not here: parsing all of them was most of a cold
// start.
func (w *Writer) Open(ctx context.Context) error {
	w.opened = true
	w.markHolds()
	w.held = held{rows: make([][]any, len(w.rows)), byKey: map[heldKey]int{}}
	// What a killed pipelined process committed may not be on disk yet:
	// make it durable before anything reads or forwards it.
	if err := w.st.DB.SyncWAL(); err != nil {
		return err
	}
	if w.cfg.Fsync != FsyncInline {
		if err := w.st.DB.SetWriterSync(ctx, sqlite.SyncNormal); err != nil {
			return err
		}
	}
	if err := w.load(ctx); err != nil {
		return err
	}
	// Requests a killed log-mode process answered may be only in the
	// intake log: run them again, whatever the mode now.
	if err := w.recover(ctx); err != nil {
		return err
	}
	w.durable.Store(w.lastSeq)
	w.wg.Add(1)
	go w.loop()
	if w.cfg.Fsync != FsyncInline {
		w.wg.Add(1)
		go w.syncer()
	}
	return nil
}

// closeStmts drops the writer's statements from the connection.
func (w *Writer) closeStmts() {
	stmts := make([]*sqlite.Statement, 0, len(w.stmts))
	for _, s := range w.stmts {
		stmts = append(stmts, s.st)
	}
	_ = w.st.DB.Write(context.Background(), func(c *sqlite.WConn) error {
		c.Finalize(stmts...)
		return nil
	})
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
	w.closeStmts()
	if w.cfg.Fsync != FsyncInline {
		// The store may still be written without the writer (it is
		// usually closed next): back to a commit that syncs itself.
		if err := w.st.DB.SetWriterSync(context.Background(), sqlite.SyncFull); err != nil {
			return fmt.Errorf("close writer: %w", err)
		}
	}
	if w.intake != nil {
		// Everything the log holds is in the database once the WAL is on
		// disk: the next open has nothing to run again.
		err := w.st.DB.SyncWAL()
		if err == nil && w.syncErr.Load() == nil {
			err = w.intake.clear()
		}
		cerr := w.intake.close()
		w.intake = nil
		if err = errors.Join(err, cerr); err != nil {
			return fmt.Errorf("close writer: %w", err)
		}
	}
	return nil
}

// Appended is signalled (without blocking) once outbox rows a commit added
// are durable (DurableSeq moved), so the uplink can send them promptly.
func (w *Writer) Appended() <-chan struct{} { return w.appended }

// Site is the site this writer writes for.
func (w *Writer) Site() store.Site { return w.site }

// Store is the store this writer writes to (rules read their answers from
// it after a commit).
func (w *Writer) Store() *store.Store { return w.st }

// Transactions is the count of write transactions the writer has ended,
// committed or not (the group commit's batches: requests ÷ Transactions is
// the mean batch).
func (w *Writer) Transactions() uint64 { return w.ended.Load() }

// Now reads the writer's clock (rules check timestamps against it before
// submitting).
func (w *Writer) Now() time.Time { return w.cfg.Now() }

// Do runs fn in the writer's next transaction and returns after that
// transaction is durable: fn's *errs.Error if it rejected the request, the
// transaction's error if it failed (or the WAL's fsync, ErrSyncFailed),
// ErrClosed after Close, or ctx's error if ctx ends before the request is
// queued.
func (w *Writer) Do(ctx context.Context, fn func(*Tx) error) error {
	return w.do(&request{ctx: ctx, fn: fn, done: make(chan struct{})})
}

func (w *Writer) do(r *request) error {
	ctx := r.ctx
	r.rev, _ = ctx.Value(downlinkRevKey{}).(uint64)
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.closeMu.RUnlock()
		return ctx.Err()
	}
	w.closeMu.RUnlock()
	// Once queued the request runs: wait for its answer even if ctx ends, so
	// the caller never mistakes a committed write for a failed one.
	<-r.done
	return r.err
}

type downlinkRevKey struct{}

// WithDownlinkRevision marks the requests made with the returned context as
// applying central's configuration change revision: when such a request
// succeeds, the store's last applied downlink revision (store.LastApplied)
// is raised to revision in the same transaction as the request's writes, so
// a crash can neither lose the mark of a committed change (it would be
// applied twice) nor record a change that did not commit. A rejected or
// failed request records nothing.
func WithDownlinkRevision(ctx context.Context, revision uint64) context.Context {
	return context.WithValue(ctx, downlinkRevKey{}, revision)
}

// Submit is Do for a function with a result: it returns fn's result once
// the transaction has committed, or the zero T and the error Do returns.
func Submit[T any](ctx context.Context, w *Writer, fn func(*Tx) (T, error)) (T, error) {
	return submit(w, &request{ctx: ctx, done: make(chan struct{})}, fn)
}

// submit runs r with fn as its function through do and returns fn's result.
func submit[T any](w *Writer, r *request, fn func(*Tx) (T, error)) (T, error) {
	var res T
	r.fn = func(t *Tx) error {
		var err error
		res, err = fn(t)
		return err
	}
	if err := w.do(r); err != nil {
		var zero T
		return zero, err
	}
	return res, nil
}

// Sweep runs every time-driven rule (OnSweep) as of the writer's clock, in
// one transaction.
func (w *Writer) Sweep(ctx context.Context) error {
	return w.Do(ctx, func(t *Tx) error {
		for _, fn := range w.sweeps {
			if err := fn(t); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *Writer) loop() {
	defer w.wg.Done()
	if w.cfg.Fsync != FsyncInline {
		defer close(w.syncq) // after the last batch: the syncer answers it and stops
	}
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

// run executes one batch in one transaction and answers its requests, or
// has the syncer answer them after the fsync that covers the transaction.
func (w *Writer) run(batch []*request) {
	if perr := w.syncErr.Load(); perr != nil {
		// Nothing is written after a failed fsync (sync.go).
		for _, r := range batch {
			r.err = fmt.Errorf("%w: %w", ErrSyncFailed, *perr)
			close(r.done)
		}
		return
	}
	seqBefore := w.lastSeq
	err := w.runTx(&batch)
	full := storageFull(err)
	w.noteFull(full, err)
	if err != nil {
		w.failed.Inc()
		if !full { // a full storage is logged once, by noteFull
			w.log.Error().Err(err).Int("requests", len(batch)).Msg("write transaction failed; reloading state")
		}
		if lerr := w.load(context.Background()); lerr != nil && !storageFull(lerr) {
			w.log.Error().Err(lerr).Msg("reload after failed transaction")
		}
		for _, r := range batch {
			r.err = fmt.Errorf("store write failed: %w", classify(err))
		}
	} else {
		w.committed.Inc()
		w.batchSize.Observe(float64(len(batch)))
	}
	w.txns++
	w.ended.Store(w.txns)
	if w.cfg.Fsync != FsyncInline {
		w.handOff(batch, err == nil)
		return
	}
	if w.lastSeq != seqBefore {
		w.durable.Store(w.lastSeq)
		w.poke()
	}
	for _, r := range batch {
		close(r.done)
	}
}

// runTx runs the requests of *batch in one transaction and commits it.
// While the syncer is busy with the fsync of an earlier transaction (a
// pipelined or log writer), it keeps taking requests that arrive into this
// one, appending them to *batch, up to MaxBatch: they would wait for that
// fsync anyway, and one commit for all of them writes each shared page
// once.
func (w *Writer) runTx(pb *[]*request) error {
	ctx := context.Background()
	return w.st.DB.Write(ctx, func(c *sqlite.WConn) error {
		if err := c.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		err := w.inTx(ctx, c, pb)
		if err != nil {
			if rerr := c.Rollback(); rerr != nil {
				w.log.Error().Err(rerr).Msg("roll back a failed write transaction")
			}
		}
		return err
	})
}

// inTx is runTx's transaction, on the writer's connection c.
func (w *Writer) inTx(ctx context.Context, c *sqlite.WConn, pb *[]*request) error {
	clear(w.agg) // reused: its buckets stay allocated from one batch to the next
	w.held.reset()
	for _, c := range w.commits {
		c.reset()
	}
	t := &Tx{w: w, c: c, ctx: ctx, now: w.cfg.Now(), agg: w.agg, seq: w.lastSeq, held: &w.held}
	w.txLog, w.txWAL = w.txLog[:0], false
	logging := w.cfg.Fsync == FsyncLog
	if w.replaying != nil { // recover: the logged transaction's own clock and LSN
		t.now, t.lsn, logging = w.replaying.now, w.replaying.lsn, false
	}
	grow := w.cfg.Fsync != FsyncInline && w.replaying == nil
	for i := 0; ; i++ {
		if i == len(*pb) {
			if !grow {
				break
			}
			r := w.more(len(*pb))
			if r == nil {
				break
			}
			*pb = append(*pb, r)
		}
		r := (*pb)[i]
		if r.ctx.Err() != nil {
			r.err = r.ctx.Err() // the caller is gone; nothing written for it
			continue
		}
		if logging {
			if r.kind == 0 {
				w.txWAL = true
			} else {
				t.lsn = w.lsn + 1
				w.txLog = appendRecord(w.txLog, t.lsn, t.now, r.kind, r.data)
			}
		}
		err := r.fn(t)
		if t.heldErr != nil {
			return t.heldErr // held writes failed under this request
		}
		if err != nil && errs.KindOf(err) == errs.Internal {
			return err
		}
		r.err = err
		if err == nil && r.rev > 0 {
			if _, err := t.Exec(w.own.applied, r.rev); err != nil {
				return fmt.Errorf("record downlink revision %d: %w", r.rev, err)
			}
		}
	}
	for _, c := range w.commits {
		if err := c.write(t); err != nil {
			return err
		}
	}
	if err := t.flushHeld(); err != nil {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := c.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	w.lastSeq = t.seq
	if t.lsn != 0 {
		w.lsn = t.lsn
	}
	return nil
}

// more waits for the next request while the syncer is busy and the
// transaction has room (n requests so far); nil when the syncer is idle,
// the transaction full, or the writer closing.
func (w *Writer) more(n int) *request {
	if n >= w.cfg.MaxBatch {
		return nil
	}
	select {
	case <-w.syncIdle: // a stale signal from an earlier fsync
	default:
	}
	if !w.syncBusy.Load() {
		return nil
	}
	select {
	case r := <-w.reqs:
		return r
	case <-w.syncIdle:
		return nil
	case <-w.stop:
		return nil
	}
}

// load (re)reads the engine's own view and every registered View.
func (w *Writer) load(ctx context.Context) error {
	db := w.st.DB.W
	if err := w.loadAlerts(ctx, db); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, store.LastSeqQuery).Scan(&w.lastSeq); err != nil {
		return fmt.Errorf("load sequence: %w", err)
	}
	for _, v := range w.views {
		if err := v.Load(ctx, db); err != nil {
			return err
		}
	}
	return nil
}
