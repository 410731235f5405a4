// Package fleet starts real fleets for tests and benchmarks: central nodes
// and sites (edge nodes with their embedded leaf servers), and compares what
// each side counted. Nothing is mocked. A cuttable link between them is
// testkit.NewLink.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

// StartCentral starts a single central node in dir with random ports.
func StartCentral(t testing.TB, dir string, mod func(*central.Config)) *central.Node {
	t.Helper()
	cfg := central.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.LeafListen = dir, "127.0.0.1:0", "127.0.0.1:-1"
	cfg.Logger = testkit.Logger(t)
	if mod != nil {
		mod(&cfg)
	}
	n, err := central.New(cfg)
	if err != nil {
		t.Fatalf("central config: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := n.Open(ctx); err != nil {
		t.Fatalf("open central: %v", err)
	}
	return n
}

// Site is a running site for tests.
type Site struct {
	ID       string
	Dir      string
	Node     *edge.Node
	Machines []string
	Products []string
	hub      string
	seed     string
	tz       string
	spec     SiteSpec
}

// SiteSpec describes a site to start.
type SiteSpec struct {
	ID, City, Timezone string
	Machines, Products int
	// HubURL is where the site's leaf connects ("" = standalone).
	HubURL string
	// ForwardBatch and HeartbeatEvery set the edge's (0: its defaults).
	ForwardBatch   int
	HeartbeatEvery time.Duration
	// Payments configures the site's payment gateway (zero: none).
	Payments edge.PaymentsConfig
	// OrderSubstituteWindow is the edge's time to answer a substitute
	// offer (0: its default).
	OrderSubstituteWindow time.Duration
}

// Register registers a site at central and returns its leaf seed.
func Register(t testing.TB, c *central.Node, id, city, tz string) string {
	t.Helper()
	seed, _, err := c.Sites.Add(context.Background(), sitereg.Site{ID: id, City: city, Timezone: tz}, false)
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	return seed
}

// StartSite initializes and opens an edge for spec, registering machines and
// products (price of product i = 1.00 + i, stock 100000).
func StartSite(t testing.TB, spec SiteSpec, seed string) *Site {
	t.Helper()
	s := &Site{ID: spec.ID, Dir: filepath.Join(t.TempDir(), spec.ID), hub: spec.HubURL, seed: seed, tz: spec.Timezone, spec: spec}
	ctx := context.Background()
	if _, err := edge.Init(ctx, s.Dir, store.SiteInit{ID: spec.ID, City: spec.City, Timezone: spec.Timezone}); err != nil {
		t.Fatalf("init %s: %v", spec.ID, err)
	}
	s.Open(t)
	for m := range spec.Machines {
		id := fmt.Sprintf("%s-VM%02d", spec.ID, m)
		s.Machines = append(s.Machines, id)
		if err := s.Node.Machines.Register(ctx, machine.In{MachineID: id, Location: &machine.LocationIn{City: spec.City, Building: fmt.Sprintf("B%d", m%2)}}, "test"); err != nil {
			t.Fatalf("register machine: %v", err)
		}
		for p := range spec.Products {
			pid := fmt.Sprintf("P%02d", p)
			if m == 0 {
				s.Products = append(s.Products, pid)
			}
			price := wire.Money(100 + 100*p)
			q := int64(wire.MaxQuantity)
			if _, err := s.Node.Stock.AddProduct(ctx, id, stock.ProductIn{ProductID: pid, Name: "Product " + pid, Price: &price, Quantity: &q}, "test"); err != nil {
				t.Fatalf("add product: %v", err)
			}
		}
	}
	return s
}

// Open (re)opens the site's edge node on its directory.
func (s *Site) Open(t testing.TB) {
	t.Helper()
	cfg := edge.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.SweepEvery = s.Dir, "127.0.0.1:0", time.Hour
	cfg.ForwardBatch, cfg.HeartbeatEvery = s.spec.ForwardBatch, s.spec.HeartbeatEvery
	cfg.Logger = testkit.Logger(t)
	cfg.Payments = s.spec.Payments
	cfg.OrderSubstituteWindow = s.spec.OrderSubstituteWindow
	if s.hub != "" {
		cfg.HubURLs, cfg.LeafSeed = strings.Split(s.hub, ","), s.seed
	}
	n, err := edge.New(cfg)
	if err != nil {
		t.Fatalf("edge config: %v", err)
	}
	if err := n.Open(context.Background()); err != nil {
		t.Fatalf("open edge %s: %v", s.ID, err)
	}
	s.Node = n
}

// Close closes the site's edge node.
func (s *Site) Close() {
	if s.Node != nil {
		s.Node.Close()
		s.Node = nil
	}
}

// Sell records n sales through the writer's batch path, spread over the
// `spread` before now, round-robin over machines and products; quantity
// cycles 1..3. It returns the number accepted.
func (s *Site) Sell(t testing.TB, prefix string, n int, spread time.Duration) int {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	accepted := 0
	for i := 0; i < n; i += 500 {
		var ins []sale.In
		for j := i; j < min(n, i+500); j++ {
			q := int64(1 + j%3)
			p := (j / len(s.Machines)) % len(s.Products)
			amt := wire.Money(int64(100+100*p) * q)
			at := now.Add(-time.Duration(float64(spread) * float64(n-j) / float64(n)))
			ins = append(ins, sale.In{
				TransactionID: fmt.Sprintf("%s-%s-%d", s.ID, prefix, j), MachineID: s.Machines[j%len(s.Machines)], ProductID: s.Products[p],
				Quantity: &q, Amount: &amt, PaymentMethod: "CARD", Timestamp: at.UTC().Format(time.RFC3339Nano),
			})
		}
		res, err := s.Node.Sales.RecordBatch(ctx, ins, "")
		if err != nil {
			t.Fatalf("sell: %v", err)
		}
		for _, r := range res {
			if r.Status == "ACCEPTED" {
				accepted++
			} else if r.Status == "REJECTED" {
				t.Fatalf("sale %s rejected: %v", r.TransactionID, r.Error)
			}
		}
	}
	return accepted
}

// LastSeq is the site's highest outbox sequence.
func (s *Site) LastSeq(t testing.TB) uint64 {
	t.Helper()
	st, err := s.Node.Store.OutboxStats(context.Background(), time.Now())
	if err != nil {
		t.Fatalf("outbox stats: %v", err)
	}
	return st.LastSeq
}

// Totals is one group's sums.
type Totals struct{ Tx, Qty, Rev int64 }

// Key of a bucketed aggregate row.
type Key struct {
	Group  string
	Bucket string
}

var wide = struct{ from, to time.Time }{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}

// EdgeAgg is the site's own aggregate rows for dim and window.
func (s *Site) EdgeAgg(t testing.TB, dim string, w bucket.Window) map[Key]Totals {
	t.Helper()
	rows, _, err := s.Node.Store.SalesAgg(context.Background(), dim, w, wide.from, wide.to)
	if err != nil {
		t.Fatalf("edge aggregates: %v", err)
	}
	out := map[Key]Totals{}
	for _, r := range rows {
		out[Key{r.Key, r.Bucket}] = Totals{r.Transactions, r.Quantity, int64(r.Revenue)}
	}
	return out
}

// CentralAgg is a central node's aggregate rows.
func CentralAgg(t testing.TB, c *central.Node, dim readmodel.Dim, w bucket.Window, city, site string) map[Key]Totals {
	t.Helper()
	res, err := c.Store.Sales(context.Background(), readmodel.SalesQuery{GroupBy: dim, Window: w, From: wide.from, To: wide.to, City: city, Site: site})
	if err != nil {
		t.Fatalf("central aggregates: %v", err)
	}
	out := map[Key]Totals{}
	for _, r := range res.Rows {
		out[Key{r.Key, bucket.Label(r.Bucket.Unix())}] = Totals{r.TxCount, r.Quantity, r.RevenueCents}
	}
	return out
}

// Sum adds rows into per-group totals (across buckets).
func Sum(rows ...map[Key]Totals) map[string]Totals {
	out := map[string]Totals{}
	for _, m := range rows {
		for k, v := range m {
			t := out[k.Group]
			t.Tx += v.Tx
			t.Qty += v.Qty
			t.Rev += v.Rev
			out[k.Group] = t
		}
	}
	return out
}

// WaitSynced waits until central's watermark for the site covers all of the
// site's outbox. It fails when the watermark has not moved for stall: a
// stalled uplink, told apart from a slow machine (a -race run on busy cores
// moves a 10,000-event backlog ten times slower, but it moves).
func WaitSynced(t testing.TB, c *central.Node, s *Site, stall time.Duration) {
	t.Helper()
	want := s.LastSeq(t)
	var seen uint64
	moved := time.Now()
	for {
		f, err := c.Store.Site(context.Background(), s.ID)
		if err != nil && !errors.Is(err, readmodel.ErrNotFound) {
			t.Fatal(err)
		}
		if f.Contiguous >= want {
			return
		}
		if f.Contiguous > seen {
			seen, moved = f.Contiguous, time.Now()
		}
		if time.Since(moved) > stall {
			t.Fatalf("site %s: central's watermark stuck at %d for %s (maxSeen %d), want %d", s.ID, f.Contiguous, stall, f.MaxSeen, want)
		}
		time.Sleep(testkit.PollInterval)
	}
}
