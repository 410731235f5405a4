// Package backup keeps local copies of a site's database: consistent
// snapshots taken while the edge runs (SQLite's VACUUM INTO, which reads one
// transaction's view and never blocks the writer), written to a temporary
// file, fsynced and renamed into place, so a kill at any moment leaves
// either the previous generation or the new one, never a torn file. Restore
// puts a backup back in place of the database while the edge is stopped;
// BeforeMigrate keeps a copy of a database a newer binary is about to
// migrate.
//
// A local backup holds what central may not have yet: the facts in the
// outbox that the link never carried. Restored, the site resends them from
// central's watermark and central ignores the ones it already holds.
package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/dirlock"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/migrations"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DBFile is the site database's name in its data directory (store.DBFile;
// not imported so that this package stays below the store).
const DBFile = "site.db"

// Generation files are named Prefix + UTC time + Suffix, so that their
// names sort by age.
const (
	Prefix = "site-"
	Suffix = ".db"
	// timeLayout sorts as it reads and holds no ':' (not allowed in file
	// names everywhere).
	timeLayout = "20060102T150405.000Z"
)

// ErrCorrupt is wrapped by Verify and Restore for a file that is not an
// intact site database.
var ErrCorrupt = errors.New("not an intact site database")

// To writes a consistent copy of the database db reads to path: VACUUM
// INTO a temporary file beside path, fsync, rename, fsync the directory.
// An existing path is replaced only once the new copy is complete.
func To(ctx context.Context, db *sql.DB, path string) error { return to(ctx, db, path, "") }

// to is To; when live names the database db reads, its WAL is flushed
// after the snapshot and before the copy is complete. A running edge
// commits with synchronous=NORMAL and flushes its WAL on another goroutine
// (pipelined fsync), so a snapshot may hold commits not yet on disk: were
// the power to go, the site would lose them and reuse their outbox
// sequences, and a restore of this copy would then hold two events under
// one sequence. Flushing the WAL first makes every commit in the copy
// durable in the site's own database.
func to(ctx context.Context, db *sql.DB, path, live string) error {
	dir := filepath.Dir(path)
	tmp := filepath.Join(dir, "."+filepath.Base(path)+".tmp")
	// Left by a process killed mid-backup: VACUUM INTO keeps a rollback
	// journal beside its output, which must not be replayed into a new one.
	removeTmp(tmp)
	// VACUUM INTO wants a new (or empty) file; creating it first gives it
	// mode 0600 instead of the umask's.
	if err := secfile.Create(tmp); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		removeTmp(tmp)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if live != "" {
		if err := syncFile(live + "-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			removeTmp(tmp)
			return fmt.Errorf("backup to %s: flush the site's WAL: %w", path, err)
		}
	}
	if err := syncFile(tmp); err != nil {
		removeTmp(tmp)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		removeTmp(tmp)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := syncFile(dir); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

func removeTmp(tmp string) {
	_ = os.Remove(tmp)
	_ = os.Remove(tmp + "-journal")
}

// File writes a consistent copy of the site database in dir to out, while
// an edge may be running on it (a WAL reader never blocks the writer).
func File(ctx context.Context, dir, out string) error {
	src := filepath.Join(dir, DBFile)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(src, false))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	return to(ctx, db, out, src)
}

// Config configures a Runner.
type Config struct {
	// Dir receives the generations (created, 0700): another disk, ideally.
	Dir string
	// Every is the time between backups.
	Every time.Duration
	// Keep is how many generations are kept (older ones are deleted).
	Keep int
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger zerolog.Logger
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("backup dir: required")
	case c.Every <= 0:
		return errors.New("backup every: must be positive")
	case c.Keep < 1:
		return errors.New("backup keep: keep at least one generation")
	}
	return nil
}

// Runner takes a backup generation every Config.Every.
type Runner struct {
	db   *sql.DB
	live string // the site database's path
	cfg  Config
	log  zerolog.Logger
}

