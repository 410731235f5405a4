package ingest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
)

// noteKind is the test's logged request: note(id), refused for ids
// starting with "bad".
const noteKind byte = 7

func logNote(v *auditView) func(t *Tx, data []byte) error {
	return func(t *Tx, data []byte) error {
		id := string(data)
		if strings.HasPrefix(id, "bad") {
			return errs.Invalidf("id", "id %q refused", id)
		}
		_, err := v.note(t, id)
		return err
	}
}

// openLogWriter opens (initializing when asked) the store in dir and a
// writer on it with cfg, the test's replay kind registered.
func openLogWriter(t *testing.T, dir string, initialize bool, cfg Config) (*Writer, *auditView) {
	t.Helper()
	ctx := context.Background()
	var st *store.Store
	var err error
	if initialize {
		st, err = store.Init(ctx, dir, store.SiteInit{ID: "s1", Name: "Test", City: "Testville", Timezone: "UTC"})
	} else {
		st, err = store.Open(ctx, dir)
	}
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	w, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := &auditView{}
	w.Register(v)
	w.OnReplay(noteKind, logNote(v))
	if err := w.Open(ctx); err != nil {
		st.Close()
		t.Fatalf("open writer: %v", err)
	}
	t.Cleanup(func() {
		w.Close()
		st.Close()
	})
	return w, v
}

func submitNote(w *Writer, v *auditView, id string) (uint64, error) {
	return SubmitLogged(context.Background(), w, noteKind, []byte(id), func(t *Tx) (uint64, error) {
		if err := logNote(v)(t, []byte(id)); err != nil {
			return 0, err
		}
		return t.seq, nil
	})
}

