package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/sync/bucket"
)

// clusterCfg configures node i of a 3-node cluster.
func clusterCfg(dirs, routes, leafs []string, i int) func(*central.Config) {
	return func(c *central.Config) {
		c.Dir = dirs[i]
		c.ServerName = fmt.Sprintf("central-%d", i+1)
		c.ClusterName = "hq"
		c.ClusterListen = routes[i]
		c.LeafListen = leafs[i]
		c.Replicas = 3
		c.ReadyTimeout = 90 * time.Second
		for j, r := range routes {
			if j != i {
				c.Routes = append(c.Routes, "nats-route://"+r)
			}
		}
	}
}

// cluster is a running 3-node central cluster.
type cluster struct {
	nodes               []*central.Node
	dirs, routes, leafs []string
}

// startCluster starts a 3-node cluster, each node's configuration then
// changed by mods; Close closes the nodes still open.
func startCluster(t *testing.T, mods ...func(*central.Config)) *cluster {
	t.Helper()
	base := t.TempDir()
	c := &cluster{nodes: make([]*central.Node, 3)}
	addrs := testkit.FreeAddrs(t, 6)
	for i := range 3 {
		c.dirs = append(c.dirs, filepath.Join(base, fmt.Sprint(i)))
		c.routes = append(c.routes, addrs[i].String())
		c.leafs = append(c.leafs, addrs[3+i].String())
	}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.nodes[i] = fleet.StartCentral(t, c.dirs[i], func(cfg *central.Config) {
				clusterCfg(c.dirs, c.routes, c.leafs, i)(cfg)
				for _, m := range mods {
					m(cfg)
				}
			})
		}()
	}
	wg.Wait()
	for _, n := range c.nodes {
		if n == nil {
			c.Close()
			t.FailNow()
		}
	}
	return c
}

// restart (re)starts node i.
func (c *cluster) restart(t *testing.T, i int) {
	t.Helper()
	c.nodes[i] = fleet.StartCentral(t, c.dirs[i], clusterCfg(c.dirs, c.routes, c.leafs, i))
}

// Close closes every node still open.
func (c *cluster) Close() {
	for _, n := range c.nodes {
		if n != nil {
			n.Close()
		}
	}
}

func TestFleet_ClusterSurvivesNodeLoss(t *testing.T) {
	c := startCluster(t)
	defer c.Close()
	nodes, leafs := c.nodes, c.leafs
	sp := fleet.SiteSpec{ID: "ha", City: "Hyderabad", Timezone: "Asia/Kolkata", Machines: 3, Products: 3,
		HubURL: "nats-leaf://" + leafs[0] + ",nats-leaf://" + leafs[1] + ",nats-leaf://" + leafs[2]}
	seed := fleet.Register(t, nodes[0], sp.ID, sp.City, sp.Timezone)
	s := fleet.StartSite(t, sp, seed)
	defer s.Close()
	// A site registered through node 1 and pointed only at node 3 is admitted
	// there: the site registry reaches every node's hub.
	sp3 := fleet.SiteSpec{ID: "ha3", City: "Hyderabad", Timezone: "Asia/Kolkata", Machines: 1, Products: 1, HubURL: "nats-leaf://" + leafs[2]}
	s3 := fleet.StartSite(t, sp3, fleet.Register(t, nodes[0], sp3.ID, sp3.City, sp3.Timezone))
	defer s3.Close()
	s3.Sell(t, "x", 10, time.Hour)
	fleet.WaitSynced(t, nodes[2], s3, time.Minute)
	s.Sell(t, "a", 1500, 24*time.Hour)
	fleet.WaitSynced(t, nodes[2], s, 2*time.Minute)

	// Lose node 2 while the site keeps selling.
	// Node 2 goes once central applies some of the new sales, however fast
	// the site sells them.
	before := s.LastSeq(t)
	done := make(chan int)
	go func() { done <- s.Sell(t, "b", 4500, 12*time.Hour) }()
	testkit.CheckFor(t, time.Minute, func() error {
		if f, _ := nodes[0].Store.Site(context.Background(), s.ID); f.Contiguous <= before {
			return fmt.Errorf("ingest of the new sales not under way: central at %d, site at %d before them", f.Contiguous, before)
		}
		return nil
	})
	if err := nodes[1].Close(); err != nil {
		t.Logf("close node 2: %v", err)
	}
	nodes[1] = nil
	if got := <-done; got != 4500 {
		t.Fatalf("accepted %d, want 4500", got)
	}
	for _, i := range []int{0, 2} {
		fleet.WaitSynced(t, nodes[i], s, 2*time.Minute)
		assertSiteMatches(t, nodes[i], s)
		if tot := fleet.Sum(fleet.CentralAgg(t, nodes[i], readmodel.BySite, bucket.Month, "", ""))[s.ID]; tot.Tx != 6000 {
			t.Fatalf("node %d counts %d sales, want 6000", i+1, tot.Tx)
		}
	}
	// Node 2 returns and catches up from the replicated stream; every node
	// answers queries with the same totals.
	c.restart(t, 1)
	fleet.WaitSynced(t, nodes[1], s, 2*time.Minute)
	assertSiteMatches(t, nodes[1], s)
	for i, n := range nodes {
		if tot := fleet.Sum(fleet.CentralAgg(t, n, readmodel.BySite, bucket.Month, "", ""))[s.ID]; tot.Tx != 6000 {
			t.Fatalf("node %d counts %d sales, want 6000", i+1, tot.Tx)
		}
	}
}
