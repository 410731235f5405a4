package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// Reads do not go through database/sql. A read of a few hundred rows spent
// more than half of its time around SQLite rather than in it: database/sql
// moves every column of every row through a driver.Value (an interface,
// one allocation per text and per integer past 255), converts it again in
// Scan, and takes its locks per row; the driver asks each column's type,
// checks its declared type, and allocates C memory for every argument.
// Measured on 500 rows of 19 columns, the same statement read the same
// way took 1.23 ms through database/sql and 0.50 ms here (BENCHMARKS.md).
//
// So DB.Query and DB.QueryRow run on a pool of read-only connections of
// their own, driven through SQLite's C API: a statement is prepared once
// per connection and query text and kept, arguments are bound from Go
// values without allocating, and Scan reads each column into its
// destination directly, with database/sql's conversion rules (the test
// TestScan_ConvertsAsDatabaseSQL holds every pair of column kind and
// destination type to database/sql's answer).
//
// A connection is used by one goroutine at a time: it is taken from the
// pool by Query and given back when its Rows close, as database/sql does.
// A context that ends stops the running statement (through a progress
// handler); Close waits for a stop under way and clears it, so a late one
// never reaches the connection's next read.

// rawPool holds the read connections.
type rawPool struct {
	path     string
	cacheKiB int
	slots    chan struct{} // one per connection in use; its capacity is the pool's size

	mu     sync.Mutex
	idle   []*rawConn
	closed bool
}

var errPoolClosed = errors.New("sqlite: database is closed")

func newRawPool(path string, size, cacheKiB int) *rawPool {
	return &rawPool{path: path, cacheKiB: cacheKiB, slots: make(chan struct{}, size)}
}

// get takes an idle connection, or opens one while the pool is not full,
// or waits for one.
func (p *rawPool) get(ctx context.Context) (*rawConn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := openRaw(p.path, p.cacheKiB)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// put gives c back (closing it when the pool has closed meanwhile).
func (p *rawPool) put(c *rawConn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
	} else {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
	}
	<-p.slots
}

// close closes the idle connections; those in use close when they come back.
func (p *rawPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// rawConn is one read-only connection and the statements it keeps.
type rawConn struct {
	tls   *libc.TLS
	db    uintptr
	out   uintptr // 16 bytes of C memory for out-parameters
	buf   uintptr // C memory an argument's text or bytes are copied to
	bufN  int
	stmts map[string]rawStmt
	// stopFlag, in C memory, is set when the context of the read under
	// way ends; progress reads it.
	stopFlag *int32
	flagMem  uintptr
	// texts are the columns' text caches (Rows.text), kept from read to
	// read; a read starts their counts again.
	texts []textCache
}

// progressOps is how many virtual machine steps a statement runs between
// two looks at its connection's stopFlag.
const progressOps = 1000

// progress is the connection's progress handler: a nonzero answer stops
// the statement with SQLITE_INTERRUPT. (sqlite3_interrupt would not do: an
// interrupt that lands before the statement's first step is forgotten
// when that step starts.)
func progress(_ *libc.TLS, flag uintptr) int32 { return atomic.LoadInt32((*int32)(cMem(flag))) }

// rawStmt is a prepared statement and its shape.
type rawStmt struct {
	p            uintptr
	cols, params int
}

// cVFS is the C name of the WAL VFS, or 0 for SQLite's default.
var cVFS = sync.OnceValue(func() uintptr {
	if !walReady {
		return 0
	}
	p, err := libc.CString(walVFSName)
	if err != nil {
		return 0
	}
	return p // for the process's life
})

func openRaw(path string, cacheKiB int) (*rawConn, error) {
	c := &rawConn{tls: libc.NewTLS(), stmts: map[string]rawStmt{}}
	c.out = libc.Xmalloc(c.tls, 16)
	c.flagMem = libc.Xcalloc(c.tls, 1, 4)
	c.bufN = 256
	c.buf = libc.Xmalloc(c.tls, types.Size_t(c.bufN))
	cpath, err := libc.CString(path)
	if c.out == 0 || c.buf == 0 || c.flagMem == 0 || err != nil {
		c.close()
		return nil, fmt.Errorf("open reader %s: out of memory", path)
	}
	rc := sqlite3.Xsqlite3_open_v2(c.tls, cpath, c.out, sqlite3.SQLITE_OPEN_READWRITE, cVFS())
	libc.Xfree(c.tls, cpath)
	c.db = *(*uintptr)(cMem(c.out))
	if rc != sqlite3.SQLITE_OK {
		err := c.error(rc)
		c.close()
		return nil, fmt.Errorf("open reader %s: %w", path, err)
	}
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 10000)
	c.stopFlag = (*int32)(cMem(c.flagMem))
	sqlite3.Xsqlite3_progress_handler(c.tls, c.db, progressOps, cFunc(progress), c.flagMem)
	for _, q := range []string{
		`PRAGMA query_only = ON`,
		fmt.Sprintf(`PRAGMA cache_size = -%d`, cacheKiB),
		`PRAGMA temp_store = MEMORY`,
	} {
		if err := c.exec(q); err != nil {
			c.close()
			return nil, fmt.Errorf("open reader %s: %w", path, err)
		}
	}
	return c, nil
}

