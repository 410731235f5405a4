package downlink_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/downlink"
)

// stableName is the name nats-server gives a mirror consumer before its
// per-create suffix: JS_MIRROR_ + an 8-character hash of "<stream> <account>
// <domain>", so any site can compute another site's.
func stableName(site string) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := sha256.Sum256([]byte("KV_CONFIG $G " + site))
	out := make([]byte, 8)
	for i := range out {
		out[i] = digits[int(b[i]%62)]
	}
	return "JS_MIRROR_" + string(out)
}

// directConsumers lists the hub's direct (mirror) consumers on KV_CONFIG.
func directConsumers(t *testing.T, s *server.Server) []string {
	t.Helper()
	jsz, err := s.Jsz(&server.JSzOptions{Accounts: true, Streams: true, Consumer: true, DirectConsumer: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ad := range jsz.AccountDetails {
		for _, sd := range ad.Streams {
			if sd.Name != "KV_CONFIG" {
				continue
			}
			for _, c := range sd.DirectConsumer {
				names = append(names, c.Name)
			}
		}
	}
	return names
}

func TestWatcher_OtherSiteCannotRedirectMirror(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := natstest.StartHub(t)
	pub, err := downlink.NewPublisher(ctx, h.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := natstest.ConnectSite(t, h, "A")
	b, _ := natstest.ConnectSite(t, h, "B")
	gotB := &applied{values: map[string]string{}}
	wB, err := downlink.NewWatcher(downlink.WatcherConfig{Site: "B", JS: b.JetStream(), State: newApplied(t), Handle: gotB.handle, Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := wB.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer wB.Close()
	if _, err := pub.Put(ctx, "B", "k1", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error { return gotB.wantValues(map[string]string{"k1": "v1"}) })
	before := directConsumers(t, h.Server())
	if len(before) != 1 || !strings.HasPrefix(before[0], stableName("B")) {
		t.Fatalf("direct consumers = %v, want one named %s...", before, stableName("B"))
	}

	// A knows B's consumer's stable name and tries to take it over with a
	// create on its own filter, delivered to itself.
	steal, err := a.Conn().SubscribeSync("vsync.dl.A.steal")
	if err != nil {
		t.Fatal(err)
	}
	name := stableName("B")
	body, _ := json.Marshal(map[string]any{"stream_name": "KV_CONFIG", "config": map[string]any{
		"name": name, "deliver_subject": "vsync.dl.A.steal", "ack_policy": "none",
		"filter_subject": "$KV.CONFIG.A.>", "direct": true}})
	testkit.CheckFor(t, 10*time.Second, func() error {
		_, err := a.Conn().Request("$JS.hub.API.CONSUMER.CREATE.KV_CONFIG."+name+".$KV.CONFIG.A.>", body, time.Second)
		return err
	})
	after := directConsumers(t, h.Server())
	if !slices.Contains(after, before[0]) {
		t.Fatalf("B's consumer %s is gone: %v", before[0], after)
	}
	if _, err := pub.Put(ctx, "B", "k2", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error { return gotB.wantValues(map[string]string{"k2": "v2"}) })
	if m, err := steal.NextMsg(200 * time.Millisecond); err == nil && strings.Contains(m.Subject+string(m.Data), "v2") {
		t.Fatalf("A received B's data: %s", m.Data)
	}
}
