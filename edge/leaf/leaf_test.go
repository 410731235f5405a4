package leaf_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
)

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
	h := natstest.StartHub(t)
	seed, _, err := h.IssueSite("known")
	if err != nil {
		t.Fatal(err)
	}
	open := func(site, seed string) *leaf.Node {
		cfg := natstest.LeafConfig(t, site, seed, h.LeafURL())
		cfg.ReconnectInterval = 50 * time.Millisecond
		return natstest.OpenLeaf(t, cfg)
	}
	good := open("known", seed)
	bad := open("stranger", userSeed(t))
	natstest.WaitConnected(t, good, true)
	// The stranger retries every 50ms; it must stay out.
	testkit.Consistently(t, 500*time.Millisecond, func() error {
		if bad.Connected() {
			return errors.New("unregistered key connected")
		}
		return nil
	})
}

// logLines collects a zerolog JSON log.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logLines) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, m)
	return len(p), nil
}

func (l *logLines) match(f func(map[string]any) bool) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, m := range l.lines {
		if f(m) {
			out = append(out, m)
		}
	}
	return out
}

func TestNode_RefusedKeyLogsOnceWithWhatToDo(t *testing.T) {
	h := natstest.StartHub(t)
	var logs logLines
	cfg := natstest.LeafConfig(t, "stranger", userSeed(t), h.LeafURL())
	cfg.ReconnectInterval = 50 * time.Millisecond
	cfg.Logger = zerolog.New(&logs).Level(zerolog.InfoLevel)
	natstest.OpenLeaf(t, cfg)

	refused := func(m map[string]any) bool {
		msg, _ := m["message"].(string)
		return strings.Contains(msg, "Authorization Violation")
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if len(logs.match(refused)) == 0 {
			return errors.New("no refusal logged")
		}
		return nil
	})
	// Retried every 50ms for a second: still one line, and it says what to do.
	testkit.Consistently(t, time.Second, func() error {
		if got := logs.match(refused); len(got) != 1 {
			return fmt.Errorf("refusal logged %d times, want once a minute", len(got))
		}
		return nil
	})
	got := logs.match(refused)[0]
	if hint, _ := got["hint"].(string); got["level"] != "error" || !strings.Contains(hint, "--rotate") || !strings.Contains(hint, "stranger") {
		t.Fatalf("refusal logged as %v, want an error with a hint to re-provision stranger with --rotate", got)
	}
	// The server's banner (notices) is not logged at the default level.
	if banner := logs.match(func(m map[string]any) bool { return m["message"] == "Starting nats-server" }); len(banner) != 0 {
		t.Fatalf("banner logged: %v", banner)
	}
}
