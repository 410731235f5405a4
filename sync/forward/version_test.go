package forward_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/forward"
)

// A site newer than central sends nothing and keeps its outbox; once
// central says it reads the site's version, the outbox drains by itself,
// every event exactly once.
func TestForwarder_WaitsForCentralToReadItsVersion(t *testing.T) {
	const site = "s1"
	h := natstest.OpenHub(t, natstest.HubConfig(t))
	seed, _, err := h.IssueSite(site)
	if err != nil {
		t.Fatal(err)
	}
	agg := newAggregator(site)
	agg.SetMaxVersion(envelope.Version - 1) // central runs the previous release
	agg.Attach(t, h.Conn())
	n := natstest.StartLeaf(t, site, seed, h.LeafURL())
	natstest.WaitConnected(t, n, true)
	ob := newOutbox(t, site)
	ob.onTrim = trimGuard(t, agg)
	ob.Append(t, 30)
	f := newForwarder(t, forward.Config{Site: site, TZ: "UTC", Conn: n.Conn(), Outbox: ob, BatchSize: 10,
		PollInterval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})

	testkit.CheckFor(t, 10*time.Second, func() error {
		if w, reads := f.WaitingForCentral(); !w || reads != envelope.Version-1 {
			return fmt.Errorf("waiting %v, central reads %d; want waiting for a central reading %d", w, reads, envelope.Version-1)
		}
		return nil
	})
	ob.Append(t, 5) // the site keeps selling
	// Let a wrong forwarder have its chance to publish, then nothing may
	// have reached central, and the outbox still holds every event.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if b := agg.Batches(); b != 0 {
			t.Fatalf("central received %d batches it cannot read", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := ob.Count(t); c != 35 {
		t.Fatalf("outbox holds %d events, want 35", c)
	}

	agg.SetMaxVersion(envelope.Version) // central upgraded
	waitSynced(t, 20*time.Second, ob, agg, 35)
	agg.Verify(t, 35)
	if w, _ := f.WaitingForCentral(); w {
		t.Fatal("still waiting after central's upgrade")
	}
}
