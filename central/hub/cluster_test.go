package hub_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/hub"
)

// freePorts reserves n distinct TCP ports on 127.0.0.1 (released before use:
// a cluster needs its route ports before any node starts).
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

// startCluster opens three R3 hub nodes together (JetStream needs a quorum).
func startCluster(t *testing.T) []*hub.Hub {
	t.Helper()
	ports := freePorts(t, 3)
	hubs := make([]*hub.Hub, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range hubs {
		cfg := hub.DefaultConfig()
		cfg.ServerName = fmt.Sprintf("hub-%d", i+1)
		cfg.StoreDir = filepath.Join(t.TempDir(), cfg.ServerName)
		cfg.ClientListen = "127.0.0.1:-1"
		cfg.LeafListen = "127.0.0.1:-1"
		cfg.ClusterName = "central"
		cfg.ClusterListen = fmt.Sprintf("127.0.0.1:%d", ports[i])
		for j := range ports {
			if j != i {
				cfg.Routes = append(cfg.Routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[j]))
			}
		}
		cfg.Replicas = 3
		cfg.Logger = testLogger(t)
		h, err := hub.New(cfg)
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
	return hubs
}

func TestHub_ClusterSharesSiteRegistry(t *testing.T) {
	hubs := startCluster(t)
	seedA, _, err := hubs[0].IssueSite("A")
	if err != nil {
		t.Fatal(err)
	}
	// Issued on node 1, admitted by node 3.
	var nc3 interface{ IsClosed() bool }
	checkFor(t, 10*time.Second, func() error {
		nc, err := connectAs(t, hubs[2].ClientURL(), seedA)
		if err != nil {
			return err
		}
		nc3 = nc
		return nil
	})
	site := startSite(t, "A", seedA, hubs[1].LeafURL())
	waitConnected(t, site)

	// Revoked on node 1: node 2's leaf and node 3's client are cut off.
	if err := hubs[0].RevokeSite("A"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
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
