package forward_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/internal/tcplink"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/forward"
)

func newForwarder(t *testing.T, cfg forward.Config) *forward.Forwarder {
	t.Helper()
	f, err := forward.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close forwarder: %v", err)
		}
	})
	return f
}

// trimGuard fails the test if the outbox is ever trimmed above what the
// aggregator has committed.
func trimGuard(t *testing.T, agg *aggregator) func(uint64) error {
	return func(upTo uint64) error {
		if c := agg.Contiguous(); upTo > c {
			t.Errorf("outbox trimmed to %d, aggregator has only %d", upTo, c)
			return fmt.Errorf("trim above watermark")
		}
		return nil
	}
}

func waitSynced(t *testing.T, d time.Duration, ob *sqliteOutbox, agg *aggregator, n uint64) {
	t.Helper()
	testkit.CheckFor(t, d, func() error {
		acked, err := ob.Acked(context.Background())
		if err != nil {
			return err
		}
		if c := agg.Contiguous(); c != n || acked != n || ob.Count(t) != 0 {
			return fmt.Errorf("aggregator at %d, outbox acked %d with %d rows, want %d", c, acked, ob.Count(t), n)
		}
		return nil
	})
}

// outage is a hub with its aggregator, a site's leaf node connected to it
// and the site's outbox, for tests that stop the hub (the link goes down)
// and open it again on the same port with the same data.
type outage struct {
	cfg     hub.Config
	leafURL string
	hub     *hub.Hub
	agg     *aggregator
	leaf    *leaf.Node
	ob      *sqliteOutbox
}

func newOutage(t *testing.T, site string) *outage {
	o := &outage{cfg: natstest.HubConfig(t)}
	o.hub = natstest.OpenHub(t, o.cfg)
	seed, _, err := o.hub.IssueSite(site)
	if err != nil {
		t.Fatal(err)
	}
	o.leafURL = o.hub.LeafURL()
	o.agg = newAggregator(site)
	o.agg.Attach(t, o.hub.Conn())
	o.leaf = natstest.StartLeaf(t, site, seed, o.leafURL)
	natstest.WaitConnected(t, o.leaf, true)
	o.ob = newOutbox(t, site)
	o.ob.onTrim = trimGuard(t, o.agg)
	return o
}

// down stops the hub; the aggregator's read model survives.
func (o *outage) down(t *testing.T) {
	o.agg.Detach()
	o.hub.Close()
	natstest.WaitConnected(t, o.leaf, false)
}

// up opens the hub again where it was and waits for the site's link.
func (o *outage) up(t *testing.T) {
	o.cfg.LeafListen = tcplink.HostPort(o.leafURL)
	o.hub = natstest.OpenHub(t, o.cfg)
	o.agg.Attach(t, o.hub.Conn())
	t.Cleanup(o.agg.Detach)
	natstest.WaitConnected(t, o.leaf, true)
}

func TestForwarder_OfflineBacklogArrivesAfterReconnect(t *testing.T) {
	const site = "s1"
	o := newOutage(t, site)
	agg, ob := o.agg, o.ob
	reg := prometheus.NewPedanticRegistry()
	f := newForwarder(t, forward.Config{
		Site: site, TZ: "Europe/Paris", Conn: o.leaf.Conn(), Outbox: ob,
		PollInterval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Registerer: reg, Logger: testkit.Logger(t),
	})

	last := ob.Append(t, 1000)
	f.Poke()
	waitSynced(t, 30*time.Second, ob, agg, last)

	// The link goes down: the hub stops (its read model, the aggregator's
	// map, survives).
	o.down(t)
	for i := 0; i < 20; i++ {
		last = ob.Append(t, 500)
		f.Poke()
	}
	if got, want := last, uint64(11000); got != want {
		t.Fatalf("last = %d, want %d", got, want)
	}
	// Nothing may be trimmed while central cannot see it.
	if acked, _ := ob.Acked(context.Background()); acked != 1000 {
		t.Fatalf("acked = %d while offline, want 1000", acked)
	}

	// The hub comes back on the same port with the same data.
	o.up(t)
	waitSynced(t, 60*time.Second, ob, agg, last)
	agg.Verify(t, last)
	// 11,000 events in batches of at most 500 reach the aggregator in at
	// least 22 batches. The forwarder's own count is of acknowledged
	// batches: a publish whose ack was lost in the reconnect (stored, then
	// covered by the watermark, so never resent) is not in it, so it only
	// has to be moving and never above what central consumed.
	if got := agg.Batches(); got < 22 {
		t.Errorf("aggregator consumed %d batches, want >= 22", got)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := metricValue(t, reg, "vendsync_forward_batches_sent_total"); got < 2 {
			return fmt.Errorf("batches sent = %v, want >= 2", got)
		}
		return nil
	})
	if got, consumed := metricValue(t, reg, "vendsync_forward_batches_sent_total"), agg.Batches(); got > float64(consumed) {
		t.Errorf("batches sent = %v, more than the %d the aggregator consumed", got, consumed)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := f.Watermark().Contiguous; got != last {
			return fmt.Errorf("forwarder watermark = %d, want %d", got, last)
		}
		return nil
	})
}

