package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
)

// openWriterWith is openWriter with cfg.
func openWriterWith(t *testing.T, cfg Config) (*Writer, *auditView) {
	t.Helper()
	st, err := store.Init(context.Background(), t.TempDir(), store.SiteInit{ID: "s1", Name: "Test", City: "Testville", Timezone: "UTC"})
	if err != nil {
		t.Fatalf("init store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := &auditView{}
	w.Register(v)
	if err := w.Open(context.Background()); err != nil {
		t.Fatalf("open writer: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w, v
}

// fsyncGate holds the writer's fsyncs while armed: each one signals
// entered and waits for release.
type fsyncGate struct {
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

// open lets every held fsync and later ones through.
func (g *fsyncGate) open() { g.once.Do(func() { close(g.release) }) }

func newFsyncGate() *fsyncGate {
	return &fsyncGate{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *fsyncGate) hook(sync func() error) error {
	g.mu.Lock()
	armed := g.armed
	g.mu.Unlock()
	if armed {
		g.entered <- struct{}{}
		<-g.release
	}
	return sync()
}

func (g *fsyncGate) arm() { g.mu.Lock(); g.armed = true; g.mu.Unlock() }

// TestPipelined_AnswersOnlyAfterAnFsyncThatBeganAfterTheCommit drives the
// writer from many goroutines, accepted, rejected and failed requests
// mixed, and checks every answer against what the fsyncs covered: each
// fsync records, as it begins, how many transactions had ended (they are
// all on disk once it returns); each request records the transaction it
// ran in. No answer may come before an fsync covering its transaction.
func TestPipelined_AnswersOnlyAfterAnFsyncThatBeganAfterTheCommit(t *testing.T) {
	var mu sync.Mutex
	var covered uint64 // transactions known durable
	var fsyncs int
	var w *Writer
	cfg := DefaultConfig()
	cfg.Fsync = FsyncPipelined
	cfg.SyncHook = func(sync func() error) error {
		began := w.ended.Load()
		if err := sync(); err != nil {
			return err
		}
		mu.Lock()
		covered = max(covered, began)
		fsyncs++
		mu.Unlock()
		return nil
	}
	w, v := openWriterWith(t, cfg)
	durableSeen := func() uint64 { mu.Lock(); defer mu.Unlock(); return covered }

	const workers, each = 16, 40
	errCh := make(chan error, workers*each)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var txn uint64
				err := w.Do(context.Background(), func(t *Tx) error {
					txn = w.txns + 1 // the transaction this request runs in
					switch i % 10 {
					case 3: // rejected: answered from state that must be durable too
						return errs.Errorf(errs.Conflict, "TEST_CONFLICT", "", "refused")
					default:
						_, err := v.note(t, fmt.Sprintf("g%d-%d", g, i))
						return err
					}
				})
				if err != nil && errs.CodeOf(err) != "TEST_CONFLICT" {
					errCh <- fmt.Errorf("request %d/%d: %w", g, i, err)
					continue
				}
				if c := durableSeen(); c < txn {
					errCh <- fmt.Errorf("request %d/%d of transaction %d answered while fsyncs covered only %d", g, i, txn, c)
				}
			}
		}()
	}
	wg.Wait()
	close(errCh)
	for err := range errCh {
		t.Error(err)
	}
	last := w.lastSeq
	if got := w.DurableSeq(); got != last {
		t.Fatalf("DurableSeq = %d after every answer, want the last sequence %d", got, last)
	}
	mu.Lock()
	t.Logf("%d transactions, %d fsyncs", w.ended.Load(), fsyncs)
	mu.Unlock()
}

// TestPipelined_HeldFsyncGrowsTheNextTransaction: while the fsync covering
// a first transaction is held, the writer runs the requests that arrive in
// one open transaction (they would wait for that fsync anyway); nothing is
// answered, DurableSeq does not move, Appended is not signalled and the
// outbox read bounded by DurableSeq returns nothing, though the first
// commit is visible to readers. Released, the second transaction commits
// with both requests, and all three are answered and readable.
func TestPipelined_HeldFsyncGrowsTheNextTransaction(t *testing.T) {
	g := newFsyncGate()
	cfg := DefaultConfig()
	cfg.Fsync = FsyncPipelined
	cfg.SyncHook = g.hook
	w, v := openWriterWith(t, cfg)
	t.Cleanup(g.open) // before Close, should the test fail holding an fsync
	ctx := context.Background()
	g.arm()

	answered := make(chan error, 3)
	note := func(id string) chan struct{} {
		ran := make(chan struct{})
		go func() {
			answered <- w.Do(ctx, func(t *Tx) error {
				_, err := v.note(t, id)
				close(ran)
				return err
			})
		}()
		return ran
	}
	note("a")
	<-g.entered // the fsync covering "a" is running
	<-note("b")
	<-note("c")
	if got := w.ended.Load(); got != 1 {
		t.Fatalf("%d transactions ended while the fsync is held, want 1 (b and c wait in the next)", got)
	}
	if got, want := count(t, w, `SELECT COUNT(*) FROM outbox`), int64(1); got != want {
		t.Fatalf("%d outbox rows visible, want %d (a committed)", got, want)
	}
	select {
	case err := <-answered:
		t.Fatalf("a request was answered (%v) before the fsync covering it", err)
	case <-w.Appended():
		t.Fatal("Appended signalled before the fsync")
	default:
	}
	if got := w.DurableSeq(); got != 0 {
		t.Fatalf("DurableSeq = %d while the fsync is held, want 0", got)
	}
	recs, err := w.Store().ReadBetween(ctx, 0, w.DurableSeq(), 100)
	if err != nil || len(recs) != 0 {
		t.Fatalf("outbox read bounded by DurableSeq = %d records (%v), want none", len(recs), err)
	}

	g.open()
	for range 3 {
		if err := <-answered; err != nil {
			t.Fatal(err)
		}
	}
	if got := w.ended.Load(); got != 2 {
		t.Fatalf("%d transactions, want 2 (a; b and c)", got)
	}
	if got, want := w.DurableSeq(), uint64(3); got != want {
		t.Fatalf("DurableSeq = %d after the fsyncs, want %d", got, want)
	}
	select {
	case <-w.Appended():
	default:
		t.Fatal("no Appended signal after the fsync")
	}
	recs, err = w.Store().ReadBetween(ctx, 0, w.DurableSeq(), 100)
	if err != nil || len(recs) != 3 {
		t.Fatalf("outbox read = %d records (%v), want 3", len(recs), err)
	}
}

// TestPipelined_FailedFsyncStopsWrites: the requests a failed fsync should
// have covered fail, nothing is written after it, and the writer is not
// ready.
func TestPipelined_FailedFsyncStopsWrites(t *testing.T) {
	boom := errors.New("EIO")
	var fail sync.Mutex
	failing := false
	cfg := DefaultConfig()
	cfg.Fsync = FsyncPipelined
	cfg.SyncHook = func(sync func() error) error {
		fail.Lock()
		defer fail.Unlock()
		if failing {
			return boom
		}
		return sync()
	}
	w, v := openWriterWith(t, cfg)
	ctx := context.Background()
	if err := w.Do(ctx, func(t *Tx) error { _, err := v.note(t, "ok"); return err }); err != nil {
		t.Fatal(err)
	}
	fail.Lock()
	failing = true
	fail.Unlock()
	err := w.Do(ctx, func(t *Tx) error { _, err := v.note(t, "lost"); return err })
	if !errors.Is(err, ErrSyncFailed) || !errors.Is(err, boom) {
		t.Fatalf("request under a failed fsync: %v, want ErrSyncFailed wrapping the fsync's error", err)
	}
	ran := false
	err = w.Do(ctx, func(t *Tx) error { ran = true; return nil })
	if !errors.Is(err, ErrSyncFailed) || ran {
		t.Fatalf("request after a failed fsync: %v (ran %v), want ErrSyncFailed without running", err, ran)
	}
	if err := w.Ready(ctx); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("Ready = %v, want ErrSyncFailed", err)
	}
	if got, want := w.DurableSeq(), uint64(1); got != want {
		t.Fatalf("DurableSeq = %d, want %d (the failed fsync covers nothing)", got, want)
	}
}

// TestInline_CommitSyncsItself: with FsyncInline the writer commits with
// synchronous=FULL, runs no fsync of its own, and DurableSeq follows each
// commit.
func TestInline_CommitSyncsItself(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Fsync = FsyncInline
	cfg.SyncHook = func(func() error) error { return errors.New("inline mode ran a pipelined fsync") }
	w, v := openWriterWith(t, cfg)
	ctx := context.Background()
	for i := range 3 {
		if err := w.Do(ctx, func(t *Tx) error { _, err := v.note(t, fmt.Sprint(i)); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := w.DurableSeq(), uint64(3); got != want {
		t.Fatalf("DurableSeq = %d, want %d", got, want)
	}
	var mode int
	if err := w.Store().DB.W.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if got, want := mode, 2; got != want { // FULL
		t.Fatalf("writer connection synchronous = %d, want %d (FULL)", got, want)
	}
}

// TestPipelined_WriterConnectionNormalUntilClose: a pipelined writer's
// connection commits with synchronous=NORMAL, and Close puts it back to
// FULL for whoever writes the store next.
func TestPipelined_WriterConnectionNormalUntilClose(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Fsync = FsyncPipelined
	w, _ := openWriterWith(t, cfg)
	ctx := context.Background()
	mode := func() int {
		t.Helper()
		var m int
		if err := w.Store().DB.W.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if got, want := mode(), 1; got != want {
		t.Fatalf("synchronous = %d while open, want %d (NORMAL)", got, want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := mode(), 2; got != want {
		t.Fatalf("synchronous = %d after Close, want %d (FULL)", got, want)
	}
}

func TestConfig_ValidateFsync(t *testing.T) {
	tests := []struct {
		name  string
		fsync Fsync
		ok    bool
	}{
		{"default", "", true},
		{"pipelined", FsyncPipelined, true},
		{"inline", FsyncInline, true},
		{"unknown", "sometimes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Fsync = tt.fsync
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