func (c *rawConn) exec(q string) error {
	cq, err := libc.CString(q)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, cq)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, cq, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("%s: %w", q, c.error(rc))
	}
	return nil
}

func (c *rawConn) close() {
	for q, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st.p)
		delete(c.stmts, q)
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	libc.Xfree(c.tls, c.out)
	libc.Xfree(c.tls, c.buf)
	libc.Xfree(c.tls, c.flagMem)
	c.out, c.buf, c.flagMem, c.stopFlag = 0, 0, 0, nil
	c.tls.Close()
}

// Error is a failed read: SQLite's (extended) result code and message.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("sqlite: %s (%d)", e.Msg, e.Code) }

func (c *rawConn) error(rc int32) error {
	msg := "unknown error"
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
		rc = sqlite3.Xsqlite3_extended_errcode(c.tls, c.db)
	} else if p := sqlite3.Xsqlite3_errstr(c.tls, rc); p != 0 {
		msg = libc.GoString(p)
	}
	return &Error{Code: int(rc), Msg: msg}
}

// prepare returns the statement kept for query, preparing it the first
// time; past maxReads texts a statement is prepared for one read only
// (kept reports which).
func (c *rawConn) prepare(query string) (st rawStmt, kept bool, err error) {
	if st, ok := c.stmts[query]; ok {
		return st, true, nil
	}
	n := len(query)
	if err := c.grow(n + 1); err != nil {
		return st, false, err
	}
	copy(unsafe.Slice((*byte)(cMem(c.buf)), n), query)
	flags := uint32(0)
	if len(c.stmts) < maxReads {
		flags = sqlite3.SQLITE_PREPARE_PERSISTENT
	}
	pp, tail := c.out, c.out+8
	*(*uintptr)(cMem(pp)) = 0
	rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, c.buf, int32(n), flags, pp, tail)
	p := *(*uintptr)(cMem(pp))
	if rc != sqlite3.SQLITE_OK {
		return st, false, c.error(rc)
	}
	if p == 0 {
		return st, false, fmt.Errorf("sqlite: query has no statement: %q", query)
	}
	if rest := strings.TrimLeft(query[*(*uintptr)(cMem(tail))-c.buf:], " \t\r\n;"); rest != "" {
		sqlite3.Xsqlite3_finalize(c.tls, p)
		return st, false, fmt.Errorf("sqlite: a read is one statement; more follows: %q", rest)
	}
	st = rawStmt{p: p, cols: int(sqlite3.Xsqlite3_column_count(c.tls, p)), params: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, p))}
	if flags == 0 {
		return st, false, nil
	}
	c.stmts[query] = st
	return st, true, nil
}

