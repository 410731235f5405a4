// Package readmodel is central's read model: every site's events applied into
// one SQLite file per central node, exactly once in effect, with the sales
// aggregates, fleet state and per-site sync state that the query API reads.
//
// Apply commits a batch's raw events, their effects, the site's watermark and
// the consumed stream position in one transaction, so a redelivered batch
// changes nothing and a crash loses nothing that was acknowledged upstream.
//
// The rules (what a batch changes) are pure functions in central/aggregate;
// ApplyBatch runs them in steps against a Sink, the storage of one
// transaction. SQLite (sink.go) is the Sink here; another database would be
// another Sink.
package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrNotFound is returned when the asked-for site or machine is unknown.
	ErrNotFound = errors.New("not found")
	// ErrInvalidBatch wraps every reason Apply refuses a batch as malformed:
	// redelivering it can never succeed. It is aggregate.ErrInvalid.
	ErrInvalidBatch = aggregate.ErrInvalid
	// ErrInvalidQuery wraps every reason a query is refused; the message names
	// the bad field.
	ErrInvalidQuery = errors.New("invalid query")
)

// DefaultConsumer is the consumer name stream positions are recorded under
// when Open is given no WithConsumer option.
const DefaultConsumer = "default"

// Option tunes Open.
type Option func(*options)

type options struct {
	consumer string
	log      zerolog.Logger
	sync     sqlite.Sync
	now      func() time.Time
}

// WithConsumer names the consumer (one per central node) whose stream
// position Apply records.
func WithConsumer(name string) Option { return func(o *options) { o.consumer = name } }

// WithLogger sets the logger; the default discards.
func WithLogger(l zerolog.Logger) Option { return func(o *options) { o.log = l } }

// WithSync sets SQLite's synchronous mode. The default, sqlite.SyncFull, is
// what the watermark promise needs: a site trims its outbox on it.
func WithSync(s sqlite.Sync) Option { return func(o *options) { o.sync = s } }

// WithClock replaces time.Now as the source of receive times.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Store is an open read model. Apply and Rebuild serialize on the single
// writer connection, which the Store holds (statements are prepared on it); queries run on the reader pool concurrently with them.
type Store struct {
	// sitesHint is the length of SitesByCity's last fleet answer: the
	// next one's arrays are made that size.
	sitesHint atomic.Int64
	openHint  atomic.Int64 // the same for OpenCounts
	// siteRowsHint and machineRowsHint are the same for the fleet's
	// sales by site and by machine (orderedSalesRows).
	siteRowsHint, machineRowsHint atomic.Int64

	db       *sqlite.DB
	w        *sql.Conn // the writer connection, held for the store's life
	log      zerolog.Logger
	consumer string
	now      func() time.Time

	mu    sync.Mutex // serializes writers and guards stmts and multi
	stmts map[string]*sql.Stmt
	multi map[multiKey]*sql.Stmt

	fresh freshTable // every site's freshness, maintained as it changes

	subs subCache // alert subscriptions, read on every applied alert
}

// Open opens (creating and migrating if needed) the read model at path.
// It fails with migrations.ErrTooNew (wrapped) when the file is newer than
// this binary.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{consumer: DefaultConsumer, log: zerolog.Nop(), sync: sqlite.SyncFull, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := sqlite.Open(ctx, path, migrations.Central, sqlite.Options{Sync: o.sync})
	if err != nil {
		return nil, fmt.Errorf("open read model: %w", err)
	}
	w, err := db.W.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open read model: writer: %w", err)
	}
	s := &Store{
		db:       db,
		w:        w,
		log:      o.log.With().Str("component", "readmodel").Logger(),
		consumer: o.consumer,
		now:      o.now,
		stmts:    map[string]*sql.Stmt{},
		multi:    map[multiKey]*sql.Stmt{},
	}
	if err := s.rebuildIfPending(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open read model: %w", err)
	}
	if err := s.fillPromoDaysIfPending(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open read model: %w", err)
	}
	if err := s.fresh.load(ctx, s); err != nil {
		s.Close()
		return nil, fmt.Errorf("open read model: %w", err)
	}
	return s, nil
}

// rebuildIfPending rebuilds the aggregates when a migration changed what
// sales count (it leaves a row in rebuild_pending, which Rebuild deletes).
func (s *Store) rebuildIfPending(ctx context.Context) error {
	var n int
	if err := s.db.QueryRow(ctx, selectPending).Scan(&n); err != nil {
		return fmt.Errorf("read rebuild_pending: %w", err)
	}
	if n == 0 {
		return nil
	}
	s.log.Info().Msg("schema changed how sales count: rebuilding aggregates")
	_, err := s.Rebuild(ctx)
	return err
}

// Close closes the prepared statements and the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	for k, st := range s.multi {
		st.Close()
		delete(s.multi, k)
	}
	s.w.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close read model: %w", err)
	}
	return nil
}

// stmt returns the writer statement for query, preparing it once. The caller
// holds s.mu.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.w.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.stmts[query] = st
	return st, nil
}

// Writes run as BEGIN IMMEDIATE ... COMMIT on s.w with statements prepared
// on it, not through *sql.Tx: Tx.Stmt re-prepares a Conn's statement on every
// call, which costs more than the statement itself.

// begin starts a write transaction. The caller holds s.mu.
func (s *Store) begin(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return nil
}

// commit commits the write transaction, rolling it back if that fails.
func (s *Store) commit(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `COMMIT`); err != nil {
		s.rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback ends a failed write transaction; it is a no-op when none is open.
func (s *Store) rollback() {
	// Not the caller's context: it may be what failed the transaction. The
	// only error left to report would be "no transaction is active".
	_, _ = s.w.ExecContext(context.Background(), `ROLLBACK`)
}

// multiKey names a multi-row statement: its head (unique per statement) and
// row count.
type multiKey struct {
	head string
	n    int
}

// multiStmt returns the prepared multi-row statement for n rows. The caller
// holds s.mu.
func (s *Store) multiStmt(ctx context.Context, head, row, tail string, n int) (*sql.Stmt, error) {
	k := multiKey{head, n}
	if st, ok := s.multi[k]; ok {
		return st, nil
	}
	st, err := s.w.PrepareContext(ctx, multiRow(head, row, tail, n))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.multi[k] = st
	return st, nil
}

// multiRow builds "head VALUES row,row,... tail" for n rows. Parameters are
// anonymous ("?"): modernc looks every numbered one up by name, which is
// quadratic in a statement with hundreds of them.
func multiRow(head, row, tail string, n int) string {
	var b strings.Builder
	b.Grow(len(head) + n*(len(row)+1) + len(tail) + 16)
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteByte(' ')
	b.WriteString(tail)
	return b.String()
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
