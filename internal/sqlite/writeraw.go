package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer's hot statements do not go through database/sql either. A
// site's group commit runs a dozen statements per sale, and database/sql
// spent more on each than SQLite did on small ones: it converts every
// argument into a []driver.NamedValue (a third of the bytes a sale
// allocated), takes the statement's and the connection's locks, and binds
// the statement to the transaction once per batch; the driver then copies
// each argument into C memory of its own. Under 64 clients the single
// writer goroutine is what limits the site, so its CPU is the site's
// throughput.
//
// DB.Write runs a function on the writer's own connection (W's only one,
// so every other use of W waits for it, as it would for a transaction),
// driven through SQLite's C API with the handle the driver opened: the
// same connection, the same pragmas, the same WAL. Statements (Statement)
// are prepared on it the first time they run and kept; arguments are bound
// from Go values without allocating, as the reads' are (rawread.go), and
// answers are read with the reads' Rows and Row.
//
// The handle is read out of the driver's connection (modernc.org/sqlite's
// conn keeps it in its fields db and tls). The fields are found by name and
// type once; if a later version of the driver renames them, Write fails
// with an error that says so, and the test TestWrite_* fails, before
// anything is written.

// Statement is a statement the writer runs again and again: prepared on the
// writer's connection when a Write first runs it, and kept there until the
// DB closes. Only the goroutine inside Write may use it.
type Statement struct {
	query string
	db    uintptr // the connection st is prepared on, 0 if none
	st    rawStmt
}

// NewStatement is the statement of query (one SQL statement).
func NewStatement(query string) *Statement { return &Statement{query: query} }

// Query is the statement's SQL text.
func (s *Statement) Query() string { return s.query }

// WConn is the writer's connection for the length of one DB.Write call.
type WConn struct {
	c    rawConn      // tls and db are the driver connection's, borrowed for the call
	kept []*Statement // prepared on c.db
	bg   context.Context
}

// Result is the result of WConn.Exec (it satisfies sql.Result).
type Result struct{ lastID, changes int64 }

// LastInsertId is the rowid of the last row the connection inserted.
func (r Result) LastInsertId() (int64, error) { return r.lastID, nil }

// RowsAffected is how many rows the statement changed.
func (r Result) RowsAffected() (int64, error) { return r.changes, nil }

// driverFields are the offsets of modernc.org/sqlite's conn fields db
// (uintptr) and tls (*libc.TLS), found once per driver type.
type driverFields struct {
	typ     reflect.Type
	db, tls uintptr
	err     error
}

var driverLayout sync.Map // reflect.Type → *driverFields

func fieldsOf(t reflect.Type) *driverFields {
	if f, ok := driverLayout.Load(t); ok {
		return f.(*driverFields)
	}
	f := &driverFields{typ: t}
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		f.err = fmt.Errorf("sqlite: the driver's connection is a %s, not a pointer to a struct", t)
	} else {
		db, okDB := t.Elem().FieldByName("db")
		tls, okTLS := t.Elem().FieldByName("tls")
		switch {
		case !okDB || db.Type.Kind() != reflect.Uintptr || len(db.Index) != 1:
			f.err = fmt.Errorf("sqlite: the driver's connection %s has no field db uintptr (a new version of modernc.org/sqlite?)", t)
		case !okTLS || tls.Type != reflect.TypeFor[*libc.TLS]() || len(tls.Index) != 1:
			f.err = fmt.Errorf("sqlite: the driver's connection %s has no field tls *libc.TLS (a new version of modernc.org/sqlite?)", t)
		default:
			f.db, f.tls = db.Offset, tls.Offset
		}
	}
	driverLayout.Store(t, f)
	return f
}

// Write runs fn on the writer's connection through SQLite's C API. Nothing
// else uses W until fn returns. fn must leave no transaction open: Write
// rolls back one it finds (and fails if fn did not).
func (d *DB) Write(ctx context.Context, fn func(*WConn) error) error {
	conn, err := d.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, err := d.wconn(dc)
		if err != nil {
			return err
		}
		ferr := fn(c)
		if sqlite3.Xsqlite3_get_autocommit(c.c.tls, c.c.db) == 0 {
			rerr := c.exec0("ROLLBACK")
			if ferr == nil {
				ferr = errors.Join(errors.New("sqlite: Write left a transaction open; rolled back"), rerr)
			}
		}
		return ferr
	})
}

