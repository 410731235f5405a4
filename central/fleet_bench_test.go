package central_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

func pct(ds []time.Duration, p float64) float64 {
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, int(float64(len(ds))*p))].Microseconds()) / 1000
}

// BenchmarkFreshness measures connected freshness: from a sale acknowledged
// at the edge to the same sale counted in central's read model (watermark
// covering its sequence), one sale at a time.
func BenchmarkFreshness(b *testing.B) {
	c := fleet.StartCentral(b, b.TempDir(), nil)
	defer c.Close()
	sp := fleet.SiteSpec{ID: "fresh", City: "Bangalore", Timezone: "Asia/Kolkata", Machines: 1, Products: 1, HubURL: c.Hub.LeafURL()}
	s := fleet.StartSite(b, sp, fleet.Register(b, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	fleet.WaitSynced(b, c, s, time.Minute)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		q, amt := int64(1), wire.Money(100)
		start := time.Now()
		res, err := s.Node.Sales.Record(ctx, sale.In{TransactionID: fmt.Sprintf("f-%d", i), MachineID: s.Machines[0], ProductID: s.Products[0],
			Quantity: &q, Amount: &amt, PaymentMethod: "CARD", Timestamp: time.Now().UTC().Format(time.RFC3339Nano)}, "", "")
		if err != nil {
			b.Fatal(err)
		}
		for {
			f, err := c.Store.Site(ctx, s.ID)
			if err == nil && f.Contiguous >= res.Sequence {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(pct(lat, 0.5), "p50_ms")
	b.ReportMetric(pct(lat, 0.99), "p99_ms")
}

// BenchmarkCatchUp measures how fast a site's offline backlog of b.N sales
// drains into central's read model once the link returns (from reconnect to
// central's watermark covering the whole outbox).
func BenchmarkCatchUp(b *testing.B) {
	c := fleet.StartCentral(b, b.TempDir(), nil)
	defer c.Close()
	proxy := testkit.NewLink(b, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "backlog", City: "Pune", Timezone: "Asia/Kolkata", Machines: 10, Products: 10, HubURL: proxy.URL()}
	s := fleet.StartSite(b, sp, fleet.Register(b, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	fleet.WaitSynced(b, c, s, time.Minute)
	proxy.Cut()
	natstest.WaitConnected(b, s.Node.Leaf, false)
	s.Sell(b, fmt.Sprintf("cu%d", b.N), b.N, 7*24*time.Hour)
	before, _ := c.Store.Site(context.Background(), s.ID)
	b.ResetTimer()
	start := time.Now()
	proxy.Restore("")
	fleet.WaitSynced(b, c, s, 10*time.Minute)
	el := time.Since(start)
	b.StopTimer()
	after, _ := c.Store.Site(context.Background(), s.ID)
	b.ReportMetric(float64(after.Contiguous-before.Contiguous)/el.Seconds(), "events/s")
}

// BenchmarkIngest100Sites measures central alone: 100 sites' batches of 100
// sales each published to the hub as fast as it acks them, until the read
// model has applied them all.
func BenchmarkIngest100Sites(b *testing.B) {
	c := fleet.StartCentral(b, b.TempDir(), nil)
	defer c.Close()
	const sites, per = 100, 100
	nc, err := nats.Connect("", nats.InProcessServer(c.Hub.Server()), nats.UserInfo("", ""))
	if err != nil {
		nc = c.Hub.Conn()
	} else {
		defer nc.Close()
	}
	js := c.Hub.JetStream()
	batches := max(1, b.N/(sites*per))
	now := time.Now()
	msgs := make([][]*nats.Msg, sites)
	for si := range sites {
		site := fmt.Sprintf("s%03d", si)
		for bi := range batches {
			bt := envelope.Batch{V: envelope.Version, Site: site, TZ: "Asia/Kolkata", First: uint64(bi*per + 1), Last: uint64((bi + 1) * per)}
			for k := range per {
				seq := uint64(bi*per + k + 1)
				data, _ := json.Marshal(envelope.Sale{TransactionID: fmt.Sprintf("%s-%d", site, seq), MachineID: fmt.Sprintf("%s-m%d", site, k%10),
					ProductID: fmt.Sprintf("P%02d", k%20), Quantity: 1, AmountCents: 100, PaymentMethod: "CARD", City: fmt.Sprintf("city%d", si%10), Location: "x"})
				bt.Events = append(bt.Events, envelope.Event{V: envelope.Version, Site: site, Seq: seq, Kind: envelope.KindSale,
					Time: now.Add(-time.Duration(seq) * time.Minute), Data: data})
			}
			body, _ := json.Marshal(bt)
			m := nats.NewMsg(envelope.SubjectBatch(site))
			m.Data = body
			m.Header.Set(nats.MsgIdHdr, bt.MsgID())
			msgs[si] = append(msgs[si], m)
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for si := range sites {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range msgs[si] {
				if _, err := js.PublishMsg(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	want := uint64(batches * per)
	for si := range sites {
		site := fmt.Sprintf("s%03d", si)
		testkit.CheckFor(b, 10*time.Minute, func() error {
			f, err := c.Store.Site(ctx, site)
			if err != nil {
				return err
			}
			if f.Contiguous < want {
				return fmt.Errorf("site %s applied up to %d, want %d", site, f.Contiguous, want)
			}
			return nil
		})
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(sites*batches*per)/el.Seconds(), "events/s")
}