// After an outage long enough for the backoff to reach its maximum, the
// uplink resumes when central answers again, not a whole backoff later.
func TestForwarder_ResumesWhenTheLinkReturnsNotAfterTheBackoff(t *testing.T) {
	const site = "s1"
	o := newOutage(t, site)
	agg, ob := o.agg, o.ob
	// Every failure waits ten minutes: only the link's return can end it.
	reg := prometheus.NewPedanticRegistry()
	f := newForwarder(t, forward.Config{
		Site: site, TZ: "UTC", Conn: o.leaf.Conn(), Outbox: ob,
		PollInterval: 50 * time.Millisecond, MinBackoff: 10 * time.Minute, MaxBackoff: 10 * time.Minute,
		Registerer: reg, Logger: testkit.Logger(t),
	})
	last := ob.Append(t, 100)
	f.Poke()
	waitSynced(t, 30*time.Second, ob, agg, last)

	o.down(t)
	last = ob.Append(t, 100)
	f.Poke() // fails: nothing serves the stream; the forwarder backs off
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := metricValue(t, reg, "vendsync_forward_publish_failures_total"); got < 1 {
			return fmt.Errorf("publish failures = %v, want >= 1", got)
		}
		return nil
	})

	o.up(t)
	waitSynced(t, 60*time.Second, ob, agg, last)
	agg.Verify(t, last)
}

func TestForwarder_ResendsWhatTheHubLost(t *testing.T) {
	tests := []struct {
		name  string
		lose  uint64        // FLEET sequence deleted before the aggregator runs (of 10 batches)
		stall time.Duration // the forwarder's StallTimeout
	}{
		// The aggregator sees batch 4 after batch 2: MaxSeen > Contiguous.
		// The stall timeout is long so that only the gap report can help.
		{name: "gap reported", lose: 3, stall: 10 * time.Minute},
		// The last batch is lost: no gap is visible, only the stall.
		{name: "tail lost, stall", lose: 10, stall: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const site = "s1"
			h := natstest.StartHub(t)
			n, _ := natstest.ConnectSite(t, h, site)
			ob := newOutbox(t, site)
			agg := newAggregator(site)
			ob.onTrim = trimGuard(t, agg)
			reg := prometheus.NewPedanticRegistry()
			newForwarder(t, forward.Config{
				Site: site, Conn: n.Conn(), Outbox: ob, BatchSize: 100, StallTimeout: tc.stall,
				PollInterval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
				Registerer: reg, Logger: testkit.Logger(t),
			})
			last := ob.Append(t, 1000)

			// All ten batches reach FLEET before central's aggregator runs.
			ctx := context.Background()
			stream, err := h.JetStream().Stream(ctx, envelope.StreamIngest)
			if err != nil {
				t.Fatal(err)
			}
			testkit.CheckFor(t, 30*time.Second, func() error {
				info, err := stream.Info(ctx)
				if err != nil {
					return err
				}
				if info.State.Msgs != 10 {
					return fmt.Errorf("FLEET has %d msgs, want 10", info.State.Msgs)
				}
				return nil
			})
			// The hub loses a batch.
			if err := stream.DeleteMsg(ctx, tc.lose); err != nil {
				t.Fatal(err)
			}
			agg.Attach(t, h.Conn())
			t.Cleanup(agg.Detach)
			waitSynced(t, 30*time.Second, ob, agg, last)
			agg.Verify(t, last)
			if got := metricValue(t, reg, "vendsync_forward_resends_total"); got < 1 {
				t.Fatalf("resends = %v, want >= 1", got)
			}
		})
	}
}

// metricValue returns the value of the counter or gauge called name.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestForwarder_LaggingNodeWatermarkDoesNotStall: a central node that
// restarts catches up on the stream and, while it does, reports watermarks
// far below what the outbox still holds, now and then with a gap (batches
// resent earlier sit in the stream out of order). Such a gap is below
// anything the site can resend (the other nodes' watermark trimmed it) and
// the stream fills it; it must not send the forwarder back to sequences it
// no longer has (found by make torture: the uplink stalled ~2 s per lagging
// watermark, 27 s after one node's restart).
func TestForwarder_LaggingNodeWatermarkDoesNotStall(t *testing.T) {
	const site = "s1"
	h := natstest.StartHub(t)
	n, _ := natstest.ConnectSite(t, h, site)
	ob := newOutbox(t, site)
	agg := newAggregator(site)
	ob.onTrim = trimGuard(t, agg)
	agg.Attach(t, h.Conn())
	t.Cleanup(agg.Detach)
	reg := prometheus.NewPedanticRegistry()
	f := newForwarder(t, forward.Config{Site: site, Conn: n.Conn(), Outbox: ob, BatchSize: 100, PollInterval: 50 * time.Millisecond,
		Registerer: reg, Logger: testkit.Logger(t)})
	last := ob.Append(t, 1000)
	f.Poke()
	waitSynced(t, 30*time.Second, ob, agg, last)

	for i := range 10 {
		lag, err := json.Marshal(envelope.Watermark{Site: site, Contiguous: uint64(100 + 10*i), MaxSeen: last, At: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Conn().Publish(envelope.SubjectWatermarkPush(site), lag); err != nil {
			t.Fatal(err)
		}
		last = ob.Append(t, 10)
		f.Poke()
	}
	waitSynced(t, 10*time.Second, ob, agg, last)
	agg.Verify(t, last)
	if got := metricValue(t, reg, "vendsync_forward_publish_failures_total"); got != 0 {
		t.Fatalf("publish failures = %v after lagging watermarks, want 0 (the forwarder went back below its trimmed outbox)", got)
	}
	if got := metricValue(t, reg, "vendsync_forward_resends_total"); got != 0 {
		t.Fatalf("resends = %v for gaps below the trimmed outbox, want 0", got)
	}
}
