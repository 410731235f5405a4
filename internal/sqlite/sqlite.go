// Package sqlite opens SQLite databases the way vendsync uses them: one writer
// connection and a separate pool of readers, WAL journal, foreign keys on, and
// the schema brought up to date before anything else touches it.
//
// Both the edge store and central's read model open their files here.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/migrations"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Sync is SQLite's synchronous setting.
type Sync string

const (
	// SyncFull fsyncs every commit: required for anything acknowledged.
	SyncFull Sync = "FULL"
	// SyncNormal fsyncs at checkpoints only; a crash may lose the last commits.
	SyncNormal Sync = "NORMAL"
)

// DB is a SQLite file opened as one writer plus a reader pool.
type DB struct {
	// W is the only connection that writes. Callers serialize on it.
	W *sql.DB
	// R is a database/sql pool of read-only connections (WAL readers never
	// block the writer), for reads that need database/sql (a transaction
	// over several reads). Query and QueryRow read on a pool of their own.
	R *sql.DB

	ckpt     *sql.DB
	walPath  string // the WAL's path as SQLite names it (absolute, links resolved)
	ckptLog  int    // the WAL's length in frames at the checkpointer's last round
	restart  int64  // Options.restart
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	path    string
	normal  atomic.Bool // W commits with synchronous=NORMAL (SetWriterSync)
	walMu   sync.Mutex  // guards wal and walInfo (SyncWAL)
	wal     *os.File
	walInfo os.FileInfo

	raw *rawPool // Query's and QueryRow's connections (rawread.go)
	wc  *WConn   // Write's hold on W's connection (writeraw.go)
}

// Options tune Open. The zero value means SyncFull, GOMAXPROCS readers and a
// checkpoint every second.
type Options struct {
	Sync    Sync
	Readers int
	// CacheKiB is each connection's page cache in KiB (default 32,000): the
	// cache grows to it as the database grows, and it is most of a
	// process's memory.
	CacheKiB int
	// CheckpointEvery is how often a background connection checkpoints the
	// WAL into the database. Commits on W never checkpoint themselves, so a
	// checkpoint's writes and fsyncs stay off the acknowledgement path.
	CheckpointEvery time.Duration

	// restart is the WAL length in bytes past which the checkpointer has
	// the writer start the WAL again (default restartBytes; tests lower
	// it).
	restart int64
}

// Open opens (creating if needed, mode 0600) the database at path and
// applies the migrations in schema. SQLite gives the -wal and -shm files the
// database's mode. It fails with migrations.ErrTooNew when the file was
// written by a newer binary, and with an error wrapping secfile.ErrExposed
// when the database or its -wal or -shm is accessible to every user.
func Open(ctx context.Context, path string, schema fs.FS, o Options) (*DB, error) {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := secfile.Check(p); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if err := secfile.Create(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if o.Sync == "" {
		o.Sync = SyncFull
	}
	if o.Readers <= 0 {
		o.Readers = max(2, runtime.GOMAXPROCS(0))
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = time.Second
	}
	if o.CacheKiB <= 0 {
		o.CacheKiB = 32000
	}
	if o.restart <= 0 {
		o.restart = restartBytes
	}
	w, err := sql.Open("sqlite", dsn(path, o.Sync, o.CacheKiB, false)+"&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := migrations.Apply(ctx, w, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, o.Sync, o.CacheKiB, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open readers %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	ck, err := sql.Open("sqlite", dsn(path, o.Sync, o.CacheKiB, false))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open checkpointer %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	d := &DB{W: w, R: r, ckpt: ck, stop: make(chan struct{}), done: make(chan struct{}), path: path,
		restart: o.restart, raw: newRawPool(path, o.Readers, o.CacheKiB)}
	d.walPath = path + "-wal"
	if p, err := filepath.Abs(path); err == nil {
		if p, err := filepath.EvalSymlinks(p); err == nil {
			d.walPath = p + "-wal"
		}
	}
	go d.checkpoint(o.CheckpointEvery)
	return d, nil
}

// checkpoint copies the WAL into the database in the background. PASSIVE
// never blocks the writer or readers; the next write after a complete
// checkpoint restarts the WAL from its beginning, so it stays small.
func (d *DB) checkpoint(every time.Duration) {
	defer close(d.done)
	// Close waits for this goroutine: a round waiting for the writer's
	// connection ends with it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-d.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(min(every, restartEvery))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			long := d.WALBytes() >= d.restart
			if long || now.Sub(last) >= every {
				last = now
				d.checkpointOnce(ctx, long)
			}
		}
	}
}

// WALBytes is how far the WAL has been written since it last started
// again from its beginning (0 before the first write): under steady writes
// the checkpointer keeps it near 64 MiB.
func (d *DB) WALBytes() int64 { return walLength(d.walPath) }

