package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

type (
	namedString string
	namedInt    int16
)

// scanDests are fresh destinations of every kind the readers may be given.
func scanDests() []any {
	return []any{
		new(int64), new(int), new(int32), new(int8), new(uint), new(uint8), new(uint64),
		new(float64), new(float32), new(string), new([]byte), new(bool), new(any),
		new(sql.NullString), new(sql.NullInt64), new(sql.NullFloat64), new(sql.NullBool),
		new(sql.NullInt32), new(sql.Null[string]), new(namedString), new(namedInt),
		new(*string), new(*int64), new(time.Time), new(struct{ A int }),
	}
}

// Scan stores every kind of column value in every kind of destination as
// database/sql's Rows.Scan does, and fails where it fails.
func TestScan_ConvertsAsDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), pairSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	values := []string{
		`0`, `1`, `2`, `-5`, `300`, `9223372036854775807`, `-129`,
		`3.0`, `3.5`, `-0.25`, `1e20`,
		`''`, `'12'`, `'abc'`, `'true'`, `'3.5'`, `'1'`, `'-7'`, `'é'`,
		`x''`, `x'00ff'`, `x'3132'`, `NULL`,
	}
	checked, agreedErrors := 0, 0
	for _, v := range values {
		q := `SELECT ` + v
		for k := range scanDests() {
			want, got := scanDests()[k], scanDests()[k]
			werr := db.R.QueryRowContext(ctx, q).Scan(want)
			gerr := db.QueryRow(ctx, q).Scan(got)
			name := fmt.Sprintf("%s into %T", v, want)
			if (werr == nil) != (gerr == nil) {
				t.Errorf("%s: database/sql: %v; ours: %v", name, werr, gerr)
				continue
			}
			if werr != nil {
				agreedErrors++
				continue
			}
			w, g := reflect.ValueOf(want).Elem().Interface(), reflect.ValueOf(got).Elem().Interface()
			if !reflect.DeepEqual(w, g) {
				t.Errorf("%s: database/sql stored %#v, ours %#v", name, w, g)
			}
			checked++
		}
	}
	if checked < 200 || agreedErrors < 100 {
		t.Fatalf("only %d stored and %d failing pairs compared", checked, agreedErrors)
	}
}