// NewRunner validates cfg, creates cfg.Dir and returns a runner that backs
// up the site database in dir over a connection of its own (a backup holds
// its read transaction for as long as it takes, and should not hold one of
// the API's readers). Run closes it.
func NewRunner(dir string, cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := secfile.MkdirAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("backup dir: %w", err)
	}
	// Temporary files of backups killed mid-way are of no use.
	if tmps, err := filepath.Glob(filepath.Join(cfg.Dir, "."+Prefix+"*"+Suffix+".tmp*")); err == nil {
		for _, f := range tmps {
			_ = os.Remove(f)
		}
	}
	live := filepath.Join(dir, DBFile)
	db, err := sql.Open("sqlite", dsn(live, false))
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	db.SetMaxOpenConns(1)
	return &Runner{db: db, live: live, cfg: cfg, log: cfg.Logger.With().Str("component", "backup").Logger()}, nil
}

// Run takes a generation now and then every Config.Every until ctx ends,
// then closes the runner. A failed backup is logged and retried at the next
// tick: the site keeps selling whatever happens to its backup disk.
func (r *Runner) Run(ctx context.Context) error {
	defer r.db.Close()
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		if path, err := r.Backup(ctx); err != nil && ctx.Err() == nil {
			r.log.Error().Err(err).Msg("backup failed")
		} else if err == nil {
			r.log.Debug().Str("file", path).Msg("backup written")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Backup writes one generation and deletes those beyond Keep. It returns
// the new file's path.
func (r *Runner) Backup(ctx context.Context) (string, error) {
	path := filepath.Join(r.cfg.Dir, Prefix+r.cfg.Now().UTC().Format(timeLayout)+Suffix)
	if err := to(ctx, r.db, path, r.live); err != nil {
		return "", err
	}
	gens, err := Generations(r.cfg.Dir)
	if err != nil {
		return path, err
	}
	for len(gens) > r.cfg.Keep {
		if err := os.Remove(gens[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return path, fmt.Errorf("prune backups: %w", err)
		}
		gens = gens[1:]
	}
	return path, nil
}

// Generations lists the complete backups in dir, oldest first (a
// temporary file of a backup in progress, or killed, is not one).
func Generations(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []string
	for _, e := range es {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, Prefix) && strings.HasSuffix(n, Suffix) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}

// Taken returns when the generation at path was taken (the time in its
// name: the backup's view of the database is from that moment or later).
func Taken(path string) (time.Time, error) {
	n := filepath.Base(path)
	if !strings.HasPrefix(n, Prefix) || !strings.HasSuffix(n, Suffix) {
		return time.Time{}, fmt.Errorf("%s: not a backup generation", path)
	}
	t, err := time.Parse(timeLayout, strings.TrimSuffix(strings.TrimPrefix(n, Prefix), Suffix))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: not a backup generation: %w", path, err)
	}
	return t, nil
}

// Verify checks that path is an intact site database (PRAGMA
// integrity_check, a site row) and returns its site id. It returns an error
// wrapping ErrCorrupt when it is not.
func Verify(ctx context.Context, path string) (site string, err error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("verify backup: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return "", fmt.Errorf("verify %s: %w: %w", path, ErrCorrupt, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return "", fmt.Errorf("verify %s: %w", path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return "", fmt.Errorf("verify %s: %w: %w", path, ErrCorrupt, err)
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("verify %s: %w: %s", path, ErrCorrupt, strings.Join(problems, "; "))
	}
	if err := db.QueryRowContext(ctx, `SELECT site_id FROM site WHERE id = 1`).Scan(&site); err != nil {
		return "", fmt.Errorf("verify %s: %w: no site: %w", path, ErrCorrupt, err)
	}
	return site, nil
}

// Restore puts the backup from in place of the site database in dir. It
// refuses while a process holds dir (dirlock.ErrLocked: stop the edge
// first), refuses a backup that fails Verify or holds another site than
// dir's, and keeps the database it replaces (with its WAL) as
// site.db.replaced-<time> in dir, whose path it returns ("" when dir held
// no database).
func Restore(ctx context.Context, dir, from string, now time.Time) (aside string, err error) {
	lock, err := dirlock.Acquire(dir)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer lock.Release()
	site, err := Verify(ctx, from)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	cur := filepath.Join(dir, DBFile)
	if _, err := os.Stat(cur); err == nil {
		if curSite, err := siteOf(ctx, cur); err == nil && curSite != site {
			return "", fmt.Errorf("restore: %s holds site %q, the backup site %q: restore it into its own directory", dir, curSite, site)
		}
	}
	tmp := filepath.Join(dir, "."+DBFile+".restore.tmp")
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("restore: %w", err)
	}
	if _, err := os.Stat(cur); err == nil {
		aside = cur + ".replaced-" + now.UTC().Format(timeLayout)
		// The intake log (--fsync=log) belongs to the replaced database:
		// run on the restored one, it would record sales it never had.
		for _, ext := range []string{"", "-wal", "-shm", "-intake"} {
			if err := os.Rename(cur+ext, aside+ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
				os.Remove(tmp)
				return "", fmt.Errorf("restore: keep the replaced database: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, cur); err != nil {
		return aside, fmt.Errorf("restore: %w", err)
	}
	if err := syncFile(dir); err != nil {
		return aside, fmt.Errorf("restore: %w", err)
	}
	return aside, nil
}

// PreMigrateName is the file BeforeMigrate writes before migrating a
// database to schema version v.
func PreMigrateName(v int) string { return fmt.Sprintf("%s.pre-%04d.bak", DBFile, v) }

// BeforeMigrate keeps a copy of the site database in dir before this binary
// migrates it: when its schema version is older than schema's newest, it
// writes PreMigrateName(newest) into outDir (dir when ""), unless that file
// exists (a migration that failed or was killed after the copy: the copy is
// of the same version). It returns the path written, or "" when the
// database is current, new or absent. The caller holds dir's lock.
func BeforeMigrate(ctx context.Context, dir string, schema fs.FS, outDir string) (string, error) {
	path := filepath.Join(dir, DBFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	ms, err := migrations.Load(schema)
	if err != nil || len(ms) == 0 {
		return "", err
	}
	newest := ms[len(ms)-1].Version
	// The header's hint is at most the real version: at newest, nothing
	// to migrate, without opening the database and parsing its schema.
	if hv, err := migrations.HeaderVersion(path); err == nil && hv >= newest {
		return "", nil
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return "", fmt.Errorf("backup before migrating: %w", err)
	}
	defer db.Close()
	var n, current int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return "", fmt.Errorf("backup before migrating: read schema version: %w", err)
	}
	if n == 0 {
		return "", nil // an empty database: nothing to keep
	}
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return "", fmt.Errorf("backup before migrating: read schema version: %w", err)
	}
	if current == 0 || current >= newest {
		return "", nil
	}
	if outDir == "" {
		outDir = dir
	}
	if _, err := secfile.MkdirAll(outDir); err != nil {
		return "", fmt.Errorf("backup before migrating: %w", err)
	}
	out := filepath.Join(outDir, PreMigrateName(newest))
	if _, err := os.Stat(out); err == nil {
		return "", nil
	}
	if err := To(ctx, db, out); err != nil {
		return "", fmt.Errorf("backup before migrating from schema %d to %d: %w", current, newest, err)
	}
	return out, nil
}

func siteOf(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return "", err
	}
	defer db.Close()
	var site string
	err = db.QueryRowContext(ctx, `SELECT site_id FROM site WHERE id = 1`).Scan(&site)
	return site, err
}

// dsn opens path for a backup or a check: never creating it, waiting on a
// busy writer.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		q.Add("mode", "ro")
	}
	return "file:" + path + "?" + q.Encode()
}

// copyFile copies src to dst (0600) and fsyncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, secfile.FileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncFile fsyncs a file or a directory (a rename is durable once its
// directory is synced).
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
