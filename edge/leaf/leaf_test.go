package leaf_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/edge/leaf"
)

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

func userSeed(t *testing.T) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	return string(seed)
}

func TestConfig_Validate(t *testing.T) {
	seed := userSeed(t)
	tests := []struct {
		name    string
		cfg     leaf.Config
		wantErr bool
	}{
		{name: "standalone", cfg: leaf.Config{SiteID: "s1", StoreDir: "/tmp/x"}},
		{name: "with hub", cfg: leaf.Config{SiteID: "s1", StoreDir: "/tmp/x", HubURLs: []string{"nats-leaf://h:7422"}, CredsSeed: seed}},
		{name: "bad site", cfg: leaf.Config{SiteID: "a.b", StoreDir: "/tmp/x"}, wantErr: true},
		{name: "hub domain as site", cfg: leaf.Config{SiteID: "hub", StoreDir: "/tmp/x"}, wantErr: true},
		{name: "no store", cfg: leaf.Config{SiteID: "s1"}, wantErr: true},
		{name: "hub without creds", cfg: leaf.Config{SiteID: "s1", StoreDir: "/tmp/x", HubURLs: []string{"nats-leaf://h:7422"}}, wantErr: true},
		{name: "bad seed", cfg: leaf.Config{SiteID: "s1", StoreDir: "/tmp/x", HubURLs: []string{"nats-leaf://h:7422"}, CredsSeed: "SUxyz"}, wantErr: true},
		{name: "bad listen", cfg: leaf.Config{SiteID: "s1", StoreDir: "/tmp/x", ListenAddr: "nope"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestNode_StandaloneHasJetStreamInItsDomain(t *testing.T) {
	n, err := leaf.New(leaf.Config{SiteID: "s1", StoreDir: t.TempDir(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Connected() {
		t.Fatal("standalone node reports a leaf connection")
	}
	info, err := n.JetStream().AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Domain, "s1"; got != want {
		t.Fatalf("domain = %q, want %q", got, want)
	}
	if got, want := n.Server().Name(), "site-s1"; got != want {
		t.Fatalf("server name = %q, want %q", got, want)
	}
	// Local JetStream works through the in-process client.
	if _, err := n.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "local"}); err != nil {
		t.Fatal(err)
	}
}

func TestNode_UnknownKeyNeverConnects(t *testing.T) {
	cfg := hub.DefaultConfig()
	cfg.StoreDir = t.TempDir()
	cfg.LeafListen = "127.0.0.1:-1"
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	seed, _, err := h.IssueSite("known")
	if err != nil {
		t.Fatal(err)
	}

	open := func(site, seed string) *leaf.Node {
		n, err := leaf.New(leaf.Config{SiteID: site, StoreDir: t.TempDir(), HubURLs: []string{h.LeafURL()}, CredsSeed: seed,
			ReconnectInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		return n
	}
	good := open("known", seed)
	bad := open("stranger", userSeed(t))
	checkFor(t, 10*time.Second, func() error {
		if !good.Connected() {
			return errors.New("registered site not connected")
		}
		return nil
	})
	// The stranger retries every 50ms; it must stay out.
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); {
		if bad.Connected() {
			t.Fatal("unregistered key connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