// snapshot writes the writer's last committed state to a new site
// directory, as a crash that lost every commit after it would leave it.
func snapshot(t *testing.T, w *Writer) string {
	t.Helper()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+w.Store().DB.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`VACUUM INTO ?`, filepath.Join(dir, store.DBFile)); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, store.DBFile), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dumpState is what recovery must reproduce: the outbox (sequence,
// kind, time, payload), the audit rows and the sequence high-water mark.
func dumpState(t *testing.T, w *Writer) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT seq, kind, event_time, hex(payload) FROM outbox ORDER BY seq`,
		`SELECT entity_id, action, performed_at FROM audit_logs WHERE entity_type = 'test' ORDER BY rowid`,
		`SELECT last_seq FROM sync_state`,
	} {
		rows, err := w.Store().DB.R.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

func logConfig() Config {
	cfg := DefaultConfig()
	cfg.Fsync = FsyncLog
	return cfg
}

// TestIntake_RecoversWhatTheDatabaseLost: requests answered in log mode
// whose commits a crash lost (the database is a snapshot from before them)
// run again from the intake log on open, once each, with their first
// clock, sequence numbers and refusals; a second open runs nothing again.
func TestIntake_RecoversWhatTheDatabaseLost(t *testing.T) {
	dir := t.TempDir()
	w, v := openLogWriter(t, dir, true, logConfig())
	for i := range 20 {
		if _, err := submitNote(w, v, fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	lost := snapshot(t, w)
	var want []uint64
	for i := range 30 {
		id := fmt.Sprintf("b%d", i)
		if i%7 == 3 {
			id = "bad" + id
		}
		seq, err := submitNote(w, v, id)
		if strings.HasPrefix(id, "bad") {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("note %s: %v, want a refusal", id, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, seq)
	}
	wantState := dumpState(t, w)
	// The crash: the intake log as it is on disk now, next to the old database.
	log, err := os.ReadFile(IntakePath(filepath.Join(dir, store.DBFile)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(IntakePath(filepath.Join(lost, store.DBFile)), log, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w2, v2 := openLogWriter(t, lost, false, logConfig())
	if got := dumpState(t, w2); got != wantState {
		t.Fatalf("recovered state differs:\n got %s\nwant %s", got, wantState)
	}
	if v2.n != v.n {
		t.Fatalf("view counts %d notes after recovery, want %d", v2.n, v.n)
	}
	if w2.DurableSeq() != want[len(want)-1] {
		t.Fatalf("durable seq %d, want %d", w2.DurableSeq(), want[len(want)-1])
	}
	// New requests go on from there, and are themselves recoverable.
	if _, err := submitNote(w2, v2, "c0"); err != nil {
		t.Fatal(err)
	}
	after := dumpState(t, w2)
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	w3, _ := openLogWriter(t, lost, false, logConfig())
	if got := dumpState(t, w3); got != after {
		t.Fatalf("a clean reopen changed the state:\n got %s\nwant %s", got, after)
	}
}

// TestIntake_UnloggedRequestSyncsTheWAL: a request without a record is
// answered only after a WAL fsync, which also covers the log, so the log
// starts again; logged requests alone never fsync the WAL.
func TestIntake_UnloggedRequestSyncsTheWAL(t *testing.T) {
	var fsyncs atomic.Int64
	cfg := logConfig()
	cfg.SyncHook = func(sync func() error) error { fsyncs.Add(1); return sync() }
	w, v := openLogWriter(t, t.TempDir(), true, cfg)
	for i := range 10 {
		if _, err := submitNote(w, v, fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := fsyncs.Load(); n != 0 {
		t.Fatalf("%d WAL fsyncs for logged requests, want 0", n)
	}
	if err := w.Do(context.Background(), func(t *Tx) error { _, err := v.note(t, "plain"); return err }); err != nil {
		t.Fatal(err)
	}
	if n := fsyncs.Load(); n != 1 {
		t.Fatalf("%d WAL fsyncs after an unlogged request, want 1", n)
	}
	// The syncer restarted the log after that fsync: the next record goes at 0.
	if _, err := submitNote(w, v, "a10"); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(IntakePath(w.Store().DB.Path()))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := parseRecords(log)
	if len(recs) != 1 || string(recs[0].data) != "a10" {
		t.Fatalf("log holds %d records (%v), want only a10", len(recs), recs)
	}
}

// TestIntake_FullLogSyncsTheWAL: a group that does not fit the log is made
// durable by a WAL fsync and the log starts again.
func TestIntake_FullLogSyncsTheWAL(t *testing.T) {
	var fsyncs atomic.Int64
	cfg := logConfig()
	cfg.SyncHook = func(sync func() error) error { fsyncs.Add(1); return sync() }
	w, v := openLogWriter(t, t.TempDir(), true, cfg)
	big := bytes.Repeat([]byte("x"), intakeSize/3)
	for i := range 4 {
		id := fmt.Sprintf("%d%s", i, big)
		if _, err := submitNote(w, v, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := fsyncs.Load(); n != 1 {
		t.Fatalf("%d WAL fsyncs for four records of a third of the log, want 1", n)
	}
}

// TestIntake_LeftoverLogRunsInAnotherMode: a log left by a killed log-mode
// process is run again and removed when the site opens in inline mode.
func TestIntake_LeftoverLogRunsInAnotherMode(t *testing.T) {
	dir := t.TempDir()
	w, v := openLogWriter(t, dir, true, logConfig())
	lost := snapshot(t, w)
	for i := range 5 {
		if _, err := submitNote(w, v, fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	want := dumpState(t, w)
	log, err := os.ReadFile(IntakePath(filepath.Join(dir, store.DBFile)))
	if err != nil {
		t.Fatal(err)
	}
	path := IntakePath(filepath.Join(lost, store.DBFile))
	if err := os.WriteFile(path, log, 0o600); err != nil {
		t.Fatal(err)
	}
	w2, _ := openLogWriter(t, lost, false, DefaultConfig())
	if got := dumpState(t, w2); got != want {
		t.Fatalf("recovered state differs:\n got %s\nwant %s", got, want)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the intake log is still there in inline mode: %v", err)
	}
}

func TestParseRecords_StopsAtTornOrOlderRecords(t *testing.T) {
	now := time.Unix(1700000000, 123)
	var b []byte
	b = appendRecord(b, 5, now, 1, []byte("one"))
	b = appendRecord(b, 5, now, 1, []byte("two"))
	b = appendRecord(b, 6, now, 2, []byte("three"))
	full := len(b)
	b = appendRecord(b, 3, now, 1, []byte("older"))
	recs, _ := parseRecords(b)
	if len(recs) != 3 || string(recs[2].data) != "three" || recs[2].lsn != 6 || recs[2].kind != 2 || !recs[0].now.Equal(now) {
		t.Fatalf("records %+v", recs)
	}
	torn := append([]byte(nil), b[:full]...)
	torn[full-1] ^= 1
	if recs, more := parseRecords(torn); len(recs) != 2 || more {
		t.Fatalf("%d records before a torn one, want 2", len(recs))
	}
	if recs, more := parseRecords(b[:full-1]); len(recs) != 2 || !more {
		t.Fatalf("%d records before a cut one, want 2", len(recs))
	}
	if recs, more := parseRecords(make([]byte, 100)); len(recs) != 0 || more {
		t.Fatalf("%d records in zeros", len(recs))
	}
}

// TestIntake_RecoversALogLongerThanTheFirstRead: open reads the log's
// first 64 KiB, and all of it when the records go on past that.
func TestIntake_RecoversALogLongerThanTheFirstRead(t *testing.T) {
	dir := t.TempDir()
	w, v := openLogWriter(t, dir, true, logConfig())
	lost := snapshot(t, w)
	pad := strings.Repeat("p", 4000)
	for i := range 40 {
		if _, err := submitNote(w, v, fmt.Sprintf("n%d-%s", i, pad)); err != nil {
			t.Fatal(err)
		}
	}
	want := dumpState(t, w)
	log, err := os.ReadFile(IntakePath(filepath.Join(dir, store.DBFile)))
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := parseRecords(log); len(recs) != 40 {
		t.Fatalf("the log holds %d records, want 40", len(recs))
	}
	if err := os.WriteFile(IntakePath(filepath.Join(lost, store.DBFile)), log, 0o600); err != nil {
		t.Fatal(err)
	}
	w2, v2 := openLogWriter(t, lost, false, logConfig())
	if got := dumpState(t, w2); got != want {
		t.Fatalf("recovered state differs:\n got %s\nwant %s", got, want)
	}
	if v2.n != 40 {
		t.Fatalf("view counts %d notes, want 40", v2.n)
	}
}
