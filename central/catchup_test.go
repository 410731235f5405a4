package central_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/sync/bucket"
)

// readyz returns a node's /readyz status and its Vendsync-Behind header.
func readyz(t *testing.T, n *central.Node) (int, string) {
	t.Helper()
	resp, err := http.Get(n.URL() + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(api.HeaderBehind)
}

// TestFleet_RestartedNodeNotReadyUntilCaughtUp restarts a central node
// after the stream grew by a backlog while it was down: until its read
// model has applied that backlog its /readyz answers 503 (and its answers
// say it is behind), and whenever it answers 200 its totals are the other
// nodes'.
func TestFleet_RestartedNodeNotReadyUntilCaughtUp(t *testing.T) {
	c := startCluster(t)
	defer c.Close()
	// Few events per stream message: a backlog of many messages takes the
	// restarted node a while to apply (a commit each).
	sp := fleet.SiteSpec{ID: "cu", City: "Pune", Timezone: "Asia/Kolkata", Machines: 2, Products: 2,
		HubURL: "nats-leaf://" + c.leafs[0], ForwardBatch: 30, HeartbeatEvery: 200 * time.Millisecond}
	s := fleet.StartSite(t, sp, fleet.Register(t, c.nodes[0], sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	s.Sell(t, "a", 50, time.Hour)
	fleet.WaitSynced(t, c.nodes[1], s, 2*time.Minute)

	if err := c.nodes[1].Close(); err != nil {
		t.Logf("close node 2: %v", err)
	}
	c.nodes[1] = nil
	const backlog = 3000
	if got := s.Sell(t, "b", backlog, time.Hour); got != backlog {
		t.Fatalf("accepted %d, want %d", got, backlog)
	}
	fleet.WaitSynced(t, c.nodes[0], s, 5*time.Minute)
	want := fleet.Sum(fleet.CentralAgg(t, c.nodes[0], readmodel.BySite, bucket.Month, "", ""))[s.ID]
	if want.Tx != 50+backlog {
		t.Fatalf("node 1 counts %d sales, want %d", want.Tx, 50+backlog)
	}

	c.restart(t, 1)
	n := c.nodes[1]
	notReady := 0
	testkit.CheckFor(t, 2*time.Minute, func() error {
		status, behind := readyz(t, n)
		got := fleet.Sum(fleet.CentralAgg(t, n, readmodel.BySite, bucket.Month, "", ""))[s.ID]
		switch status {
		case http.StatusServiceUnavailable:
			notReady++
			if behind == "" {
				t.Fatalf("not ready, but no %s header", api.HeaderBehind)
			}
			return fmt.Errorf("not ready (%s messages behind), counts %d sales", behind, got.Tx)
		case http.StatusOK:
			// Read after readyz: totals can only have grown since.
			if got != want {
				t.Fatalf("/readyz 200 while the node counts %+v, the others %+v", got, want)
			}
			if behind != "" {
				t.Fatalf("ready, but %s: %s", api.HeaderBehind, behind)
			}
			return nil
		default:
			t.Fatalf("GET /readyz: status %d", status)
		}
		return nil
	})
	if notReady == 0 {
		t.Fatal("the restarted node was ready at once: the backlog was not observed")
	}
	if err := n.Aggregator.CaughtUp(context.Background()); err != nil {
		t.Fatalf("ready, but CaughtUp: %v", err)
	}
	t.Logf("restarted node answered /readyz 503 %d times", notReady)

	// The site's leaf reaches node 1 only, yet every node hears its
	// heartbeats, the restarted one included.
	for i, n := range c.nodes {
		testkit.CheckFor(t, time.Minute, func() error {
			if f, err := n.Store.Site(context.Background(), s.ID); err != nil || !f.Connected || f.Since.IsZero() {
				return fmt.Errorf("node %d: site %+v, %v: want connected", i+1, f, err)
			}
			return nil
		})
	}
}
