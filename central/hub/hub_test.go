package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
)

func TestHub_SitePublishesBatchIntoFleet(t *testing.T) {
	dir := t.TempDir()
	h := natstest.StartHub(t, func(c *hub.Config) { c.StoreDir = dir })
	n, _ := natstest.ConnectSite(t, h, "s1")

	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The hub's interest in fleet.*.batch reaches the leaf shortly after it connects.
	testkit.CheckFor(t, 10*time.Second, func() error {
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
