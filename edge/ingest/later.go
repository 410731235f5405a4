package ingest

import (
	"fmt"
	"regexp"
	"strings"
)

// Writes held until the group commit: a sale writes a few rows that no rule
// reads back in the same transaction (a lot movement, a payment and its
// first history row) and updates a few rows that the next sale of the same
// slot updates again (the lot's and the slot's quantity). Running each as
// its own statement costs a bind, a step and a reset per row; held, they
// go to the database as multi-row inserts (Append) and as one update per
// row however many sales changed it (ExecLatest).
//
// What is held is never out of sight of the transaction: before any
// statement that names a table with held writes runs (a lookup of a
// payment, an update of a lot's status), every held write runs first, in
// the order a reader would expect (appends table by table in the order
// their tables were prepared, then the updates in the order first made).
// A constraint a held write breaks fails the whole transaction, like any
// error that is not a rejection: a rule that may be refused by a
// constraint (a duplicate key it relies on) must not hold that write. A
// foreign key is checked when its row is written: a table whose rows
// reference held rows must hold its own rows too, prepared after the
// parent's (payment_history after payments), or name the parent table in
// its statement.

// Rows is a table a Tx appends to at commit, many rows to a statement
// (PrepareRows).
type Rows struct {
	table string
	cols  int
	idx   int     // its place in a Tx's held appends
	one   *Stmt   // the single-row insert
	many  []*Stmt // by rowsPer
}

// rowsPer are the sizes of the multi-row inserts of held appends, largest
// first, halving, so that any number of rows up to 63 takes at most six
// statements (at 64 clients a group commit holds a few sales, and a
// sale holds one or two rows of each table).
var rowsPer = []int{32, 16, 8, 4, 2}

// PrepareRows returns a handle to append rows of columns to table at
// commit (Tx.Append). Like Prepare, call it before Open.
func (w *Writer) PrepareRows(table string, columns ...string) *Rows {
	if w.opened {
		panic("ingest: PrepareRows after Open")
	}
	r := &Rows{table: table, cols: len(columns), idx: len(w.rows)}
	insert := func(n int) string {
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
		return `INSERT INTO ` + table + ` (` + strings.Join(columns, ", ") + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	}
	r.one = w.Prepare(insert(1))
	for _, n := range rowsPer {
		r.many = append(r.many, w.Prepare(insert(n)))
	}
	w.rows = append(w.rows, r)
	w.heldTables = append(w.heldTables, table)
	return r
}

// PrepareLatest is Prepare for an update that a Tx may hold until commit
// with ExecLatest; table is the table it updates.
func (w *Writer) PrepareLatest(table, query string) *Stmt {
	s := w.Prepare(query)
	w.heldTables = append(w.heldTables, table)
	return s
}

// markHolds sets, for every statement, whether it names a table that may
// have held writes (then held writes run before it). A word match is
// enough: a false match only runs the held writes early.
func (w *Writer) markHolds() {
	if len(w.heldTables) == 0 {
		return
	}
	var alts []string
	for _, t := range w.heldTables {
		alts = append(alts, regexp.QuoteMeta(t))
	}
	re := regexp.MustCompile(`(?i)\b(` + strings.Join(alts, "|") + `)\b`)
	for _, s := range w.stmts {
		s.namesHeld = re.MatchString(s.query)
	}
}

// held is a Tx's writes held until commit.
type held struct {
	rows   [][]any      // by Rows.idx: the flat arguments of its rows
	n      int          // rows held in all
	latest []heldUpdate // in the order first made
	byKey  map[heldKey]int
}

type heldKey struct {
	stmt int
	key  any
}

type heldUpdate struct {
	st   *Stmt
	args []any
}

// Append holds one row for r's table until commit (or until a statement
// naming the table runs); args are its columns in PrepareRows' order.
func (t *Tx) Append(r *Rows, args ...any) {
	if len(args) != r.cols {
		panic(fmt.Sprintf("ingest: %d values for %d columns of %s", len(args), r.cols, r.table))
	}
	h := t.held
	h.rows[r.idx] = append(h.rows[r.idx], args...)
	h.n++
}

// ExecLatest holds an update (s, prepared with PrepareLatest) of the row
// key names until commit (or until a statement naming its table runs); of
// several held for the same s and key only the latest runs. key must be
// comparable (a string, an int64 or a struct of them).
func (t *Tx) ExecLatest(s *Stmt, key any, args ...any) {
	h := t.held
	k := heldKey{s.idx, key}
	if i, ok := h.byKey[k]; ok {
		h.latest[i].args = append(h.latest[i].args[:0], args...)
		return
	}
	if h.byKey == nil {
		h.byKey = map[heldKey]int{}
	}
	h.byKey[k] = len(h.latest)
	h.latest = append(h.latest, heldUpdate{st: s, args: args})
}

// flushHeld runs every held write. Its first error stays the
// transaction's (Tx.heldErr).
func (t *Tx) flushHeld() error {
	h := t.held
	if t.heldErr != nil {
		return t.heldErr
	}
	if h.n == 0 && len(h.latest) == 0 {
		return nil
	}
	if err := t.runHeld(); err != nil {
		t.heldErr = err
		return err
	}
	return nil
}

func (t *Tx) runHeld() error {
	h := t.held
	for _, r := range t.w.rows {
		args := h.rows[r.idx]
		for len(args) > 0 {
			st, n := r.one, 1
			for i, rows := range rowsPer {
				if len(args) >= rows*r.cols {
					st, n = r.many[i], rows
					break
				}
			}
			if _, err := t.c.Exec(st.st, args[:n*r.cols]...); err != nil {
				return fmt.Errorf("append to %s: %w", r.table, err)
			}
			args = args[n*r.cols:]
		}
	}
	for _, u := range h.latest {
		if _, err := t.c.Exec(u.st.st, u.args...); err != nil {
			return fmt.Errorf("update held row: %w", err)
		}
	}
	h.reset()
	return nil
}

// reset forgets every held write, keeping the buffers for the next
// transaction (a failed one leaves writes behind).
func (h *held) reset() {
	for i := range h.rows {
		clear(h.rows[i])
		h.rows[i] = h.rows[i][:0]
	}
	h.n = 0
	clear(h.latest)
	h.latest = h.latest[:0]
	clear(h.byKey)
}