// wconn is the WConn over the driver connection dc.
func (d *DB) wconn(dc any) (*WConn, error) {
	f := fieldsOf(reflect.TypeOf(dc))
	if f.err != nil {
		return nil, f.err
	}
	p := reflect.ValueOf(dc).UnsafePointer()
	db := *(*uintptr)(unsafe.Add(p, f.db))
	tls := *(**libc.TLS)(unsafe.Add(p, f.tls))
	if db == 0 || tls == nil {
		return nil, errors.New("sqlite: the writer's connection is closed")
	}
	w := d.wc
	if w == nil {
		w = &WConn{bg: context.Background(), c: rawConn{stmts: map[string]rawStmt{}}}
		w.c.out = libc.Xmalloc(tls, 16)
		w.c.bufN = 256
		w.c.buf = libc.Xmalloc(tls, types.Size_t(w.c.bufN))
		if w.c.out == 0 || w.c.buf == 0 {
			libc.Xfree(tls, w.c.out)
			libc.Xfree(tls, w.c.buf)
			return nil, errors.New("sqlite: out of memory")
		}
		d.wc = w
	}
	if w.c.db != db {
		// The driver opened the connection again: the statements kept
		// belong to the old one, which SQLite keeps (closed, as a
		// zombie) until they are finalized.
		w.c.tls = tls
		w.forget()
	}
	w.c.db, w.c.tls = db, tls
	return w, nil
}

// forget finalizes every kept statement.
func (c *WConn) forget() {
	for _, s := range c.kept {
		if s.db != 0 {
			sqlite3.Xsqlite3_finalize(c.c.tls, s.st.p)
		}
		s.db, s.st = 0, rawStmt{}
	}
	c.kept = c.kept[:0]
	clear(c.c.stmts)
}

// Finalize drops the prepared statements of stmts from the connection (a
// later Write that runs one prepares it again).
func (c *WConn) Finalize(stmts ...*Statement) {
	drop := map[*Statement]bool{}
	for _, s := range stmts {
		if s.db == c.c.db && s.db != 0 {
			drop[s] = true
			sqlite3.Xsqlite3_finalize(c.c.tls, s.st.p)
		}
		s.db, s.st = 0, rawStmt{}
	}
	c.kept = slices.DeleteFunc(c.kept, func(s *Statement) bool { return drop[s] })
}

// closeWriter finalizes the writer's statements so that W's connection
// can close, and frees the WConn's memory.
func (d *DB) closeWriter() {
	if d.wc == nil {
		return
	}
	conn, err := d.W.Conn(context.Background())
	if err == nil {
		_ = conn.Raw(func(dc any) error {
			if _, err := d.wconn(dc); err == nil {
				d.wc.forget()
			}
			return nil
		})
		conn.Close()
	}
	tls := libc.NewTLS()
	libc.Xfree(tls, d.wc.c.out)
	libc.Xfree(tls, d.wc.c.buf)
	tls.Close()
	d.wc = nil
}

// stmt is s prepared on the connection.
func (c *WConn) stmt(s *Statement) (rawStmt, error) {
	if s.db == c.c.db && s.db != 0 {
		return s.st, nil
	}
	st, err := c.c.prepareWrite(s.query)
	if err != nil {
		return rawStmt{}, err
	}
	s.db, s.st = c.c.db, st
	c.kept = append(c.kept, s)
	return st, nil
}

// Exec runs s with args and resets it.
func (c *WConn) Exec(s *Statement, args ...any) (Result, error) {
	st, err := c.stmt(s)
	if err != nil {
		return Result{}, err
	}
	if err := c.c.bind(st, args); err != nil {
		return Result{}, err
	}
	return c.step(st)
}

// step runs st, bound, to its end and resets it.
func (c *WConn) step(st rawStmt) (Result, error) {
	rc := sqlite3.Xsqlite3_step(c.c.tls, st.p)
	for rc == sqlite3.SQLITE_ROW { // a RETURNING clause, say: run it to its end
		rc = sqlite3.Xsqlite3_step(c.c.tls, st.p)
	}
	if rc != sqlite3.SQLITE_DONE {
		err := c.c.error(rc)
		sqlite3.Xsqlite3_reset(c.c.tls, st.p)
		return Result{}, err
	}
	r := Result{lastID: sqlite3.Xsqlite3_last_insert_rowid(c.c.tls, c.c.db), changes: sqlite3.Xsqlite3_changes64(c.c.tls, c.c.db)}
	sqlite3.Xsqlite3_reset(c.c.tls, st.p)
	return r, nil
}

