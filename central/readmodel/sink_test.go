package readmodel

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
)

// memSink is a second Sink, in memory: enough to show that ApplyBatch and
// the aggregation rules need nothing from SQLite.
type memSink struct {
	sites  map[string]SiteState
	held   map[string]bool // site/seq
	tx     map[string]bool
	totals map[aggregate.Row]aggregate.Totals
	facts  int
}

func newMemSink() *memSink {
	return &memSink{sites: map[string]SiteState{}, held: map[string]bool{}, tx: map[string]bool{}, totals: map[aggregate.Row]aggregate.Totals{}}
}

func (m *memSink) Site(_ context.Context, site string) (SiteState, error) { return m.sites[site], nil }

func (m *memSink) InsertEvents(_ context.Context, b *aggregate.Batch, _ uint64) ([]bool, error) {
	fresh := make([]bool, len(b.Events))
	for i, e := range b.Events {
		k := fmt.Sprintf("%s/%d", b.Site, e.Seq)
		fresh[i] = !m.held[k]
		m.held[k] = true
	}
	return fresh, nil
}

func (m *memSink) Upsert(_ context.Context, _ string, facts []aggregate.Fact) error {
	m.facts += len(facts)
	return nil
}

func (m *memSink) InsertSales(_ context.Context, site string, sales []aggregate.SaleRow) ([]bool, error) {
	isNew := make([]bool, len(sales))
	for i, s := range sales {
		k := site + "/" + s.MachineID + "/" + s.TransactionID
		isNew[i] = !m.tx[k]
		m.tx[k] = true
	}
	return isNew, nil
}

func (m *memSink) AddTotals(_ context.Context, d *aggregate.Deltas) error {
	for r, v := range d.Rows {
		t := m.totals[r]
		m.totals[r] = aggregate.Totals{Tx: t.Tx + v.Tx, Quantity: t.Quantity + v.Quantity, Revenue: t.Revenue + v.Revenue}
	}
	return nil
}

func (m *memSink) Contiguous(_ context.Context, site string, from uint64) (uint64, error) {
	for m.held[fmt.Sprintf("%s/%d", site, from+1)] {
		from++
	}
	return from, nil
}

func (m *memSink) SaveSite(_ context.Context, site string, st SiteState, _ uint64) error {
	m.sites[site] = st
	return nil
}

func TestApplyBatch_SecondSinkGetsSameTotalsAndWatermarks(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	mem := newMemSink()
	at := time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC)
	var evs []ev
	for i := range 40 {
		evs = append(evs, saleEv(fmt.Sprintf("t%d", i%35), fmt.Sprintf("m%d", i%3), fmt.Sprintf("p%d", i%4), "Paris", 1, int64(10+i), at.Add(time.Duration(i)*17*time.Minute)))
	}
	batches := []struct {
		tz          string
		first, last int // 1-based sequences into evs
	}{{"Europe/Paris", 21, 30}, {"Europe/Paris", 1, 12}, {"", 8, 20}, {"Europe/Paris", 31, 40}, {"Europe/Paris", 25, 35}}
	for i, bt := range batches {
		f, err := mkBatch(t, "s1", bt.tz, uint64(bt.first), evs[bt.first-1:bt.last]...).Frame()
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Prepare(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.ApplyPrepared(ctx, uint64(i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ApplyBatch(ctx, mem, uint64(i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("batch %d: memory sink %+v, SQLite %+v", i, got, want)
		}
	}
	got := map[string][3]int64{}
	for r, v := range mem.totals {
		if v.Tx != 0 {
			got[fmt.Sprintf("%s/%s/%s/%s/%d/%s", r.Dim, r.Win, r.Site, r.City, r.Bucket, r.Key)] = [3]int64{v.Tx, v.Quantity, v.Revenue}
		}
	}
	sameAgg(t, got, dumpAgg(t, s))
}
