package hub_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
)

func TestHub_ClusterSharesSiteRegistry(t *testing.T) {
	hubs := natstest.StartCluster(t).Hubs
	seedA, _, err := hubs[0].IssueSite("A")
	if err != nil {
		t.Fatal(err)
	}
	// Issued on node 1, admitted by node 3.
	var nc3 interface{ IsClosed() bool }
	testkit.CheckFor(t, 10*time.Second, func() error {
		nc, err := connectAs(t, hubs[2].ClientURL(), seedA)
		if err != nil {
			return err
		}
		nc3 = nc
		return nil
	})
	site := natstest.StartLeaf(t, "A", seedA, hubs[1].LeafURL())
	natstest.WaitConnected(t, site, true)

	// Revoked on node 1: node 2's leaf and node 3's client are cut off.
	if err := hubs[0].RevokeSite("A"); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if site.Connected() {
			return errors.New("site A still connected to node 2")
		}
		if !nc3.IsClosed() {
			return errors.New("A's client still connected to node 3")
		}
		return nil
	})
	for _, h := range hubs {
		if _, err := connectAs(t, h.ClientURL(), seedA); err == nil {
			t.Fatalf("revoked key connected to %s", h.ClientURL())
		}
	}
}
