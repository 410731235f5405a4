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

// The fleet's freshness is one shared answer until the table changes: the
// same rows for every query between two changes, new rows after one, and
// an append to an answer never writes into the shared rows.
func TestFreshness_FleetAnswerSharedUntilChange(t *testing.T) {
	var ft freshTable
	for _, site := range []string{"b", "a", "c"} {
		ft.saved(site, SiteState{TZ: "UTC", Contiguous: 5, MaxSeen: 5}, time.Unix(100, 0))
	}
	first, again := ft.known(nil), ft.known(nil)
	if len(first) != 3 || first[0].Site != "a" || &first[0] != &again[0] {
		t.Fatalf("two answers without a change: %v and %v, want the same 3 rows, ordered", first, again)
	}
	grown := append(first, Freshness{Site: "zzz"})
	if &grown[0] == &first[0] {
		t.Fatal("an append to the shared answer wrote past its end")
	}
	ft.saved("b", SiteState{TZ: "UTC", Contiguous: 9, MaxSeen: 9}, time.Unix(200, 0))
	after := ft.known(nil)
	if &after[0] == &first[0] || after[1].Contiguous != 9 || first[1].Contiguous != 5 {
		t.Fatalf("after a change: %+v (before %+v), want new rows with b at 9, the old answer unchanged", after[1], first[1])
	}
	if kept := ft.known(func(s string) bool { return s == "c" }); len(kept) != 1 || kept[0].Site != "c" {
		t.Fatalf("filtered: %v, want c alone", kept)
	}
}