// grow makes buf hold at least n bytes.
func (c *rawConn) grow(n int) error {
	if n <= c.bufN {
		return nil
	}
	size := max(n, 2*c.bufN)
	p := libc.Xrealloc(c.tls, c.buf, types.Size_t(size))
	if p == 0 {
		return errors.New("sqlite: out of memory")
	}
	c.buf, c.bufN = p, size
	return nil
}

// bind binds args to st's parameters, converting as database/sql's default
// converter does.
func (c *rawConn) bind(st rawStmt, args []any) error {
	if len(args) != st.params {
		return fmt.Errorf("sql: expected %d arguments, got %d", st.params, len(args))
	}
	for i, a := range args {
		if err := c.bindOne(st.p, int32(i+1), a, 0); err != nil {
			return fmt.Errorf("sql: converting argument $%d type: %w", i+1, err)
		}
	}
	return nil
}

func (c *rawConn) bindOne(p uintptr, i int32, a any, depth int) error {
	var rc int32
	switch v := a.(type) {
	case nil:
		rc = sqlite3.Xsqlite3_bind_null(c.tls, p, i)
	case int64:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, p, i, v)
	case int:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, p, i, int64(v))
	case int32:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, p, i, int64(v))
	case uint64:
		if v > math.MaxInt64 {
			return fmt.Errorf("uint64 values with high bit set are not supported")
		}
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, p, i, int64(v))
	case uint32:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, p, i, int64(v))
	case float64:
		rc = sqlite3.Xsqlite3_bind_double(c.tls, p, i, v)
	case bool:
		b := int32(0)
		if v {
			b = 1
		}
		rc = sqlite3.Xsqlite3_bind_int(c.tls, p, i, b)
	case string:
		return c.bindText(p, i, v)
	case []byte:
		if v == nil {
			rc = sqlite3.Xsqlite3_bind_null(c.tls, p, i)
			break
		}
		if err := c.grow(len(v) + 1); err != nil {
			return err
		}
		copy(unsafe.Slice((*byte)(cMem(c.buf)), len(v)), v)
		rc = sqlite3.Xsqlite3_bind_blob(c.tls, p, i, c.buf, int32(len(v)), sqlite3.SQLITE_TRANSIENT)
	case time.Time:
		return c.bindOne(p, i, v.String(), depth) // the driver's default
	case driver.Valuer:
		if depth > 4 {
			return fmt.Errorf("%T: Value nests too deep", a)
		}
		dv, err := callValuer(v)
		if err != nil {
			return err
		}
		return c.bindOne(p, i, dv, depth+1)
	default:
		dv, err := defaultValue(a)
		if err != nil {
			return err
		}
		return c.bindOne(p, i, dv, depth+1)
	}
	if rc != sqlite3.SQLITE_OK {
		return c.error(rc)
	}
	return nil
}

// bindText binds v to parameter i of p (SQLite copies it from buf).
func (c *rawConn) bindText(p uintptr, i int32, v string) error {
	if err := c.grow(len(v) + 1); err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(cMem(c.buf)), len(v)), v)
	if rc := sqlite3.Xsqlite3_bind_text(c.tls, p, i, c.buf, int32(len(v)), sqlite3.SQLITE_TRANSIENT); rc != sqlite3.SQLITE_OK {
		return c.error(rc)
	}
	return nil
}

// callValuer is database/sql's treatment of a driver.Valuer: a nil pointer
// is NULL.
func callValuer(v driver.Valuer) (driver.Value, error) {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, nil
	}
	return v.Value()
}

// defaultValue is database/sql's default conversion of an argument of
// another type: a pointer is followed, and a value of a basic kind (a named
// string type, say) becomes its basic value.
func defaultValue(a any) (driver.Value, error) {
	rv := reflect.ValueOf(a)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return rv.Elem().Interface(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("uint64 values with high bit set are not supported")
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return rv.Bytes(), nil
		}
	}
	return nil, fmt.Errorf("unsupported type %T, a %s", a, rv.Kind())
}