// Arguments of every kind bind as database/sql binds them.
func TestQuery_BindsAsDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "b.db"), pairSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := "pointed"
	var nilString *string
	args := []any{
		nil, int64(-3), 7, int32(8), int8(-9), uint8(250), uint64(1 << 40), uint64(math.MaxUint64),
		float32(1.5), 2.25, true, false, "text", "", "with\x00nul", []byte{}, []byte(nil), []byte("by"),
		namedString("named"), namedInt(12), &s, nilString, time.Date(2026, 12, 2, 10, 4, 5, 6, time.UTC),
		sql.NullString{String: "ns", Valid: true}, sql.NullString{}, sql.NullInt64{Int64: 4, Valid: true},
		struct{ A int }{1}, []int{1},
	}
	for _, a := range args {
		var wv, gv any
		var wt, gt string
		werr := db.R.QueryRowContext(ctx, `SELECT ?1, typeof(?1)`, a).Scan(&wv, &wt)
		gerr := db.QueryRow(ctx, `SELECT ?1, typeof(?1)`, a).Scan(&gv, &gt)
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%T %v: database/sql: %v; ours: %v", a, a, werr, gerr)
			continue
		}
		if werr == nil && (!reflect.DeepEqual(wv, gv) || wt != gt) {
			t.Errorf("%T %v: database/sql bound %#v (%s), ours %#v (%s)", a, a, wv, wt, gv, gt)
		}
	}
	if _, err := db.Query(ctx, `SELECT ?, ?`, 1); err == nil || !strings.Contains(err.Error(), "expected 2 arguments, got 1") {
		t.Fatalf("too few arguments: %v", err)
	}
	if _, err := db.Query(ctx, `SELECT 1; SELECT 2`); err == nil || !strings.Contains(err.Error(), "more follows") {
		t.Fatalf("two statements: %v", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT 1 WHERE 0`).Scan(&n); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no row: %v, want sql.ErrNoRows", err)
	}
	if err := db.QueryRow(ctx, `SELECT 1, 2`).Scan(&n); err == nil || !strings.Contains(err.Error(), "expected 2 destination arguments") {
		t.Fatalf("too few destinations: %v", err)
	}
}

// A read whose context ends stops with the context's error and gives its
// connection back; the connection's next read is not interrupted.
func TestQuery_ContextEndsRead(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), pairSchema, Options{Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const endless = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n`
	for range 20 {
		cctx, cancel := context.WithCancel(ctx)
		rows, err := db.Query(cctx, endless)
		if err != nil {
			t.Fatal(err)
		}
		go cancel()
		for rows.Next() {
		}
		if !errors.Is(rows.Err(), context.Canceled) {
			t.Fatalf("cancelled read ended with %v, want context.Canceled", rows.Err())
		}
		rows.Close()
		// The one connection again, at once: not interrupted.
		var v int
		if err := db.QueryRow(ctx, `SELECT 42`).Scan(&v); err != nil || v != 42 {
			t.Fatalf("the next read: %d, %v", v, err)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := db.QueryRow(tctx, endless).Scan(new(int)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a read past its deadline: %v", err)
	}
	// A context that ends while every connection is busy ends the wait.
	rows, err := db.Query(ctx, `SELECT 1`)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer wcancel()
	if _, err := db.Query(wctx, `SELECT 2`); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a connection past the deadline: %v", err)
	}
	rows.Close()
	rows.Close() // twice is harmless
}

// Many goroutines reading while a writer commits see whole commits only,
// and the pool never opens more connections than Readers.
func TestQuery_ReadersSeeWholeCommits(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"), pairSchema, Options{Readers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // each commit adds one row to a and one to b
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tx, err := db.W.Begin()
			if err != nil {
				t.Error(err)
				return
			}
			tx.Exec(`INSERT INTO a (v) VALUES (?)`, fmt.Sprint(i))
			tx.Exec(`INSERT INTO b (v) VALUES (?)`, fmt.Sprint(i))
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	errc := make(chan error, 8)
	var readers sync.WaitGroup
	for range 8 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range 300 {
				var na, nb int
				if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)`).Scan(&na, &nb); err != nil {
					errc <- err
					return
				}
				if na != nb {
					errc <- fmt.Errorf("a read saw %d rows of a and %d of b", na, nb)
					return
				}
				if len(db.raw.slots) > 3 {
					errc <- fmt.Errorf("%d connections in use, pool of 3", len(db.raw.slots))
					return
				}
			}
		}()
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// A read hands out the same string again for a text its column repeats
// (Rows.text), and every value is still the row's own: texts that share a
// cache slot, a column whose texts never repeat, NULLs, empty and long
// texts, through *string, sql.NullString and any.
func TestQuery_RepeatedTextsShared(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"), pairSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, rep TEXT, uniq TEXT, opt TEXT, long TEXT)`); err != nil {
		t.Fatal(err)
	}
	const n = 600
	want := make([][4]sql.NullString, n)
	tx, err := db.W.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		row := [4]sql.NullString{
			{String: fmt.Sprintf("VM_%04d", (i*7)%40), Valid: true}, // 40 values over 16 slots
			{String: fmt.Sprintf("tx-%d", i), Valid: true},
			{String: []string{"", "A", "B"}[i%3], Valid: i%5 != 0},
			{String: strings.Repeat(string(rune('a'+i%3)), 60), Valid: true},
		}
		if !row[2].Valid {
			row[2].String = ""
		}
		want[i] = row
		args := make([]any, 4)
		for j, v := range row {
			if v.Valid {
				args[j] = v.String
			}
		}
		if _, err := tx.Exec(`INSERT INTO t (id, rep, uniq, opt, long) VALUES (?, ?, ?, ?, ?)`, append([]any{i}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	read := func() (shared int) {
		rows, err := db.Query(ctx, `SELECT rep, uniq, opt, long, rep FROM t ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		seen := map[string]*byte{}
		for i := 0; rows.Next(); i++ {
			var rep, uniq, long string
			var opt sql.NullString
			var again any
			if err := rows.Scan(&rep, &uniq, &opt, &long, &again); err != nil {
				t.Fatal(err)
			}
			got := [4]sql.NullString{{String: rep, Valid: true}, {String: uniq, Valid: true}, opt, {String: long, Valid: true}}
			if got != want[i] || again != want[i][0].String {
				t.Fatalf("row %d: got %v and %v, want %v", i, got, again, want[i])
			}
			if p, ok := seen[rep]; ok && p == unsafe.StringData(rep) {
				shared++
			}
			seen[rep] = unsafe.StringData(rep)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return shared
	}
	// 600 rows of 40 machines: most repeats find their string again.
	if shared := read(); shared < n/2 {
		t.Errorf("%d of %d repeated texts were the same string; want most", shared, n-40)
	}
	lean := func() {
		rows, err := db.Query(ctx, `SELECT rep, opt FROM t ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var rep string
		var opt sql.NullString
		dest := []any{&rep, &opt}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
		}
	}
	allocs := testing.AllocsPerRun(5, lean)
	// Without the cache: a string per row for each of the two columns
	// (less the empty texts, NULLs and one-byte texts, which Go does not
	// allocate), ~600.
	if allocs > n/4 {
		t.Errorf("a read of %d rows allocated %.0f times; want under %d", n, allocs, n/4)
	}
}

// AppendBytes puts every row's bytes in one array the caller keeps, and
// each row's slice holds that row's bytes after the array grew, the same
// as a *[]byte destination gives: NULL nil, empty text empty, empty blob
// nil; a row's slice cannot be appended over the next row's bytes.
func TestQuery_AppendBytesIntoOneArray(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"), pairSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v)`); err != nil {
		t.Fatal(err)
	}
	vals := []any{"first", nil, "", []byte{}, []byte{0, 1, 2}, strings.Repeat("x", 300), "last"}
	for i, v := range vals {
		if _, err := db.W.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, v); err != nil {
			t.Fatal(err)
		}
	}
	arena := make([]byte, 0, 8) // small: the arena grows during the read
	var got [][]byte
	rows, err := db.Query(ctx, `SELECT v FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var d []byte
	dest := AppendBytes{Arena: &arena, Dst: &d}
	for rows.Next() {
		if err := rows.Scan(&dest); err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	// The same read into *[]byte, as the reference.
	rows, err = db.Query(ctx, `SELECT v FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
	}
	rows.Close()
	if len(got) != len(vals) || len(want) != len(vals) {
		t.Fatalf("read %d and %d rows, want %d", len(got), len(want), len(vals))
	}
	total := 0
	for i := range vals {
		if !bytes.Equal(got[i], want[i]) || (got[i] == nil) != (want[i] == nil) {
			t.Errorf("row %d: got %q (nil %v), want %q (nil %v)", i, got[i], got[i] == nil, want[i], want[i] == nil)
		}
		if cap(got[i]) != len(got[i]) {
			t.Errorf("row %d: room %d past its %d bytes", i, cap(got[i]), len(got[i]))
		}
		total += len(want[i])
	}
	if len(arena) != total {
		t.Errorf("the arena holds %d bytes, want every row's %d", len(arena), total)
	}
	if !bytes.Equal(arena[len(arena)-4:], []byte("last")) {
		t.Errorf("the arena ends %q, want the last row's bytes", arena[len(arena)-4:])
	}
}
