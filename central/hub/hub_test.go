package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/sync/envelope"
)

func testLogger(t *testing.T) zerolog.Logger {
	if os.Getenv("VENDSYNC_TEST_LOG") != "" {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}

// checkFor polls f until it returns nil or d passes.
func checkFor(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("condition not met after %s: %v", d, err)
}

func startHub(t *testing.T, dir string) *hub.Hub {
	t.Helper()
	cfg := hub.DefaultConfig()
	cfg.StoreDir = dir
	cfg.LeafListen = "127.0.0.1:-1"
	cfg.ClientListen = "127.0.0.1:-1"
	cfg.Logger = testLogger(t)
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func startSite(t *testing.T, site, seed string, hubURLs ...string) *leaf.Node {
	t.Helper()
	n, err := leaf.New(leaf.Config{
		SiteID: site, StoreDir: t.TempDir(), HubURLs: hubURLs, CredsSeed: seed,
		ReconnectInterval: 100 * time.Millisecond, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func waitConnected(t *testing.T, n *leaf.Node) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if !n.Connected() {
			return errors.New("leaf not connected")
		}
		return nil
	})
}

func TestHub_SitePublishesBatchIntoFleet(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir)
	seed, _, err := h.IssueSite("s1")
	if err != nil {
		t.Fatal(err)
	}
	n := startSite(t, "s1", seed, h.LeafURL())
	waitConnected(t, n)

	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The hub's interest in fleet.*.batch reaches the leaf shortly after it connects.
	checkFor(t, 10*time.Second, func() error {
		_, err := js.Publish(ctx, envelope.SubjectBatch("s1"), []byte(`{}`), jetstream.WithMsgID("s1:1-1"))
		return err
	})
	si, err := h.JetStream().Stream(ctx, envelope.StreamIngest)
	if err != nil {
		t.Fatal(err)
	}
	info, err := si.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.State.Msgs, uint64(1); got != want {
		t.Fatalf("FLEET msgs = %d, want %d", got, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sites.json")); err != nil {
		t.Fatal(err)
	} else if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Fatalf("sites.json mode = %v, want %v", got, want)
	}
}

func TestConfig_Validate(t *testing.T) {
	base := hub.DefaultConfig()
	base.StoreDir = "/tmp/x"
	tests := []struct {
		name    string
		mod     func(*hub.Config)
		wantErr bool
	}{
		{name: "default", mod: func(*hub.Config) {}},
		{name: "cluster", mod: func(c *hub.Config) {
			c.ClusterName, c.ClusterListen, c.Replicas = "central", "127.0.0.1:6222", 3
		}},
		{name: "no server name", mod: func(c *hub.Config) { c.ServerName = "" }, wantErr: true},
		{name: "no store", mod: func(c *hub.Config) { c.StoreDir = "" }, wantErr: true},
		{name: "two replicas", mod: func(c *hub.Config) { c.Replicas = 2 }, wantErr: true},
		{name: "R3 without cluster", mod: func(c *hub.Config) { c.Replicas = 3 }, wantErr: true},
		{name: "cluster without listen", mod: func(c *hub.Config) { c.ClusterName = "central" }, wantErr: true},
		{name: "bad leaf listen", mod: func(c *hub.Config) { c.LeafListen = "7422" }, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			if err := cfg.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}
