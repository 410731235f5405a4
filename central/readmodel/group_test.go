package readmodel

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

func prepare(t *testing.T, s *Store, b *envelope.Batch) *Prepared {
	t.Helper()
	f, err := b.Frame()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Prepare(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestApplyGroup_SameAsOneByOne applies the same batches (two sites, out of
// order, one repeated within the group, one repeating a transaction id)
// as one group and one by one: the results, aggregates, watermarks and
// stream position must be the same.
func TestApplyGroup_SameAsOneByOne(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	batch := func(site string, first uint64, n int) *envelope.Batch {
		evs := make([]ev, n)
		for i := range evs {
			seq := first + uint64(i)
			evs[i] = saleEv(fmt.Sprintf("%s-t%d", site, seq), "m1", fmt.Sprintf("p%d", seq%3), "Paris", 1, int64(100*seq), at.Add(time.Duration(seq)*time.Hour))
		}
		return mkBatch(t, site, "Europe/Paris", first, evs...)
	}
	replay := mkBatch(t, "s2", "Europe/Paris", 9, saleEv("s2-t1", "m1", "p1", "Paris", 1, 100, at))
	batches := []*envelope.Batch{
		batch("s1", 1, 3), batch("s2", 1, 5), batch("s1", 7, 2), batch("s1", 4, 3),
		batch("s2", 1, 5), batch("s2", 6, 3), replay, batch("s1", 4, 4),
	}
	one, group := openStore(t), openStore(t)
	var want []Result
	items := make([]GroupItem, len(batches))
	for i, b := range batches {
		want = append(want, mustApply(t, one, uint64(i+1), b))
		items[i] = GroupItem{StreamSeq: uint64(i + 1), Prepared: prepare(t, group, b)}
	}
	got, err := group.ApplyGroup(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i].Err != nil || got[i].Result != want[i] {
			t.Errorf("item %d = %+v, %v; want %+v", i, got[i].Result, got[i].Err, want[i])
		}
	}
	sameAgg(t, dumpAgg(t, group), dumpAgg(t, one))
	for _, site := range []string{"s1", "s2"} {
		wg, err := group.Watermark(context.Background(), site)
		if err != nil {
			t.Fatal(err)
		}
		wo, err := one.Watermark(context.Background(), site)
		if err != nil {
			t.Fatal(err)
		}
		if wg != wo {
			t.Errorf("watermark %s = %+v, want %+v", site, wg, wo)
		}
		fg, err := group.Site(context.Background(), site)
		if err != nil {
			t.Fatal(err)
		}
		if fg.Contiguous != wo.Contiguous {
			t.Errorf("freshness %s contiguous = %d, want %d", site, fg.Contiguous, wo.Contiguous)
		}
	}
	if pos, err := group.Position(context.Background()); err != nil || pos != uint64(len(batches)) {
		t.Fatalf("position = %d, %v; want %d", pos, err, len(batches))
	}
	// The whole group again changes nothing.
	before := dumpAgg(t, group)
	again, err := group.ApplyGroup(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	sameAgg(t, dumpAgg(t, group), before)
	for i, r := range again {
		if r.Err != nil || r.Applied != 0 {
			t.Errorf("item %d again = %+v, %v; want nothing applied", i, r.Result, r.Err)
		}
	}
}

// TestApplyGroup_InvalidItemDoesNotStopTheRest: an item refused at apply time
// (its site's stored timezone is unknown) changes nothing, and the items
// around it commit.
func TestApplyGroup_InvalidItemDoesNotStopTheRest(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	mustApply(t, s, 1, mkBatch(t, "bad", "Europe/Paris", 1, saleEv("b1", "m1", "p1", "Paris", 1, 100, at)))
	s.mu.Lock()
	_, err := s.w.ExecContext(context.Background(), `UPDATE sites SET tz = 'Nowhere/Atlantis' WHERE site = 'bad'`)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	before := dumpAgg(t, s)
	items := []GroupItem{
		{2, prepare(t, s, mkBatch(t, "good", "Europe/Paris", 1, saleEv("g1", "m1", "p1", "Paris", 1, 100, at)))},
		{3, prepare(t, s, mkBatch(t, "bad", "", 2, saleEv("b2", "m1", "p1", "Paris", 1, 100, at)))},
		{4, prepare(t, s, mkBatch(t, "good", "Europe/Paris", 2, saleEv("g2", "m1", "p1", "Paris", 1, 200, at)))},
	}
	got, err := s.ApplyGroup(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got[1].Err, ErrInvalidBatch) {
		t.Fatalf("bad item err = %v, want ErrInvalidBatch", got[1].Err)
	}
	if got[0].Err != nil || got[2].Err != nil || got[0].Applied != 1 || got[2].Applied != 1 || got[2].Contiguous != 2 {
		t.Fatalf("good items = %+v, %+v; want each applied", got[0], got[2])
	}
	if w, err := s.Watermark(context.Background(), "bad"); err != nil || w.Contiguous != 1 {
		t.Fatalf("bad site watermark = %+v, %v; want contiguous 1", w, err)
	}
	var held int
	s.mu.Lock()
	err = s.w.QueryRowContext(context.Background(), `SELECT count(*) FROM raw_events WHERE site = 'bad'`).Scan(&held)
	s.mu.Unlock()
	if err != nil || held != 1 {
		t.Fatalf("bad site raw events = %d, %v; want 1", held, err)
	}
	after := dumpAgg(t, s)
	if len(after) == len(before) {
		t.Fatalf("aggregates unchanged: the good items did not apply")
	}
	if pos, err := s.Position(context.Background()); err != nil || pos != 4 {
		t.Fatalf("position = %d, %v; want 4", pos, err)
	}
}