// restartBytes is the default of a WAL's length past which the
// checkpointer makes the writer start it again from its beginning (16,384
// frames of 4 KiB pages: 64 MiB). Each start costs the writer one short
// checkpoint on its own connection (two fsyncs, ~0.5 ms), which the request
// that arrives then waits for: at one client and 8 MiB that was every
// ~140 sales, enough to be the p99 (BENCHMARKS.md, wave 12).
const restartBytes = 16384 * (4096 + 24)

// restartEvery is how often the checkpointer looks at the WAL's length.
const restartEvery = 100 * time.Millisecond

// checkpointOnce copies the WAL into the database, and when the WAL is
// long (at least d.restart bytes) has the writer start it again.
//
// The writer starts the WAL again from its beginning (so the file stops
// growing, and a commit writes over bytes the file already holds, which
// the disk flushes faster than an append: no change of the file's size to
// journal) only when every frame has been copied as it begins a
// transaction. A PASSIVE checkpoint on another connection under a steady
// stream of commits never gets there: the WAL grew without end, to 500 MB
// after 60,000 sales at 64 clients. So when the WAL is long, the
// checkpointer copies in passes until a pass is short, then runs one last
// PASSIVE checkpoint on the writer's own connection, between two of its
// transactions: it copies the frames of the last pass's time (a few
// commits'), and the writer's next transaction starts the WAL again
// (unless a reader that began before is still reading: then the next
// round, which comes while the WAL keeps growing).
func (d *DB) checkpointOnce(ctx context.Context, long bool) {
	for i := range 4 {
		start := time.Now()
		var busy, log, done int
		if err := d.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
			return
		}
		if i == 0 {
			// Not long, or nothing written since the last round (the
			// WAL starts again at the next write, whoever copies it).
			long = long || int64(log)*(4096+24) >= d.restart
			grew := log != d.ckptLog
			d.ckptLog = log
			if !long || !grew {
				return
			}
		}
		if time.Since(start) < 5*time.Millisecond {
			break
		}
	}
	_, _ = d.W.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
}

// maxReads bounds the statements a read connection keeps: a query text
// past it (only queries built from many filter combinations could get
// there) is prepared for each read.
const maxReads = 256

// Close stops the checkpointer and closes the readers and the writer (the
// last connection to close checkpoints the WAL fully).
func (d *DB) Close() error {
	d.stopOnce.Do(func() { close(d.stop) })
	<-d.done
	d.raw.close()
	cerr := d.ckpt.Close()
	rerr := d.R.Close()
	d.closeWriter()
	werr := d.W.Close()
	d.walMu.Lock()
	if d.wal != nil {
		d.wal.Close()
		d.wal = nil
	}
	d.walMu.Unlock()
	return errors.Join(werr, rerr, cerr)
}

func dsn(path string, sync Sync, cacheKiB int, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous("+string(sync)+")")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
	}
	if walReady {
		q.Set("vfs", walVFSName)
	}
	return "file:" + path + "?" + q.Encode()
}

// Path is the database file's path.
func (d *DB) Path() string { return d.path }

// SetWriterSync sets the writer connection's synchronous setting. With
// SyncNormal a commit on W no longer fsyncs the WAL: whoever acknowledges
// it must call SyncWAL first (Durable does so for writes made outside a
// pipelined writer). Checkpoints keep syncing the WAL before they copy it,
// in either mode. Should W's connection ever be reopened, it opens with
// Options.Sync again: the safe direction.
func (d *DB) SetWriterSync(ctx context.Context, s Sync) error {
	if _, err := d.W.ExecContext(ctx, "PRAGMA synchronous = "+string(s)); err != nil {
		return fmt.Errorf("set synchronous %s: %w", s, err)
	}
	d.normal.Store(s == SyncNormal)
	return nil
}

// SyncWAL fsyncs the WAL file, making every commit on W that ended before
// it was called durable. On Linux an fsync through any descriptor of a file
// flushes all of its dirty pages, so it keeps its own descriptor, opened
// again when the file at the path is not the one it holds (SQLite deletes
// the WAL when the last connection closes). No WAL file: nothing to sync.
func (d *DB) SyncWAL() error {
	d.walMu.Lock()
	defer d.walMu.Unlock()
	fi, err := os.Stat(d.path + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync wal: %w", err)
	}
	if d.wal == nil || !os.SameFile(fi, d.walInfo) {
		if d.wal != nil {
			d.wal.Close()
			d.wal = nil
		}
		f, err := os.Open(d.path + "-wal")
		if err != nil {
			return fmt.Errorf("sync wal: %w", err)
		}
		d.wal, d.walInfo = f, fi
	}
	if err := Fdatasync(d.wal); err != nil {
		return fmt.Errorf("sync wal: %w", err)
	}
	return nil
}

// Durable makes the commits made on W so far durable: a no-op while W
// commits with FULL (each commit fsynced itself), SyncWAL while it commits
// with NORMAL. Writes on W made outside a pipelined writer call it before
// they return.
func (d *DB) Durable() error {
	if !d.normal.Load() {
		return nil
	}
	return d.SyncWAL()
}
