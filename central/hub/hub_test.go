package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

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
	if _, err := os.Stat(filepath.Join(dir, "sites.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("hub wrote a site file besides the registry: %v", err)
	}
}

// Keys an older central kept in its SITES bucket and sites.json (and not in
// the registry) are imported once; a key the bucket had revoked is not.
func TestHub_ImportsLegacySiteKeysOnce(t *testing.T) {
	dir := t.TempDir()
	h := natstest.StartHub(t, func(c *hub.Config) { c.StoreDir = dir })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	legacy, err := h.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "SITES"})
	if err != nil {
		t.Fatal(err)
	}
	seeds, pubs := map[string]string{}, map[string]string{}
	for _, site := range []string{"in-bucket", "in-file", "revoked"} {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := kp.Seed()
		pub, _ := kp.PublicKey()
		seeds[site], pubs[site] = string(seed), pub
	}
	for _, site := range []string{"in-bucket", "revoked"} {
		if _, err := legacy.Put(ctx, site, []byte(pubs[site])); err != nil {
			t.Fatal(err)
		}
	}
	if err := legacy.Delete(ctx, "revoked"); err != nil {
		t.Fatal(err)
	}
	h.Close()
	file, _ := json.Marshal(map[string]any{"sites": map[string]string{"in-file": pubs["in-file"], "revoked": pubs["revoked"]}})
	if err := os.WriteFile(filepath.Join(dir, "sites.json"), file, 0o600); err != nil {
		t.Fatal(err)
	}

	h = natstest.StartHub(t, func(c *hub.Config) { c.StoreDir = dir })
	if got, want := h.Sites(), []string{"in-bucket", "in-file"}; !slices.Equal(got, want) {
		t.Fatalf("admitted sites = %v, want %v", got, want)
	}
	for _, site := range []string{"in-bucket", "in-file"} {
		s, err := h.Registry().Get(ctx, site)
		if err != nil || s.PublicKey != pubs[site] {
			t.Fatalf("registry has %s = %+v, %v; want key %s", site, s, err, pubs[site])
		}
		nc, err := connectAs(t, h.ClientURL(), seeds[site])
		if err != nil {
			t.Fatalf("imported site %s refused: %v", site, err)
		}
		nc.Close()
	}
	if _, err := connectAs(t, h.ClientURL(), seeds["revoked"]); err == nil {
		t.Fatal("a key the old bucket had revoked connected")
	}
	if _, err := h.JetStream().KeyValue(ctx, "SITES"); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("SITES bucket after import: %v, want deleted", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sites.json.imported")); err != nil {
		t.Fatalf("sites.json not retired: %v", err)
	}
	// Once: an old file that turns up again without its bucket is a stale
	// copy, retired without import; the site revoked in the registry stays
	// revoked and the key the bucket had revoked stays refused.
	if err := h.RevokeSite("in-file"); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if err := os.WriteFile(filepath.Join(dir, "sites.json"), file, 0o600); err != nil {
		t.Fatal(err)
	}
	h = natstest.StartHub(t, func(c *hub.Config) { c.StoreDir = dir })
	if got, want := h.Sites(), []string{"in-bucket"}; !slices.Equal(got, want) {
		t.Fatalf("admitted sites after restart = %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sites.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale sites.json not retired: %v", err)
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
