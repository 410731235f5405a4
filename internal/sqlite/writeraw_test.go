package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

var writeSchema = fstest.MapFS{
	"0001_kinds.sql": {Data: []byte(`CREATE TABLE kinds (id INTEGER PRIMARY KEY, v);
CREATE TABLE uniq (k TEXT PRIMARY KEY, n INTEGER NOT NULL);`)},
}

func openWrite(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := Open(context.Background(), path, writeSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// Write binds every kind of argument as database/sql's Exec does: the same
// stored type and value, and an error where it errs.
func TestWrite_BindsAsDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	db, _ := openWrite(t)
	s, empty := "text", ""
	args := []any{
		int64(-7), int(300), int32(math.MaxInt32), uint64(math.MaxInt64), uint32(7), uint64(math.MaxUint64),
		float64(2.5), true, false, "", "é", []byte{}, []byte(nil), []byte{0, 255}, nil,
		namedString("named"), namedInt(-3), time.Date(2026, 12, 3, 4, 5, 6, 7, time.UTC),
		json.RawMessage(`{"a":1}`), (*string)(nil), &s, &empty,
		sql.NullString{String: "ns", Valid: true}, sql.NullInt64{}, struct{ A int }{1},
	}
	ins := NewStatement(`INSERT INTO kinds (id, v) VALUES (?, ?)`)
	for i, a := range args {
		name := fmt.Sprintf("%T %v", a, a)
		_, werr := db.W.ExecContext(ctx, `INSERT INTO kinds (id, v) VALUES (?, ?)`, 2*i, a)
		gerr := db.Write(ctx, func(c *WConn) error {
			_, err := c.Exec(ins, 2*i+1, a)
			return err
		})
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%s: database/sql: %v; Write: %v", name, werr, gerr)
			continue
		}
		if werr != nil {
			continue
		}
		var want, got string
		q := `SELECT typeof(v) || ' ' || quote(v) FROM kinds WHERE id = ?`
		if err := db.QueryRow(ctx, q, 2*i).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, q, 2*i+1).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want != got {
			t.Errorf("%s: database/sql stored %s, Write %s", name, want, got)
		}
	}
}

// A transaction on the writer's connection commits, rolls back, answers
// RETURNING and reads its own writes; a constraint fails with SQLite's code;
// statements are kept from one Write to the next; and a Write that leaves
// its transaction open fails and rolls it back.
func TestWrite_Transactions(t *testing.T) {
	ctx := context.Background()
	db, _ := openWrite(t)
	ins := NewStatement(`INSERT INTO uniq (k, n) VALUES (?, ?)`)
	ret := NewStatement(`INSERT INTO uniq (k, n) VALUES (?, ?) RETURNING rowid, n * 2`)
	sum := NewStatement(`SELECT k, n FROM uniq ORDER BY k`)
	count := func() (n int) {
		t.Helper()
		if err := db.QueryRow(ctx, `SELECT count(*) FROM uniq`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	err := db.Write(ctx, func(c *WConn) error {
		if err := c.Begin(); err != nil {
			return err
		}
		r, err := c.Exec(ins, "a", 1)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			t.Errorf("RowsAffected = %d, want 1", n)
		}
		if id, _ := r.LastInsertId(); id != 1 {
			t.Errorf("LastInsertId = %d, want 1", id)
		}
		var id, twice int64
		if err := c.QueryRow(ret, "b", 21).Scan(&id, &twice); err != nil {
			return err
		}
		if id != 2 || twice != 42 {
			t.Errorf("RETURNING = %d, %d; want 2, 42", id, twice)
		}
		rows, err := c.Query(sum)
		if err != nil {
			return err
		}
		var got []string
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			got = append(got, fmt.Sprint(k, n))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if strings.Join(got, ",") != "a1,b21" {
			t.Errorf("read in the transaction: %v, want a1,b21", got)
		}
		return c.Commit()
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after commit: %d rows, want 2", n)
	}
	kept := ins.st.p

	err = db.Write(ctx, func(c *WConn) error {
		if err := c.Begin(); err != nil {
			return err
		}
		if _, err := c.Exec(ins, "c", 3); err != nil {
			return err
		}
		_, err := c.Exec(ins, "a", 4) // the key is taken
		if rerr := c.Rollback(); rerr != nil {
			return rerr
		}
		return err
	})
	var se *Error
	if !errors.As(err, &se) || se.Code != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		t.Fatalf("duplicate key: %v, want SQLITE_CONSTRAINT_PRIMARYKEY", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after rollback: %d rows, want 2", n)
	}
	if ins.st.p != kept {
		t.Errorf("the statement was prepared again")
	}

	err = db.Write(ctx, func(c *WConn) error {
		if err := c.Begin(); err != nil {
			return err
		}
		_, err := c.Exec(ins, "d", 5)
		return err // no commit
	})
	if err == nil || !strings.Contains(err.Error(), "left a transaction open") {
		t.Fatalf("open transaction: %v", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after an open transaction: %d rows, want 2", n)
	}
	// Typed arguments store what Exec's would.
	err = db.Write(ctx, func(c *WConn) error {
		if _, err := c.ExecArgs(ins, []Arg{Text("g"), Int(-7)}); err != nil {
			return err
		}
		if _, err := c.ExecArgs(ins, []Arg{Text("h")}); err == nil || !strings.Contains(err.Error(), "expected 2 arguments") {
			t.Errorf("ExecArgs with one argument for two: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var typ string
	var n int64
	if err := db.QueryRow(ctx, `SELECT typeof(k) || typeof(n), n FROM uniq WHERE k = 'g'`).Scan(&typ, &n); err != nil || typ != "textinteger" || n != -7 {
		t.Errorf("ExecArgs stored %q %d (%v), want textinteger -7", typ, n, err)
	}
	// W is usable after all of it, through database/sql.
	if _, err := db.W.ExecContext(ctx, `INSERT INTO uniq (k, n) VALUES ('e', 6)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(c *WConn) error {
		_, err := c.Exec(NewStatement(`INSERT INTO uniq (k, n) VALUES (?, ?)`), "f")
		return err
	}); err == nil || !strings.Contains(err.Error(), "expected 2 arguments") {
		t.Errorf("one argument for two: %v", err)
	}
}

// Close finalizes the statements Write kept, so the writer's connection
// really closes: as the last connection, it checkpoints the WAL and deletes
// it (a statement left unfinalized keeps it open, and the WAL stays).
func TestWrite_CloseFinalizes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := Open(ctx, path, writeSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ins := NewStatement(`INSERT INTO uniq (k, n) VALUES (?, ?)`)
	for i := range 3 {
		if err := db.Write(ctx, func(c *WConn) error {
			_, err := c.Exec(ins, fmt.Sprint(i), i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the WAL is still there after Close (%v): a connection stayed open", err)
	}
	db, err = Open(ctx, path, writeSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(ctx, `SELECT sum(n) FROM uniq`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("after reopen: sum %d, %v; want 3", n, err)
	}
}
