package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/envelope"
)

// auditView is a test rule's in-memory view: the number of audit rows.
type auditView struct{ n int64 }

func (v *auditView) Load(ctx context.Context, db Querier) error {
	return db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_logs`).Scan(&v.n)
}

// note is a test rule: it audits one row and emits one event, and counts
// the row in its view.
func (v *auditView) note(t *Tx, id string) (uint64, error) {
	if err := t.Audit("test", id, "NOTE", "tester", map[string]string{}); err != nil {
		return 0, err
	}
	v.n++
	return t.Emit(envelope.KindMachine, t.Now(), map[string]string{"id": id})
}

func openWriter(t *testing.T) (*Writer, *auditView) {
	t.Helper()
	return openWriterWith(t, DefaultConfig())
}

func count(t *testing.T, w *Writer, q string) int64 {
	t.Helper()
	var n int64
	if err := w.Store().DB.R.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// hold holds the writer's loop in one request until the returned release
// is called, so that everything submitted meanwhile shares the next
// transaction. It waits until n requests are queued behind it first.
func hold(t *testing.T, w *Writer) (queued func(n int), release func()) {
	t.Helper()
	held, gate := make(chan struct{}), make(chan struct{})
	go w.Do(context.Background(), func(*Tx) error {
		close(held)
		<-gate
		return nil
	})
	<-held
	queued = func(n int) {
		t.Helper()
		testkit.CheckFor(t, 5*time.Second, func() error {
			if got := len(w.reqs); got < n {
				return fmt.Errorf("%d requests queued, want %d", got, n)
			}
			return nil
		})
	}
	return queued, func() { close(gate) }
}

func TestSubmit_RejectionAffectsOnlyItsRequest(t *testing.T) {
	w, v := openWriter(t)
	queued, release := hold(t, w)
	var wg sync.WaitGroup
	var seqA, seqB uint64
	var errA, errB, errRej error
	wg.Add(3)
	go func() {
		defer wg.Done()
		seqA, errA = Submit(context.Background(), w, func(t *Tx) (uint64, error) { return v.note(t, "a") })
	}()
	queued(1)
	go func() {
		defer wg.Done()
		_, errRej = Submit(context.Background(), w, func(t *Tx) (uint64, error) {
			return 0, errs.Errorf(errs.Conflict, "TEST_CONFLICT", "id", "refused")
		})
	}()
	queued(2)
	go func() {
		defer wg.Done()
		seqB, errB = Submit(context.Background(), w, func(t *Tx) (uint64, error) { return v.note(t, "b") })
	}()
	queued(3)
	release()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("accepted requests failed: %v, %v", errA, errB)
	}
	if got, want := errs.CodeOf(errRej), "TEST_CONFLICT"; got != want {
		t.Fatalf("rejected request: code %q (%v), want %q", got, errRej, want)
	}
	if seqA != 1 || seqB != 2 {
		t.Fatalf("sequences = %d, %d; want 1, 2", seqA, seqB)
	}
	if got, want := count(t, w, `SELECT COUNT(*) FROM audit_logs`), int64(2); got != want {
		t.Fatalf("%d audit rows, want %d", got, want)
	}
	if got, want := count(t, w, store.LastSeqQuery), int64(2); got != want {
		t.Fatalf("last_seq = %d, want %d", got, want)
	}
	select {
	case <-w.Appended():
	default:
		t.Fatal("no Appended signal after a commit that emitted events")
	}
}

func TestDo_FailureFailsTheTransactionAndReloadsViews(t *testing.T) {
	w, v := openWriter(t)
	if _, err := Submit(context.Background(), w, func(t *Tx) (uint64, error) { return v.note(t, "first") }); err != nil {
		t.Fatal(err)
	}
	queued, release := hold(t, w)
	var wg sync.WaitGroup
	var errOK, errBad error
	wg.Add(2)
	go func() {
		defer wg.Done()
		errOK = w.Do(context.Background(), func(t *Tx) error { _, err := v.note(t, "ok"); return err })
	}()
	queued(1)
	go func() {
		defer wg.Done()
		errBad = w.Do(context.Background(), func(t *Tx) error {
			if _, err := v.note(t, "bad"); err != nil {
				return err
			}
			return errors.New("disk on fire")
		})
	}()
	queued(2)
	release()
	wg.Wait()
	for name, err := range map[string]error{"good request": errOK, "failing request": errBad} {
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("%s: err = %v, want the transaction's failure", name, err)
		}
		if errs.KindOf(err) != errs.Internal {
			t.Fatalf("%s: kind %q, want internal", name, errs.KindOf(err))
		}
	}
	if got, want := count(t, w, `SELECT COUNT(*) FROM audit_logs`), int64(1); got != want {
		t.Fatalf("%d audit rows after the failed transaction, want %d", got, want)
	}
	// The view was reloaded, and the sequence continues without a gap.
	n, err := Submit(context.Background(), w, func(*Tx) (int64, error) { return v.n, nil })
	if err != nil || n != 1 {
		t.Fatalf("view after the failed transaction = %d (%v), want 1", n, err)
	}
	seq, err := Submit(context.Background(), w, func(t *Tx) (uint64, error) { return v.note(t, "next") })
	if err != nil || seq != 2 {
		t.Fatalf("next sequence = %d (%v), want 2", seq, err)
	}
}

func TestWriter_ClosedAndBadStatements(t *testing.T) {
	w, _ := openWriter(t)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Do(context.Background(), func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v, want ErrClosed", err)
	}

	st, err := store.Init(context.Background(), t.TempDir(), store.SiteInit{ID: "s2", Name: "Test", City: "Testville", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w2, err := New(st, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Statements are prepared on first use: a bad one fails the
	// transaction that runs it, with an error naming it, every time.
	bad := w2.Prepare(`SELECT nothing FROM no_such_table`)
	good := w2.Prepare(`SELECT last_seq FROM sync_state WHERE id = 1`)
	if err := w2.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	for i := range 2 {
		err := w2.Do(context.Background(), func(tx *Tx) error {
			rows, err := tx.Query(bad)
			if err == nil {
				rows.Close()
			}
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "no_such_table") {
			t.Fatalf("use %d of a bad statement: %v, want an error naming it", i, err)
		}
		var seq int64
		err = w2.Do(context.Background(), func(tx *Tx) error { return tx.QueryRow(bad).Scan(&seq) })
		if err == nil || !strings.Contains(err.Error(), "no_such_table") {
			t.Fatalf("QueryRow %d of a bad statement: %v, want an error naming it", i, err)
		}
	}
	// A good statement works on its first use (prepared for that
	// transaction) and after (prepared on the connection).
	for i := range 3 {
		var seq int64
		if err := w2.Do(context.Background(), func(tx *Tx) error { return tx.QueryRow(good).Scan(&seq) }); err != nil {
			t.Fatalf("use %d of a good statement: %v", i, err)
		}
		if i > 0 && good.st == nil {
			t.Fatal("a used statement is not prepared on the connection")
		}
	}
}
