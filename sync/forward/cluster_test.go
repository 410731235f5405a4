package forward_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/forward"
)

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
	cluster := natstest.StartCluster(t)
	hubs, cfgs, leafURLs := cluster.Hubs, cluster.Configs, cluster.LeafURLs()
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
	n := natstest.StartLeaf(t, site, seed, leafURLs...)
	natstest.WaitConnected(t, n, true)
	ob := newOutbox(t, site)
	ob.onTrim = trimGuard(t, agg)
	f := newForwarder(t, forward.Config{
		Site: site, Conn: n.Conn(), Outbox: ob, BatchSize: 100,
		AckTimeout: 2 * time.Second, StallTimeout: 5 * time.Second,
		PollInterval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Logger: testkit.Logger(t),
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
	testkit.CheckFor(t, 30*time.Second, func() error {
		if c := agg.Contiguous(); c < 2000 {
			return fmt.Errorf("aggregator at %d", c)
		}
		return nil
	})
	hubs[0].Close()
	// Publishing continues on the two remaining nodes.
	mid := agg.Contiguous()
	testkit.CheckFor(t, 60*time.Second, func() error {
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
	h0 := natstest.OpenHub(t, cfgs[0])
	waitSynced(t, 60*time.Second, ob, agg, last)
	agg.Verify(t, last)

	want, err := localFleet(t, hubs[1].Server())
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
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
