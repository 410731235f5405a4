package forward_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/forward"
)

// freePorts reserves n distinct TCP ports on 127.0.0.1 (released before use:
// the cluster needs to know its route ports before any node starts).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// localFleet returns FLEET's state as stored on one server's own replica.
func localFleet(t *testing.T, s *server.Server) (server.StreamState, error) {
	t.Helper()
	jsz, err := s.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		return server.StreamState{}, err
	}
	for _, ad := range jsz.AccountDetails {
		for _, sd := range ad.Streams {
			if sd.Name == envelope.StreamIngest {
				return sd.State, nil
			}
		}
	}
	return server.StreamState{}, fmt.Errorf("no %s on %s", envelope.StreamIngest, s.Name())
}

func TestForwarder_HubClusterLosesANode(t *testing.T) {
	const site = "s1"
	ports := freePorts(t, 6) // 3 route ports, 3 leaf ports
	cfgs := make([]hub.Config, 3)
	var leafURLs []string
	for i := range cfgs {
		cfg := hub.DefaultConfig()
		cfg.ServerName = fmt.Sprintf("hub-%d", i+1)
		cfg.StoreDir = filepath.Join(t.TempDir(), cfg.ServerName)
		cfg.LeafListen = fmt.Sprintf("127.0.0.1:%d", ports[3+i])
		cfg.ClusterName = "central"
		cfg.ClusterListen = fmt.Sprintf("127.0.0.1:%d", ports[i])
		for j := 0; j < 3; j++ {
			if j != i {
				cfg.Routes = append(cfg.Routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[j]))
			}
		}
		cfg.Replicas = 3
		cfg.Logger = testLogger(t)
		cfgs[i] = cfg
		leafURLs = append(leafURLs, fmt.Sprintf("nats-leaf://127.0.0.1:%d", ports[3+i]))
	}
	// Nodes wait for each other (JetStream needs a quorum), so open them together.
	hubs := make([]*hub.Hub, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range cfgs {
		h, err := hub.New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		hubs[i] = h
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
		if err != nil {
			t.Fatalf("hub %d: %v", i+1, err)
		}
		t.Cleanup(hubs[i].Close)
	}
	// The site's key is issued on one node and registered on the others.
	seed, pub, err := hubs[0].IssueSite(site)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hubs[1:] {
		if err := h.AddSite(site, pub); err != nil {
			t.Fatal(err)
		}
	}

	agg := newAggregator(site)
	agg.Attach(t, hubs[1].Conn())
	t.Cleanup(agg.Detach)
	n := startSite(t, site, seed, leafURLs...)
	waitConnected(t, n, true)
	ob := newOutbox(t, site)
	ob.onTrim = trimGuard(t, agg)
	f := newForwarder(t, forward.Config{
		Site: site, Conn: n.Conn(), Outbox: ob, BatchSize: 100,
		AckTimeout: 2 * time.Second, StallTimeout: 5 * time.Second,
		PollInterval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Logger: testLogger(t),
	})

	// Publishing runs while node 1 goes away.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var appendWG sync.WaitGroup
	appendWG.Add(1)
	var last uint64
	go func() {
		defer appendWG.Done()
		for i := 0; i < 100 && ctx.Err() == nil; i++ {
			last = ob.Append(t, 100)
			f.Poke()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	checkFor(t, 30*time.Second, func() error {
		if c := agg.Contiguous(); c < 2000 {
			return fmt.Errorf("aggregator at %d", c)
		}
		return nil
	})
	hubs[0].Close()
	// Publishing continues on the two remaining nodes.
	mid := agg.Contiguous()
	checkFor(t, 60*time.Second, func() error {
		if c := agg.Contiguous(); c < mid+2000 {
			return fmt.Errorf("aggregator at %d, want >= %d while a node is down", c, mid+2000)
		}
		return nil
	})
	appendWG.Wait()
	if last != 10000 {
		t.Fatalf("appended up to %d, want 10000", last)
	}

	// Node 1 returns and catches up.
	h0, err := hub.New(cfgs[0])
	if err != nil {
		t.Fatal(err)
	}
	openCtx, openCancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer openCancel()
	if err := h0.Open(openCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h0.Close)
	waitSynced(t, 60*time.Second, ob, agg, last)
	agg.Verify(t, last)

	want, err := localFleet(t, hubs[1].Server())
	if err != nil {
		t.Fatal(err)
	}
	checkFor(t, 30*time.Second, func() error {
		got, err := localFleet(t, h0.Server())
		if err != nil {
			return err
		}
		if got.Msgs != want.Msgs || got.LastSeq != want.LastSeq {
			return fmt.Errorf("returned node has %d msgs up to %d, others %d up to %d", got.Msgs, got.LastSeq, want.Msgs, want.LastSeq)
		}
		return nil
	})
}
