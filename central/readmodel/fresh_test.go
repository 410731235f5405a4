package readmodel

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// TestFreshness_MaintainedAndReloaded: the freshness every answer carries
// follows each committed batch and each liveness change at once, and a
// reopened store answers the same.
func TestFreshness_MaintainedAndReloaded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s, err := Open(ctx, path, WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, mkBatch(t, "a", "UTC", 1, saleEv("t1", "m1", "p1", "Oslo", 1, 100, at), saleEv("t2", "m1", "p1", "Oslo", 1, 100, at)))
	mustApply(t, s, 2, mkBatch(t, "c", "UTC", 5, saleEv("t3", "m2", "p1", "Rome", 1, 100, at))) // 1..4 missing
	up, down := at.Add(time.Minute), at.Add(2*time.Minute)
	if err := s.SetLiveness(ctx, "a", true, up); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLiveness(ctx, "b", false, down); err != nil { // heartbeats, no batch yet
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		fs, err := s.Sites(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 2 || fs[0].Site != "a" || fs[1].Site != "c" {
			t.Fatalf("Sites = %+v, want a and c (b sent no batch)", fs)
		}
		a, c := fs[0], fs[1]
		if !a.Known || a.Contiguous != 2 || a.MaxSeen != 2 || !a.LastContact.Equal(at) || !a.Connected || !a.Since.Equal(up) {
			t.Fatalf("a = %+v, want watermark 2, contact %v, connected since %v", a, at, up)
		}
		if c.Contiguous != 0 || c.MaxSeen != 5 || c.Backlog != 5 || c.Connected || !c.Since.IsZero() {
			t.Fatalf("c = %+v, want a gap (0 of 5) and no heartbeat", c)
		}
		res, err := s.Sales(ctx, SalesQuery{GroupBy: BySite, Window: bucket.Day, From: at.Add(-time.Hour), To: at.Add(time.Hour), Site: "b"})
		if err != nil {
			t.Fatal(err)
		}
		if b := res.Freshness; len(b) != 1 || b[0].Known || b[0].Connected || !b[0].Since.Equal(down) {
			t.Fatalf("b = %+v, want unknown, disconnected since %v", b, down)
		}
		res, err = s.Sales(ctx, SalesQuery{GroupBy: BySite, Window: bucket.Day, From: at.Add(-time.Hour), To: at.Add(time.Hour), City: "Rome"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Freshness) != 1 || res.Freshness[0].Site != "c" {
			t.Fatalf("Rome freshness = %+v, want c only", res.Freshness)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
}