// Rows is the answer of Query: Next, Scan, Err and Close as database/sql's.
type Rows struct {
	pool  *rawPool // nil for the writer's rows
	c     *rawConn
	st    rawStmt
	kept  bool
	ctx   context.Context
	stop  func() bool   // stops the interrupt on ctx's end
	fired chan struct{} // closed once that interrupt is done
	onRow bool
	rows  int // rows Next has stepped to
	err   error
	texts []textCache // the connection's, once this read uses them (see text)
}

// Query runs a read on a connection of the read pool (see the top of
// rawread.go). The statement is prepared once per connection and text and
// kept (at most maxReads texts a connection). The caller must Close the
// rows, or read them to their end.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := d.raw.get(ctx)
	if err != nil {
		return nil, err
	}
	st, kept, err := c.prepare(query)
	if err != nil {
		d.raw.put(c)
		return nil, err
	}
	r := &Rows{pool: d.raw, c: c, st: st, kept: kept, ctx: ctx}
	if err := c.bind(st, args); err != nil {
		r.release()
		return nil, err
	}
	if ctx.Done() != nil {
		r.fired = make(chan struct{})
		flag, fired := c.stopFlag, r.fired
		r.stop = context.AfterFunc(ctx, func() {
			atomic.StoreInt32(flag, 1) // progress sees it within ~1,000 VM steps
			close(fired)
		})
	}
	return r, nil
}

// QueryRow is Query for at most one row; errors surface from Scan, and
// Scan answers sql.ErrNoRows when there is none.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *Row {
	rows, err := d.Query(ctx, query, args...)
	return &Row{rows: rows, err: err}
}

// Next steps to the next row; false at the end or on an error (Err).
func (r *Rows) Next() bool {
	if r.c == nil {
		return false
	}
	switch rc := sqlite3.Xsqlite3_step(r.c.tls, r.st.p); rc {
	case sqlite3.SQLITE_ROW:
		r.onRow = true
		r.rows++
		return true
	case sqlite3.SQLITE_DONE:
	default:
		r.err = r.c.error(rc)
		if err := r.ctx.Err(); err != nil && rc&0xff == sqlite3.SQLITE_INTERRUPT {
			r.err = err
		}
	}
	r.release()
	return false
}

// Err is the error that ended Next, if any.
func (r *Rows) Err() error { return r.err }

// Close ends the read and gives its connection back; it is safe to call
// twice.
func (r *Rows) Close() error {
	r.release()
	return nil
}

func (r *Rows) release() {
	c := r.c
	if c == nil {
		return
	}
	r.c, r.onRow = nil, false
	if r.stop != nil && !r.stop() {
		<-r.fired // the context ended: let its store land, then clear it
		atomic.StoreInt32(c.stopFlag, 0)
	}
	// The bindings stay until the next read binds anew: clearing them
	// would expire a statement whose plan looked at a bound value
	// (a partial index's term, say), and it would be prepared again.
	sqlite3.Xsqlite3_reset(c.tls, r.st.p)
	if !r.kept {
		sqlite3.Xsqlite3_finalize(c.tls, r.st.p)
	}
	if r.pool != nil { // nil: the writer's connection (writeraw.go)
		r.pool.put(c)
	}
}

// Scan copies the current row's columns into dest, converting as
// database/sql's Rows.Scan does.
func (r *Rows) Scan(dest ...any) error {
	if r.c == nil {
		if r.err != nil {
			return r.err
		}
		return errors.New("sql: Rows are closed")
	}
	if !r.onRow {
		return errors.New("sql: Scan called without calling Next")
	}
	if len(dest) != r.st.cols {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", r.st.cols, len(dest))
	}
	for i, d := range dest {
		if err := r.scanOne(int32(i), d); err != nil {
			name := libc.GoString(sqlite3.Xsqlite3_column_name(r.c.tls, r.st.p, int32(i)))
			return fmt.Errorf("sql: Scan error on column index %d, name %q: %w", i, name, err)
		}
	}
	return nil
}

