package hqlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/hqlog"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
)

// node is one central node's read model and HQ log.
type node struct {
	store *readmodel.Store
	log   *hqlog.Log
}

// nameIn is the data of the test's "name.add" entries.
type nameIn struct {
	Name string `json:"name"`
}

// nameOut is their result.
type nameOut struct {
	Name    string `json:"name"`
	AddedAt int64  `json:"addedAt"`
}

// addName is a deterministic handler: it refuses a name the log already
// added (state the log orders) and records the entry's time, not the node's.
func addName(s *readmodel.Store) hqlog.Handler {
	return func(ctx context.Context, e hqlog.Entry) (any, error) {
		var in nameIn
		if err := jsonUnmarshal(e.Data, &in); err != nil {
			return nil, err
		}
		if in.Name == "" {
			return nil, errs.Invalidf("name", "name is required")
		}
		var out nameOut
		err := s.WriteTx(ctx, func(ctx context.Context, tx *readmodel.WTx) error {
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS test_names (name TEXT PRIMARY KEY, added_at INTEGER NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM test_names WHERE name = ?`, in.Name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return errs.Errorf(errs.Conflict, "NAME_EXISTS", "name", "name %q exists", in.Name)
			}
			out = nameOut{Name: in.Name, AddedAt: tx.Now().UnixMilli()}
			_, err := tx.Exec(ctx, `INSERT INTO test_names (name, added_at) VALUES (?, ?)`, in.Name, out.AddedAt)
			return err
		})
		return out, err
	}
}


func startNode(t *testing.T, c *natstest.Cluster, i int, dbPath string) *node {
	t.Helper()
	s, err := readmodel.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	l := hqlog.New(hqlog.Config{JS: c.Hubs[i].JetStream(), Store: s, Replicas: 3, Wait: 20 * time.Second})
	l.Handle("name.add", addName(s))
	testkit.CheckFor(t, 30*time.Second, func() error { return l.Open(context.Background()) })
	n := &node{store: s, log: l}
	t.Cleanup(func() { n.close() })
	return n
}

func (n *node) close() {
	if n.log != nil {
		n.log.Close()
		n.store.Close()
		n.log = nil
	}
}

// names reads a node's test_names as "name@addedAt", sorted.
func (n *node) names(t *testing.T) string {
	t.Helper()
	var out []string
	err := n.store.WriteTx(context.Background(), func(ctx context.Context, tx *readmodel.WTx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS test_names (name TEXT PRIMARY KEY, added_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT name, added_at FROM test_names`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var at int64
			if err := rows.Scan(&name, &at); err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s@%d", name, at))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestLog_EveryNodeAppliesTheSameWrites: writes taken by different nodes of
// a 3-node cluster, concurrently, reach every node's read model with the
// same content and outcome; a refusal is the same everywhere; a retried
// request (same key) is applied once; a node that was down catches up when
// it comes back.
func TestLog_EveryNodeAppliesTheSameWrites(t *testing.T) {
	c := natstest.StartCluster(t)
	dir := t.TempDir()
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = startNode(t, c, i, filepath.Join(dir, fmt.Sprintf("central-%d.db", i+1)))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]int{}
	for i := range 30 {
		wg.Go(func() {
			// Names repeat: two nodes race to add each of the first ten.
			name := fmt.Sprintf("n%02d", i%20)
			var out nameOut
			err := nodes[i%3].log.Do(ctx, "name.add", "test", "", nameIn{Name: name}, &out)
			var e *errs.Error
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && out.Name == name:
				won[name]++
			case errors.As(err, &e) && e.Code == "NAME_EXISTS":
			default:
				t.Errorf("add %s: %+v, %v", name, out, err)
			}
		})
	}
	wg.Wait()
	for name, n := range won {
		if n != 1 {
			t.Errorf("%s added %d times", name, n)
		}
	}
	if len(won) != 20 {
		t.Fatalf("%d names added, want 20", len(won))
	}
	// A retried request with the same key: the same entry, answered again.
	var first, again nameOut
	if err := nodes[0].log.Do(ctx, "name.add", "test", "retry-1", nameIn{Name: "retried"}, &first); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].log.Do(ctx, "name.add", "test", "retry-1", nameIn{Name: "retried"}, &again); err != nil || again != first {
		t.Fatalf("retry = %+v, %v; want the first answer %+v", again, err, first)
	}
	var bad *errs.Error
	if err := nodes[1].log.Do(ctx, "name.add", "test", "", nameIn{}, nil); !errors.As(err, &bad) || bad.Field != "name" || bad.Kind != errs.Invalid {
		t.Fatalf("empty name: %v, want a refusal naming the field", err)
	}

	want := func() error {
		w := nodes[0].names(t)
		for i, n := range nodes[1:] {
			if got := n.names(t); got != w {
				return fmt.Errorf("node %d has %s, node 1 has %s", i+2, got, w)
			}
		}
		if strings.Count(w, ",")+1 != 21 {
			return fmt.Errorf("node 1 has %s, want 21 names", w)
		}
		return nil
	}
	testkit.CheckFor(t, 20*time.Second, want)

	// Node 3 stops; writes go on through the others; it catches up on return.
	path3 := filepath.Join(dir, "central-3.db")
	nodes[2].close()
	for i := range 5 {
		if err := nodes[i%2].log.Do(ctx, "name.add", "test", "", nameIn{Name: fmt.Sprintf("later%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	nodes[2] = startNode(t, c, 2, path3)
	testkit.CheckFor(t, 20*time.Second, func() error {
		// The position moves just after the entry's commit: read it first.
		p0, p2 := nodes[0].log.Position(), nodes[2].log.Position()
		if a, b := nodes[0].names(t), nodes[2].names(t); a != b {
			return fmt.Errorf("node 3 has %s, node 1 has %s", b, a)
		}
		if p0 != p2 {
			return fmt.Errorf("positions %d and %d", p0, p2)
		}
		return nil
	})
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return errs.Invalidf("data", "%v", err)
	}
	return nil
}
