package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/sync/envelope"
)

// BenchmarkAggregator_CatchUp100k measures a backlog catch-up end to end: 200
// batches of 500 sales (100 sites), framed as forwarders send them, wait in
// the FLEET stream; the timer runs
// from Open until the read model's position reaches the last message. Run
// with -benchtime=1x (each iteration is a whole catch-up).
func BenchmarkAggregator_CatchUp100k(b *testing.B) {
	benchCatchUp(b, 200, 500, 100, 16)
}

// BenchmarkAggregator_CatchUpSmallBatches is the catch-up of a node that was
// behind while forwarders sent live traffic: 20,000 batches of 5 sales from
// 100 sites, fetched 64 at a time (the default). Run with -benchtime=1x.
func BenchmarkAggregator_CatchUpSmallBatches(b *testing.B) {
	benchCatchUp(b, 20000, 5, 100, 0)
}

// benchCatchUp publishes batches of per sales from nsites sites round-robin
// and times an aggregator (fetching fetchBatch at a time, 0 for the
// default) from Open until its read model's position is the last message.
func benchCatchUp(b *testing.B, batches, per, nsites, fetchBatch int) {
	ctx := context.Background()
	var wall, cpu time.Duration
	for range b.N {
		b.StopTimer()
		h := startHubB(b)
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range batches {
			si := i % nsites
			st := site{fmt.Sprintf("site-%03d", si), "Europe/Berlin", fmt.Sprintf("city-%d", si%10)}
			first := uint64(i/nsites*per) + 1
			bt := &envelope.Batch{V: envelope.Version, Site: st.id, TZ: st.tz, First: first, Last: first + uint64(per) - 1}
			for j := range per {
				seq := first + uint64(j)
				data, _ := json.Marshal(envelope.Sale{TransactionID: fmt.Sprintf("%s-%d", st.id, seq), MachineID: fmt.Sprintf("%s-m%d", st.id, seq%10),
					ProductID: fmt.Sprintf("p%d", seq%30), Quantity: 1, AmountCents: 150, PaymentMethod: "CARD", City: st.city})
				bt.Events = append(bt.Events, envelope.Event{V: envelope.Version, Site: st.id, Seq: seq, Kind: envelope.KindSale,
					Time: at.Add(time.Duration(seq) * 6 * time.Second), Data: data})
			}
			f, err := bt.Frame()
			if err != nil {
				b.Fatal(err)
			}
			data, err := f.Append(nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.js.PublishAsync(envelope.SubjectBatch(st.id), data, jetstream.WithMsgID(bt.MsgID())); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-h.js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("publishing the backlog took over a minute")
		}
		s, err := readmodel.Open(ctx, filepath.Join(b.TempDir(), "rm.db"), readmodel.WithConsumer("central-1"))
		if err != nil {
			b.Fatal(err)
		}
		a, err := New(Config{JS: h.js, NC: h.nc, Store: s, Durable: "central-1", Logger: zerolog.Nop(), FetchBatch: fetchBatch})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		if err := a.Open(ctx); err != nil {
			b.Fatal(err)
		}
		for {
			pos, err := s.Position(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if pos == uint64(batches) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		wall += time.Since(t0)
		cpu += cpuTime() - c0
		b.StopTimer()
		a.Close()
		s.Close()
	}
	b.ReportMetric(float64(b.N*batches*per)/wall.Seconds(), "events/s")
	if cpu > 0 {
		// The whole process, nats-server included: steadier than wall time
		// on a shared machine.
		b.ReportMetric(float64(b.N*batches*per)/cpu.Seconds(), "events/cpu-s")
	}
}

// startHubB is startHub for a benchmark.
func startHubB(b *testing.B) *hub {
	b.Helper()
	return startHubTB(b)
}