// Columns are read through their sqlite3_value: one call that takes the
// connection's mutex per column, and then the value's type and content by
// calls that take none.

// text is the text of m, the value of column i, copied: or, when the
// column gave the same text in an earlier row, that row's string again.
//
// A list's text columns mostly repeat (its machines, products, types,
// statuses, who did it), and a new string per row and column was the
// largest part of what a long read allocated: the collector that garbage
// called for set the p99 of the edge's 500-row lists (BENCHMARKS.md, wave
// 13). Each column has a small direct-mapped cache of texts, which the
// connection keeps from read to read; a read uses it from its second row
// on (a one-row read pays nothing), and a column whose texts do not repeat
// (keys, times) stops looking after a few rows. Strings are immutable, so
// sharing one is invisible to callers.
func (r *Rows) text(i int32, m uintptr) string {
	p := sqlite3.Xsqlite3_value_text(r.c.tls, m)
	n := sqlite3.Xsqlite3_value_bytes(r.c.tls, m)
	if p == 0 || n == 0 {
		return ""
	}
	b := unsafe.Slice((*byte)(cMem(p)), n)
	if r.rows < 2 || n > maxCachedText {
		return string(b)
	}
	if r.texts == nil {
		c := r.c
		if len(c.texts) < r.st.cols {
			c.texts = append(c.texts, make([]textCache, r.st.cols-len(c.texts))...)
		}
		r.texts = c.texts[:r.st.cols]
		for j := range r.texts {
			r.texts[j].tries, r.texts[j].hits, r.texts[j].off = 0, 0, false
		}
	}
	return r.texts[i].get(b)
}

// maxCachedText is the longest text a column's cache keeps: longer ones
// are descriptions and details, which seldom repeat.
const maxCachedText = 48

// textCache is one column's texts (Rows.text).
type textCache struct {
	slot        [64]string
	tries, hits uint32
	off         bool
}

// get is b as a string, from the cache when it holds it.
func (c *textCache) get(b []byte) string {
	if c.off {
		return string(b)
	}
	// The slot: from the text's last eight bytes and its length (IDs and
	// names differ most at their ends), multiplied to spread them.
	var tail uint64
	for _, x := range b[max(0, len(b)-8):] {
		tail = tail<<8 | uint64(x)
	}
	h := (tail ^ uint64(len(b))) * 0x9e3779b97f4a7c15
	sl := &c.slot[h>>58] // the top 6 bits: 64 slots
	c.tries++
	if *sl == string(b) { // compares without converting
		c.hits++
		return *sl
	}
	if c.tries == 64 && c.hits < 16 {
		c.off = true // this column's texts do not repeat
	}
	s := string(b)
	*sl = s
	return s
}

// bytesView is the bytes of m, a text or blob value (t), in SQLite's
// memory: valid until the statement steps again. Empty is nil.
func (r *Rows) bytesView(m uintptr, t int32) []byte {
	var p uintptr
	if t == sqlite3.SQLITE_TEXT {
		p = sqlite3.Xsqlite3_value_text(r.c.tls, m)
	} else {
		p = sqlite3.Xsqlite3_value_blob(r.c.tls, m)
	}
	n := sqlite3.Xsqlite3_value_bytes(r.c.tls, m)
	if p == 0 || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(cMem(p)), n)
}

// emptyBytes is an empty value of type t scanned into a []byte, as
// database/sql has it: an empty slice for a text, nil for a blob.
func emptyBytes(t int32) []byte {
	if t == sqlite3.SQLITE_TEXT {
		return []byte{}
	}
	return nil
}

// AppendBytes is a Scan destination for a text or blob column: its bytes
// are appended to *Arena and *Dst is set to them (capped at their length,
// so that nothing appends over the next row's). A list's byte columns (an
// audit log's details) then share one array, which the caller can keep
// from read to read, instead of an array each. NULL sets *Dst to nil, an
// empty text to an empty slice and an empty blob to nil, as a *[]byte
// destination has them. When the arena grows, the bytes set before stay
// where they were: every *Dst stays valid.
type AppendBytes struct{ Arena, Dst *[]byte }

