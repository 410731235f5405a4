// Package migrations embeds the SQL schemas of the edge and central stores and
// applies them in order, recording each applied file in schema_migrations.
//
// Files are named NNNN_name.sql. A file that has shipped is never edited: a
// change is a new file with the next number.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed edge central
var files embed.FS

// Edge holds the edge (site) migrations.
var Edge = mustSub("edge")

// Central holds the central read-model migrations.
var Central = mustSub("central")

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// ErrTooNew is returned by Apply when the database was migrated by a newer
// binary than this one.
var ErrTooNew = errors.New("database schema is newer than this binary")

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads and orders the migrations in fsys. It fails on a file whose name
// is not NNNN_name.sql and on duplicate version numbers.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Apply brings db up to the newest migration in fsys, each file in its own
// transaction. It returns ErrTooNew (wrapped, with both versions) when the
// database already has a version this binary does not know.
func Apply(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	ms, err := Load(fsys)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	if current > known {
		return fmt.Errorf("%w: the database is at version %d, this binary knows up to %d; run a newer vendsync", ErrTooNew, current, known)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if err := applyOne(ctx, db, m); err != nil {
			return err
		}
	}
	return markVersion(ctx, db, known)
}

// markVersion copies the schema version into the file header's
// user_version, where HeaderVersion reads it without opening the database.
// schema_migrations stays the record; the header is only a hint.
func markVersion(ctx context.Context, db *sql.DB, v int) error {
	var uv int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&uv); err != nil {
		return fmt.Errorf("read user_version: %w", err)
	}
	if uv == v {
		return nil
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		return fmt.Errorf("set user_version: %w", err)
	}
	return nil
}

// HeaderVersion reads the schema version Apply left in the SQLite file
// header at path (0: none, an older binary's file, or not SQLite). In WAL
// mode the file may lag the database, never lead it: a value read here is
// at most the database's version.
func HeaderVersion(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, nil // shorter than a header: not a database with a version
	}
	if string(h[:16]) != "SQLite format 3\x00" {
		return 0, nil
	}
	return int(binary.BigEndian.Uint32(h[60:64])), nil
}

func applyOne(ctx context.Context, db *sql.DB, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return nil
}
