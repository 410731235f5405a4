package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vendsync/vendsync/edge/store"
)

// sumRules is a test rule that sums what requests add over a transaction
// and writes the sum once per commit (into sync_state.acked_seq).
type sumRules struct {
	sum, writes int64
	failWrite   bool
	add         *Stmt
}

func openSumWriter(t *testing.T) (*Writer, *sumRules) {
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
	r := &sumRules{add: w.Prepare(`UPDATE sync_state SET acked_seq = acked_seq + ? WHERE id = 1`)}
	w.OnCommit(func() { r.sum = 0 }, func(tx *Tx) error {
		if r.failWrite {
			return errors.New("write failed on purpose")
		}
		if r.sum == 0 {
			return nil
		}
		r.writes++
		if _, err := tx.Exec(r.add, r.sum); err != nil {
			return fmt.Errorf("add: %w", err)
		}
		return nil
	})
	if err := w.Open(context.Background()); err != nil {
		t.Fatalf("open writer: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w, r
}

// Sums over a batch are written once per commit, a failed transaction's
// sum is forgotten, and a failing write fails its transaction.
func TestOnCommit_OneWritePerCommitNothingFromAFailedOne(t *testing.T) {
	w, r := openSumWriter(t)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if err := w.Do(ctx, func(*Tx) error { r.sum++; return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := count(t, w, `SELECT acked_seq FROM sync_state WHERE id = 1`); got != n {
		t.Fatalf("sum = %d, want %d", got, n)
	}
	if got := count(t, w, `SELECT COUNT(*) FROM sync_state`); got != 1 {
		t.Fatalf("sync_state rows = %d", got)
	}
	t.Logf("%d requests, %d writes", n, r.writes)

	// A transaction that fails after adding leaves nothing, and the next
	// does not carry its sum.
	boom := errors.New("boom")
	if err := w.Do(ctx, func(*Tx) error { r.sum += 1000; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed transaction: %v", err)
	}
	if err := w.Do(ctx, func(*Tx) error { r.sum++; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := count(t, w, `SELECT acked_seq FROM sync_state WHERE id = 1`); got != n+1 {
		t.Fatalf("sum after a failed transaction = %d, want %d", got, n+1)
	}

	// A write that fails fails its transaction: the request's own writes
	// are rolled back too.
	r.failWrite = true
	if err := w.Do(ctx, func(tx *Tx) error {
		_, err := tx.Exec(r.add, int64(50))
		return err
	}); err == nil {
		t.Fatal("a failing commit write did not fail the transaction")
	}
	r.failWrite = false
	if got := count(t, w, `SELECT acked_seq FROM sync_state WHERE id = 1`); got != n+1 {
		t.Fatalf("sum after a failed write = %d, want %d", got, n+1)
	}
}