// Query runs s with args; the caller reads the rows to their end or
// closes them before the Write returns.
func (c *WConn) Query(s *Statement, args ...any) (*Rows, error) {
	st, err := c.stmt(s)
	if err != nil {
		return nil, err
	}
	r := &Rows{c: &c.c, st: st, kept: true, ctx: c.bg}
	if err := c.c.bind(st, args); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

// Arg is an argument of ExecArgs: an integer or a text, held without the
// interface (and the allocation) an argument of Exec takes.
type Arg struct {
	s    string
	i    int64
	text bool
}

// Int is an integer argument.
func Int(v int64) Arg { return Arg{i: v} }

// Text is a text argument.
func Text(v string) Arg { return Arg{s: v, text: true} }

// ExecArgs is Exec with typed arguments.
func (c *WConn) ExecArgs(s *Statement, args []Arg) (Result, error) {
	st, err := c.stmt(s)
	if err != nil {
		return Result{}, err
	}
	if len(args) != st.params {
		return Result{}, fmt.Errorf("sql: expected %d arguments, got %d", st.params, len(args))
	}
	for i, a := range args {
		if a.text {
			if err := c.c.bindText(st.p, int32(i+1), a.s); err != nil {
				return Result{}, err
			}
		} else if rc := sqlite3.Xsqlite3_bind_int64(c.c.tls, st.p, int32(i+1), a.i); rc != sqlite3.SQLITE_OK {
			return Result{}, c.c.error(rc)
		}
	}
	return c.step(st)
}

// QueryRow is Query for at most one row; errors surface from Scan.
func (c *WConn) QueryRow(s *Statement, args ...any) *Row {
	rows, err := c.Query(s, args...)
	return &Row{rows: rows, err: err}
}

// ErrRow is a Row whose Scan fails with err.
func ErrRow(err error) *Row { return &Row{err: err} }

// Begin starts an immediate transaction: it takes the write lock at once.
func (c *WConn) Begin() error { return c.exec0("BEGIN IMMEDIATE") }

// Commit commits the transaction.
func (c *WConn) Commit() error { return c.exec0("COMMIT") }

// Rollback rolls the transaction back, if one is open.
func (c *WConn) Rollback() error {
	if sqlite3.Xsqlite3_get_autocommit(c.c.tls, c.c.db) != 0 {
		return nil
	}
	return c.exec0("ROLLBACK")
}

// exec0 runs a statement without arguments, kept on the connection.
func (c *WConn) exec0(q string) error {
	st, ok := c.c.stmts[q]
	if !ok || st.p == 0 {
		var err error
		if st, err = c.c.prepareWrite(q); err != nil {
			return err
		}
		c.c.stmts[q] = st
		c.kept = append(c.kept, &Statement{query: q, db: c.c.db, st: st})
	}
	rc := sqlite3.Xsqlite3_step(c.c.tls, st.p)
	var err error
	if rc != sqlite3.SQLITE_DONE {
		err = fmt.Errorf("%s: %w", q, c.c.error(rc))
	}
	sqlite3.Xsqlite3_reset(c.c.tls, st.p)
	return err
}

// prepareWrite prepares query (one statement) to be kept.
func (c *rawConn) prepareWrite(query string) (rawStmt, error) {
	n := len(query)
	if err := c.grow(n + 1); err != nil {
		return rawStmt{}, err
	}
	copy(unsafe.Slice((*byte)(cMem(c.buf)), n), query)
	pp, tail := c.out, c.out+8
	*(*uintptr)(cMem(pp)) = 0
	rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, c.buf, int32(n), sqlite3.SQLITE_PREPARE_PERSISTENT, pp, tail)
	p := *(*uintptr)(cMem(pp))
	if rc != sqlite3.SQLITE_OK {
		return rawStmt{}, fmt.Errorf("prepare %q: %w", query[:min(n, 60)], c.error(rc))
	}
	if p == 0 {
		return rawStmt{}, fmt.Errorf("sqlite: query has no statement: %q", query)
	}
	if rest := strings.TrimLeft(query[*(*uintptr)(cMem(tail))-c.buf:], " \t\r\n;"); rest != "" {
		sqlite3.Xsqlite3_finalize(c.tls, p)
		return rawStmt{}, fmt.Errorf("sqlite: a statement is one statement; more follows: %q", rest)
	}
	return rawStmt{p: p, cols: int(sqlite3.Xsqlite3_column_count(c.tls, p)), params: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, p))}, nil
}
