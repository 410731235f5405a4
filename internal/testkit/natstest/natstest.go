// Package natstest starts vendsync's nats-server roles for tests: central's
// hub (one node or a three-node cluster) and sites' leaf nodes, on random
// loopback ports with their stores in t.TempDir(), closed when the test ends.
package natstest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/internal/testkit"
)

// HubConfig is a single-node hub configuration for a test: store in a new
// t.TempDir(), leaf and client listeners on random loopback ports, the
// test's logger.
func HubConfig(t testing.TB) hub.Config {
	t.Helper()
	cfg := hub.DefaultConfig()
	cfg.StoreDir = t.TempDir()
	cfg.LeafListen = "127.0.0.1:-1"
	cfg.ClientListen = "127.0.0.1:-1"
	cfg.Logger = testkit.Logger(t)
	return cfg
}

// StartHub opens a hub with HubConfig changed by mods.
func StartHub(t testing.TB, mods ...func(*hub.Config)) *hub.Hub {
	t.Helper()
	cfg := HubConfig(t)
	for _, m := range mods {
		m(&cfg)
	}
	return OpenHub(t, cfg)
}

// OpenHub opens a hub with cfg (to reopen one on the same store and ports).
func OpenHub(t testing.TB, cfg hub.Config) *hub.Hub {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatalf("new hub: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := h.Open(ctx); err != nil {
		t.Fatalf("open hub %s: %v", cfg.ServerName, err)
	}
	t.Cleanup(h.Close)
	return h
}

// Cluster is a three-node R3 hub cluster.
type Cluster struct {
	Hubs    []*hub.Hub
	Configs []hub.Config // each node's configuration, to reopen it
}

// StartCluster opens three hub nodes hub-1..hub-3 with replicas 3 together
// (JetStream needs a quorum). Route and leaf listeners are on fixed free
// ports, so a node reopened with its Config is found at the same address.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	const n = 3
	ports := testkit.FreePorts(t, 2*n) // n route ports, n leaf ports
	c := &Cluster{Hubs: make([]*hub.Hub, n), Configs: make([]hub.Config, n)}
	for i := range n {
		cfg := HubConfig(t)
		cfg.ServerName = fmt.Sprintf("hub-%d", i+1)
		cfg.StoreDir = filepath.Join(cfg.StoreDir, cfg.ServerName)
		cfg.LeafListen = fmt.Sprintf("127.0.0.1:%d", ports[n+i])
		cfg.ClusterName = "central"
		cfg.ClusterListen = fmt.Sprintf("127.0.0.1:%d", ports[i])
		for j := range n {
			if j != i {
				cfg.Routes = append(cfg.Routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[j]))
			}
		}
		cfg.Replicas = 3
		c.Configs[i] = cfg
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		h, err := hub.New(c.Configs[i])
		if err != nil {
			t.Fatalf("new hub: %v", err)
		}
		c.Hubs[i] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			errs[i] = h.Open(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		t.Cleanup(c.Hubs[i].Close)
		if err != nil {
			t.Fatalf("open hub-%d: %v", i+1, err)
		}
	}
	return c
}

// LeafURLs are the nodes' leaf listeners, nats-leaf://host:port.
func (c *Cluster) LeafURLs() []string {
	out := make([]string, len(c.Configs))
	for i, cfg := range c.Configs {
		out[i] = "nats-leaf://" + cfg.LeafListen
	}
	return out
}

// LeafConfig is a site's leaf configuration for a test: store in a new
// t.TempDir(), reconnecting every 100ms to hubURLs ("" seed and no URLs =
// standalone), the test's logger.
func LeafConfig(t testing.TB, site, seed string, hubURLs ...string) leaf.Config {
	t.Helper()
	return leaf.Config{
		SiteID: site, StoreDir: t.TempDir(), HubURLs: hubURLs, CredsSeed: seed,
		ReconnectInterval: 100 * time.Millisecond, Logger: testkit.Logger(t),
	}
}

// StartLeaf opens a site's leaf node with LeafConfig.
func StartLeaf(t testing.TB, site, seed string, hubURLs ...string) *leaf.Node {
	t.Helper()
	return OpenLeaf(t, LeafConfig(t, site, seed, hubURLs...))
}

// OpenLeaf opens a leaf node with cfg.
func OpenLeaf(t testing.TB, cfg leaf.Config) *leaf.Node {
	t.Helper()
	n, err := leaf.New(cfg)
	if err != nil {
		t.Fatalf("new leaf: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Open(ctx); err != nil {
		t.Fatalf("open leaf %s: %v", cfg.SiteID, err)
	}
	t.Cleanup(n.Close)
	return n
}

// ConnectSite issues site's leaf key on h, starts the site's leaf node
// connected to h's leaf listener and waits until it is connected. It returns
// the node and the site's seed.
func ConnectSite(t testing.TB, h *hub.Hub, site string) (*leaf.Node, string) {
	t.Helper()
	seed, _, err := h.IssueSite(site)
	if err != nil {
		t.Fatalf("issue site %s: %v", site, err)
	}
	n := StartLeaf(t, site, seed, h.LeafURL())
	WaitConnected(t, n, true)
	return n, seed
}

// WaitConnected waits up to 15s until n's leaf connection to central is up
// (want true) or down (want false).
func WaitConnected(t testing.TB, n *leaf.Node, want bool) {
	t.Helper()
	testkit.CheckFor(t, 15*time.Second, func() error {
		if got := n.Connected(); got != want {
			return fmt.Errorf("leaf connected = %v, want %v", got, want)
		}
		return nil
	})
}
