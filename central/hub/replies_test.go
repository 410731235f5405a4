package hub_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vendsync/vendsync/central/siteauth"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestHub_SiteReceivesOnlyItsOwnJetStreamReplies: the replies to a site's
// mirror consumer creations ($JSC.R...) reach that site only; another site
// listening on every $JSC.R subject gets none of them. The mirror itself
// still works under these permissions.
func TestHub_SiteReceivesOnlyItsOwnJetStreamReplies(t *testing.T) {
	h := natstest.StartHub(t)
	a, _ := natstest.ConnectSite(t, h, "A")
	b, _ := natstest.ConnectSite(t, h, "B")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// B's mirror works: its consumer creation's reply reaches B (a mirror
	// without that reply never starts).
	mirror, err := b.JetStream().CreateOrUpdateKeyValue(ctx, downlink.MirrorConfig("B", 1))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := h.JetStream().KeyValue(ctx, envelope.BucketConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "B.machine.M1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		_, err := mirror.Get(ctx, "B.machine.M1")
		return err
	})
	// A listens on every reply subject it can name: its own, B's, the old
	// random form and all of them. The hub answers B (both forms) and A,
	// until A's own answer arrives.
	var subs []*nats.Subscription
	for _, subj := range []string{
		"$JSC.R.hub.*.KV_CONFIG." + siteauth.MirrorConsumer("A") + ".>",
		"$JSC.R.hub.*.KV_CONFIG." + siteauth.MirrorConsumer("B") + ".>",
		"$JSC.R.*", "$JSC.R.>",
	} {
		sub, err := a.Conn().SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	if err := a.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	reply := func(site string) string {
		return "$JSC.R.hub.acc.KV_CONFIG." + siteauth.MirrorConsumer(site) + ".r1"
	}
	var got []string
	testkit.CheckFor(t, 15*time.Second, func() error {
		for _, subj := range []string{reply("B"), "$JSC.R.r1", reply("A")} {
			if err := h.Conn().Publish(subj, []byte(`{}`)); err != nil {
				return err
			}
		}
		if err := h.Conn().Flush(); err != nil {
			return err
		}
		for _, sub := range subs {
			for {
				m, err := sub.NextMsg(20 * time.Millisecond)
				if err != nil {
					break
				}
				got = append(got, m.Subject)
			}
		}
		if !slices.Contains(got, reply("A")) {
			return fmt.Errorf("A got %v, not yet its own reply", got)
		}
		return nil
	})
	for _, s := range got {
		if s != reply("A") {
			t.Fatalf("site A received %s (all: %v)", s, got)
		}
	}
}
