package edge

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/testkit"
)

// TestUplinkOutbox_ReadsOnlyDurableEvents: while the writer's fsync is
// held, committed events are in the outbox (readers see them) but the
// uplink's reader returns none of them, so the forwarder cannot send
// central an event a power cut could take back; released, it returns them.
func TestUplinkOutbox_ReadsOnlyDurableEvents(t *testing.T) {
	ctx := context.Background()
	cfg := initTestSite(t, "durable-site")
	var mu sync.Mutex
	var hold chan struct{} // non-nil: fsyncs covering a commit above holdAbove wait for it
	var holdAbove uint64
	var n *Node
	entered := make(chan struct{}, 16)
	cfg.Ingest.Fsync = ingest.FsyncPipelined
	cfg.Ingest.SyncHook = func(sync func() error) error {
		mu.Lock()
		h, above := hold, holdAbove
		mu.Unlock()
		if h != nil {
			// Only an fsync that covers a registration's commit is held
			// (not, say, a sweep's that happens to run first).
			var last uint64
			if err := n.Store.DB.R.QueryRowContext(context.Background(), store.LastSeqQuery).Scan(&last); err == nil && last > above {
				entered <- struct{}{}
				<-h
			}
		}
		return sync()
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before Close, should the test fail holding an fsync

	if err := n.Machines.Register(ctx, machine.In{MachineID: "M0", Location: &machine.LocationIn{City: "Testville"}}, "test"); err != nil {
		t.Fatal(err)
	}
	out := storeOutbox{n}
	base := n.Writer.DurableSeq()
	if recs, err := out.ReadAfter(ctx, 0, 1000); err != nil || len(recs) == 0 || recs[len(recs)-1].Seq != base {
		t.Fatalf("outbox before the hold: %d records up to durable %d (%v)", len(recs), base, err)
	}

	mu.Lock()
	hold, holdAbove = release, base
	mu.Unlock()
	const machines = 3
	done := make(chan error, machines)
	for i := range machines {
		go func() {
			done <- n.Machines.Register(ctx, machine.In{MachineID: fmt.Sprintf("M%d", i+1), Location: &machine.LocationIn{City: "Testville"}}, "test")
		}()
	}
	<-entered
	var last uint64
	testkit.CheckFor(t, 10*time.Second, func() error {
		if err := n.Store.DB.R.QueryRowContext(ctx, store.LastSeqQuery).Scan(&last); err != nil {
			return err
		}
		// A first transaction committed; the writer holds the others in
		// its next one until the fsync ends (ingest: it grows while the
		// syncer is busy).
		if last <= base {
			return fmt.Errorf("last_seq %d, want above %d (a registration committed)", last, base)
		}
		return nil
	})
	recs, err := out.ReadAfter(ctx, base, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Fatalf("uplink read %d events up to seq %d beyond the durable %d while the fsync is held", len(recs), recs[len(recs)-1].Seq, base)
	}
	if got := n.Writer.DurableSeq(); got != base {
		t.Fatalf("DurableSeq = %d while the fsync is held, want %d", got, base)
	}

	open()
	for range machines {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Store.DB.R.QueryRowContext(ctx, store.LastSeqQuery).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if last != base+machines {
		t.Fatalf("last_seq %d after the answers, want %d", last, base+machines)
	}
	if got := n.Writer.DurableSeq(); got != last {
		t.Fatalf("DurableSeq = %d after the answers, want %d", got, last)
	}
	recs, err = out.ReadAfter(ctx, base, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := uint64(len(recs)), last-base; got != want || recs[len(recs)-1].Seq != last {
		t.Fatalf("uplink read %d events after the fsync, want %d up to %d", got, want, last)
	}
}
