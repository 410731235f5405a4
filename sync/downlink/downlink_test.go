package downlink_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/downlink"
)

// sqliteApplied is the Applied state in a real SQLite table.
type sqliteApplied struct{ db *sql.DB }

func newApplied(t *testing.T) *sqliteApplied {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "edge.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE downlink_state (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
INSERT INTO downlink_state VALUES (1, 0);`); err != nil {
		t.Fatal(err)
	}
	return &sqliteApplied{db: db}
}

func (s *sqliteApplied) LastApplied(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.db.QueryRowContext(ctx, `SELECT revision FROM downlink_state`).Scan(&n)
	return n, err
}

func (s *sqliteApplied) SetApplied(ctx context.Context, rev uint64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE downlink_state SET revision = ?`, rev)
	return err
}

// applied records what the handler saw.
type applied struct {
	mu      sync.Mutex
	values  map[string]string // key -> value, "<deleted>" for a delete
	revs    []uint64
	calls   int
	failOne bool
}

func (a *applied) handle(_ context.Context, key string, value []byte, rev uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if a.failOne {
		a.failOne = false
		return errors.New("transient")
	}
	if n := len(a.revs); n > 0 && rev <= a.revs[n-1] {
		return fmt.Errorf("revision %d after %d", rev, a.revs[n-1])
	}
	a.revs = append(a.revs, rev)
	if value == nil {
		a.values[key] = "<deleted>"
	} else {
		a.values[key] = string(value)
	}
	return nil
}

func (a *applied) get(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.values[key]
}

func (a *applied) wantValues(want map[string]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, v := range want {
		if a.values[k] != v {
			return fmt.Errorf("key %s = %q, want %q", k, a.values[k], v)
		}
	}
	return nil
}

func TestWatcher_ChangesMadeOfflineArriveAfterReconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := natstest.StartHub(t)
	pub, err := downlink.NewPublisher(ctx, h.JetStream())
	if err != nil {
		t.Fatal(err)
	}

	startSite := func(site string, l *testkit.Link) *leaf.Node {
		seed, _, err := h.IssueSite(site)
		if err != nil {
			t.Fatal(err)
		}
		return natstest.StartLeaf(t, site, seed, l.URL())
	}
	linkA, linkB := testkit.NewLink(t, h.LeafURL()), testkit.NewLink(t, h.LeafURL())
	a, b := startSite("A", linkA), startSite("B", linkB)

	stateA := newApplied(t)
	gotA := &applied{values: map[string]string{}, failOne: true}
	newWatcher := func() *downlink.Watcher {
		w, err := downlink.NewWatcher(downlink.WatcherConfig{Site: "A", JS: a.JetStream(), State: stateA, Handle: gotA.handle,
			Retry: 50 * time.Millisecond, Logger: testkit.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Open(ctx); err != nil {
			t.Fatal(err)
		}
		return w
	}
	wA := newWatcher()
	gotB := &applied{values: map[string]string{}}
	wB, err := downlink.NewWatcher(downlink.WatcherConfig{Site: "B", JS: b.JetStream(), State: newApplied(t), Handle: gotB.handle, Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := wB.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer wB.Close()

	// Enough data to need flow control across the leaf.
	want := map[string]string{}
	big := strings.Repeat("x", 4096)
	for i := 0; i < 800; i++ { // > 2 MiB: past the mirror consumer's flow-control window
		key := fmt.Sprintf("price.m%d.p1", i)
		if _, err := pub.Put(ctx, "A", key, []byte(big+key)); err != nil {
			t.Fatal(err)
		}
		want[key] = big + key
	}
	if _, err := pub.Put(ctx, "B", "price.m1.p1", []byte("B-secret")); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Put(ctx, "A", "machine.m1", []byte(`{"status":"ACTIVE"}`)); err != nil {
		t.Fatal(err)
	}
	want["machine.m1"] = `{"status":"ACTIVE"}`
	testkit.CheckFor(t, 30*time.Second, func() error { return gotA.wantValues(want) })
	testkit.CheckFor(t, 30*time.Second, func() error {
		return gotB.wantValues(map[string]string{"price.m1.p1": "B-secret"})
	})
	if got := gotA.get("price.m1.p1"); got == "B-secret" {
		t.Fatal("site A received B's price")
	}

	// The link goes down; central changes A's config meanwhile.
	linkA.Cut()
	natstest.WaitConnected(t, a, false)
	if _, err := pub.Put(ctx, "A", "machine.m1", []byte(`{"status":"MAINTENANCE"}`)); err != nil {
		t.Fatal(err)
	}
	if err := pub.Delete(ctx, "A", "price.m0.p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Put(ctx, "A", "threshold.m1.p1", []byte("5")); err != nil {
		t.Fatal(err)
	}
	// Offline, the site still reads its last copy locally.
	e, err := wA.KeyValue().Get(ctx, "A.machine.m1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(e.Value()), `{"status":"ACTIVE"}`; got != want {
		t.Fatalf("offline read = %s, want %s", got, want)
	}
	// The watcher restarts while offline and must not apply anything twice.
	if err := wA.Close(); err != nil {
		t.Fatal(err)
	}
	gotA.mu.Lock()
	callsBefore := len(gotA.revs)
	gotA.mu.Unlock()
	wA = newWatcher()
	defer wA.Close()

	linkA.Restore("")
	want["machine.m1"] = `{"status":"MAINTENANCE"}`
	want["price.m0.p1"] = "<deleted>"
	want["threshold.m1.p1"] = "5"
	testkit.CheckFor(t, 30*time.Second, func() error { return gotA.wantValues(want) })
	gotA.mu.Lock()
	if got, want := len(gotA.revs)-callsBefore, 3; got != want {
		t.Errorf("applied %d changes after reconnect, want %d", got, want)
	}
	gotA.mu.Unlock()
	// The watcher records a revision after its handler returns.
	testkit.CheckFor(t, 10*time.Second, func() error {
		last, err := stateA.LastApplied(ctx)
		if err != nil {
			return err
		}
		gotA.mu.Lock()
		defer gotA.mu.Unlock()
		if got := gotA.revs[len(gotA.revs)-1]; got != last {
			return fmt.Errorf("last applied = %d, handler's last = %d", last, got)
		}
		return nil
	})
}

// TestPublisher_MergeNeverLosesAConcurrentWrite: separate publishers (as on
// separate central nodes: nothing is shared but the bucket) incrementing one
// key at once count every increment.
func TestPublisher_MergeNeverLosesAConcurrentWrite(t *testing.T) {
	const writers, each = 4, 15
	h := natstest.StartHub(t)
	ctx := t.Context()
	pubs := make([]*downlink.Publisher, writers)
	for i := range pubs {
		js, err := jetstream.New(h.Conn())
		if err != nil {
			t.Fatal(err)
		}
		if pubs[i], err = downlink.NewPublisher(ctx, js); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Parallel(t, writers, func(i int) error {
		for range each {
			_, err := pubs[i].Merge(ctx, "s1", "counter", func(cur []byte) ([]byte, error) {
				n := 0
				if cur != nil {
					if _, err := fmt.Sscan(string(cur), &n); err != nil {
						return nil, err
					}
				}
				return []byte(strconv.Itoa(n + 1)), nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	kv, err := h.JetStream().KeyValue(ctx, "CONFIG")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "s1.counter")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(e.Value()), strconv.Itoa(writers*each); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}
