package forward_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/forward"
)

// TestForwarder_ForgedIDsFromAnotherSiteDoNotDelayBatches: a hostile site
// publishing, on its own subject, the message ids another site's next
// batches would use does not get them dropped as duplicates: the victim's
// events reach central as fast as without the attack.
func TestForwarder_ForgedIDsFromAnotherSiteDoNotDelayBatches(t *testing.T) {
	h := natstest.StartHub(t)
	victim, _ := natstest.ConnectSite(t, h, "A")
	hostile, _ := natstest.ConnectSite(t, h, "B")
	agg := newAggregator("A")
	agg.Attach(t, h.Conn())
	t.Cleanup(agg.Detach)
	ob := newOutbox(t, "A")

	// B stores every id A could use for its first batches, before A sends.
	js, err := jetstream.New(hostile.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for last := 1; last <= 20; last++ {
		hd := envelope.Header{Site: "A", First: 1, Last: uint64(last)}
		id := hd.MsgID()
		ids = append(ids, id, id+"/r1", id+"/r2")
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		_, err := js.Publish(ctx, envelope.SubjectBatch("B"), []byte(`{}`), jetstream.WithMsgID("B:probe"))
		return err
	})
	for _, id := range ids {
		ack, err := js.Publish(ctx, envelope.SubjectBatch("B"), []byte(`{}`), jetstream.WithMsgID(id))
		if err != nil {
			t.Fatalf("forged publish %s: %v", id, err)
		}
		if ack.Duplicate {
			t.Fatalf("forged publish %s was a duplicate", id)
		}
	}

	newForwarder(t, forward.Config{
		Site: "A", TZ: "UTC", Conn: victim.Conn(), Outbox: ob,
		PollInterval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Logger: testkit.Logger(t),
	})
	last := ob.Append(t, 1)
	start := time.Now()
	// Without the attack this takes well under a second; a dropped batch
	// waits for the 30s stall timeout.
	testkit.CheckFor(t, 5*time.Second, func() error {
		if c := agg.Contiguous(); c != last {
			return fmt.Errorf("central has %d of %d events", c, last)
		}
		return nil
	})
	t.Logf("victim's batch arrived after %v", time.Since(start).Round(time.Millisecond))
}