// blob is the bytes of m, copied (nil when empty, as the driver has it).
func (r *Rows) blob(m uintptr) []byte {
	if v := r.bytesView(m, sqlite3.SQLITE_BLOB); len(v) > 0 {
		return append([]byte(nil), v...)
	}
	return nil
}

// scanOne stores column i in d. The common pairs are served without
// building a value; the rest go through value and assign.
func (r *Rows) scanOne(i int32, d any) error {
	tls := r.c.tls
	m := sqlite3.Xsqlite3_column_value(tls, r.st.p, i)
	t := sqlite3.Xsqlite3_value_type(tls, m)
	switch d := d.(type) {
	case *int64:
		if t == sqlite3.SQLITE_INTEGER {
			*d = sqlite3.Xsqlite3_value_int64(tls, m)
			return nil
		}
	case *string:
		if t == sqlite3.SQLITE_TEXT {
			*d = r.text(i, m)
			return nil
		}
	case *sql.NullString:
		switch t {
		case sqlite3.SQLITE_TEXT:
			*d = sql.NullString{String: r.text(i, m), Valid: true}
			return nil
		case sqlite3.SQLITE_NULL:
			*d = sql.NullString{}
			return nil
		}
	case *[]byte:
		// One copy of the bytes (value and assign made two).
		if t == sqlite3.SQLITE_TEXT || t == sqlite3.SQLITE_BLOB {
			if v := r.bytesView(m, t); len(v) > 0 {
				*d = append(make([]byte, 0, len(v)), v...)
			} else {
				*d = emptyBytes(t)
			}
			return nil
		}
	case *AppendBytes:
		switch t {
		case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
			if v := r.bytesView(m, t); len(v) > 0 {
				a := *d.Arena
				at := len(a)
				a = append(a, v...)
				*d.Arena, *d.Dst = a, a[at:len(a):len(a)]
			} else {
				*d.Dst = emptyBytes(t)
			}
			return nil
		case sqlite3.SQLITE_NULL:
			*d.Dst = nil
			return nil
		}
	case *sql.NullInt64:
		switch t {
		case sqlite3.SQLITE_INTEGER:
			*d = sql.NullInt64{Int64: sqlite3.Xsqlite3_value_int64(tls, m), Valid: true}
			return nil
		case sqlite3.SQLITE_NULL:
			*d = sql.NullInt64{}
			return nil
		}
	case *int:
		if t == sqlite3.SQLITE_INTEGER && strconv.IntSize == 64 {
			*d = int(sqlite3.Xsqlite3_value_int64(tls, m))
			return nil
		}
	case *float64:
		switch t {
		case sqlite3.SQLITE_FLOAT:
			*d = sqlite3.Xsqlite3_value_double(tls, m)
			return nil
		case sqlite3.SQLITE_INTEGER:
			*d = float64(sqlite3.Xsqlite3_value_int64(tls, m))
			return nil
		}
	}
	return assign(d, r.value(i, m, t))
}

// value is m, a column's value of type t, as the driver gives it to
// database/sql.
func (r *Rows) value(i int32, m uintptr, t int32) driver.Value {
	switch t {
	case sqlite3.SQLITE_INTEGER:
		return sqlite3.Xsqlite3_value_int64(r.c.tls, m)
	case sqlite3.SQLITE_FLOAT:
		return sqlite3.Xsqlite3_value_double(r.c.tls, m)
	case sqlite3.SQLITE_TEXT:
		return r.text(i, m)
	case sqlite3.SQLITE_BLOB:
		return r.blob(m)
	}
	return nil
}

// Row is QueryRow's answer.
type Row struct {
	rows *Rows
	err  error
}

// Scan reads the row into dest and closes it; sql.ErrNoRows when there
// was none.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	return r.rows.Scan(dest...)
}

// Err is the error of running the query, if any (as sql.Row's).
func (r *Row) Err() error { return r.err }
