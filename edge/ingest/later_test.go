package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// heldRules is a test rule package with held writes: audit_logs rows
// appended at commit, and one held update of sync_state's acked_seq.
type heldRules struct {
	rows             *Rows
	setAcked         *Stmt
	countRows, acked *Stmt
}

func openHeldWriter(t *testing.T) (*Writer, *heldRules) {
	t.Helper()
	st, err := store.Init(context.Background(), t.TempDir(), store.SiteInit{ID: "s1", Name: "Test", City: "Testville", Timezone: "UTC"})
	if err != nil {
		t.Fatalf("init store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := New(st, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &heldRules{
		rows:      w.PrepareRows("audit_logs", "entity_type", "entity_id", "action", "performed_by", "performed_at", "detail"),
		setAcked:  w.PrepareLatest("sync_state", `UPDATE sync_state SET acked_seq = ? WHERE id = ?`),
		countRows: w.Prepare(`SELECT COUNT(*) FROM audit_logs WHERE entity_type = 'held'`),
		acked:     w.Prepare(`SELECT acked_seq FROM sync_state WHERE id = 1`),
	}
	if err := w.Open(context.Background()); err != nil {
		t.Fatalf("open writer: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w, h
}

func (h *heldRules) append(t *Tx, n int) {
	for i := range n {
		t.Append(h.rows, "held", fmt.Sprint(i), "NOTE", "tester", t.Now().UnixMilli(), "{}")
	}
}

// Appended rows reach the table at commit whatever mix of multi-row and
// single-row inserts carries them, in the order appended.
func TestAppend_WritesEveryRowInOrder(t *testing.T) {
	tests := []struct {
		name string
		rows int
	}{
		{"one row", 1},
		{"eight", 8},
		{"every size and a single", 32*2 + 16 + 8 + 4 + 2 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, h := openHeldWriter(t)
			if err := w.Do(context.Background(), func(tx *Tx) error { h.append(tx, tc.rows); return nil }); err != nil {
				t.Fatal(err)
			}
			if got, want := count(t, w, `SELECT COUNT(*) FROM audit_logs WHERE entity_type = 'held'`), int64(tc.rows); got != want {
				t.Fatalf("%d rows, want %d", got, want)
			}
			// Row ids follow the order of Append.
			if got := count(t, w, `SELECT COUNT(*) FROM audit_logs a JOIN audit_logs b ON b.id = a.id + 1
				WHERE a.entity_type = 'held' AND CAST(b.entity_id AS INTEGER) <> CAST(a.entity_id AS INTEGER) + 1`); got != 0 {
				t.Fatalf("%d rows out of order", got)
			}
		})
	}
}

// A statement that names a table with held writes sees them: held rows
// and updates run before it, in the same transaction.
func TestHeld_SeenByStatementsNamingTheTable(t *testing.T) {
	w, h := openHeldWriter(t)
	var seen, acked int64
	err := w.Do(context.Background(), func(tx *Tx) error {
		h.append(tx, 3)
		tx.ExecLatest(h.setAcked, int64(1), int64(7), int64(1))
		tx.ExecLatest(h.setAcked, int64(1), int64(9), int64(1)) // the latest wins
		if err := tx.QueryRow(h.countRows).Scan(&seen); err != nil {
			return err
		}
		if err := tx.QueryRow(h.acked).Scan(&acked); err != nil {
			return err
		}
		h.append(tx, 2) // held again after the flush
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != 3 || acked != 9 {
		t.Fatalf("inside the transaction: %d rows and acked %d, want 3 and 9", seen, acked)
	}
	if got := count(t, w, `SELECT COUNT(*) FROM audit_logs WHERE entity_type = 'held'`); got != 5 {
		t.Fatalf("%d rows after commit, want 5", got)
	}
	if got := count(t, w, `SELECT acked_seq FROM sync_state`); got != 9 {
		t.Fatalf("acked_seq %d after commit, want 9", got)
	}
}

// Only the latest of several held updates of one row runs, once per
// transaction; updates of other rows (keys) are kept apart.
func TestExecLatest_OnePerKey(t *testing.T) {
	w, h := openHeldWriter(t)
	err := w.Do(context.Background(), func(tx *Tx) error {
		for i := range 5 {
			tx.ExecLatest(h.setAcked, int64(1), int64(10+i), int64(1))
			tx.ExecLatest(h.setAcked, int64(2), int64(100+i), int64(2)) // no such row: runs, changes nothing
		}
		if got := len(tx.held.latest); got != 2 {
			return fmt.Errorf("%d updates held, want 2", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, w, `SELECT acked_seq FROM sync_state WHERE id = 1`); got != 14 {
		t.Fatalf("acked_seq %d, want 14", got)
	}
}

// A held write that fails fails the whole transaction (every request in
// it), not only the request that made it, and nothing of it is written.
func TestHeld_FailureFailsTheTransaction(t *testing.T) {
	w, h := openHeldWriter(t)
	queued, release := hold(t, w)
	errc := make(chan error, 2)
	go func() {
		errc <- w.Do(context.Background(), func(tx *Tx) error { h.append(tx, 2); return nil })
	}()
	go func() {
		errc <- w.Do(context.Background(), func(tx *Tx) error {
			// NOT NULL performed_by: fails only when it reaches the table.
			tx.Append(h.rows, "held", "bad", "NOTE", nil, tx.Now().UnixMilli(), "{}")
			return nil
		})
	}()
	queued(2)
	release()
	for range 2 {
		if err := <-errc; err == nil || errs.KindOf(err) != errs.Internal {
			t.Fatalf("request in a failed transaction answered %v, want an internal error", err)
		}
	}
	if got := count(t, w, `SELECT COUNT(*) FROM audit_logs WHERE entity_type = 'held'`); got != 0 {
		t.Fatalf("%d rows written by a failed transaction", got)
	}
	// The writer goes on.
	if err := w.Do(context.Background(), func(tx *Tx) error { h.append(tx, 1); return nil }); err != nil {
		t.Fatal(err)
	}
}

// A held write that fails under a read (QueryRow) fails the transaction
// with its own error, whatever the reading request made of its failed read.
func TestHeld_FailureUnderARead(t *testing.T) {
	w, h := openHeldWriter(t)
	err := w.Do(context.Background(), func(tx *Tx) error {
		tx.Append(h.rows, "held", "bad", "NOTE", nil, tx.Now().UnixMilli(), "{}")
		var n int64
		if err := tx.QueryRow(h.countRows).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.Conflict, "SWALLOWED", "", "a rule that refuses on a failed read")
		}
		return nil
	})
	if err == nil || errs.KindOf(err) != errs.Internal {
		t.Fatalf("got %v, want the held write's error", err)
	}
	if got := count(t, w, `SELECT COUNT(*) FROM audit_logs WHERE entity_type = 'held'`); got != 0 {
		t.Fatalf("%d rows written by a failed transaction", got)
	}
}

// Emit holds its outbox rows until the commit: a statement naming the
// outbox sees them, and after the commit the outbox holds every event in
// sequence order, each with the payload Emit encoded for its sequence.
func TestEmit_HeldUntilCommitAndSeen(t *testing.T) {
	st, err := store.Init(context.Background(), t.TempDir(), store.SiteInit{ID: "s1", Name: "Test", City: "Testville", Timezone: "UTC"})
	if err != nil {
		t.Fatalf("init store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := New(st, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	countOutbox := w.Prepare(`SELECT COUNT(*) FROM outbox`)
	if err := w.Open(context.Background()); err != nil {
		t.Fatalf("open writer: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	const before = 37
	var seen int64
	err = w.Do(context.Background(), func(tx *Tx) error {
		for i := range before {
			seq, err := tx.Emit(envelope.KindMachine, tx.Now(), map[string]int{"i": i})
			if err != nil {
				return err
			}
			if seq != uint64(i+1) {
				return fmt.Errorf("event %d got seq %d", i, seq)
			}
		}
		if got := len(tx.held.rows[w.own.outbox.idx]); got == 0 {
			return errors.New("the outbox rows were written at once, not held")
		}
		if err := tx.QueryRow(countOutbox).Scan(&seen); err != nil {
			return err
		}
		_, err := tx.Emit(envelope.KindMachine, tx.Now(), map[string]int{"i": before}) // held again after the flush
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != before {
		t.Fatalf("a statement naming the outbox saw %d rows, want %d", seen, before)
	}
	if got, want := count(t, w, `SELECT COUNT(*) FROM outbox`), int64(before+1); got != want {
		t.Fatalf("%d outbox rows after commit, want %d", got, want)
	}
	if got := count(t, w, `SELECT COUNT(*) FROM outbox WHERE payload ->> '$.seq' <> seq OR payload ->> '$.data.i' <> seq - 1`); got != 0 {
		t.Fatalf("%d outbox rows whose payload is not their own event", got)
	}
	if got := count(t, w, store.LastSeqQuery); got != before+1 {
		t.Fatalf("last_seq %d, want %d", got, before+1)
	}
}
