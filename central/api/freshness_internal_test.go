package api

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
)

// fleetFreshness is n sites' freshness as the read model has it: known
// and unknown, connected or not, heard from long ago or just now.
func fleetFreshness(n int, now time.Time) []readmodel.Freshness {
	fs := make([]readmodel.Freshness, n)
	for i := range fs {
		f := readmodel.Freshness{Site: fmt.Sprintf("site-%04d", i), Known: i%7 != 0, TZ: "Asia/Kolkata",
			Contiguous: uint64(i), MaxSeen: uint64(i + i%3), Backlog: uint64(i % 3), Connected: i%2 == 0, Binary: "v1", Envelope: 2}
		if f.Known {
			f.LastEventTime = now.Add(-time.Duration(i) * time.Minute)
			f.LastContact = now.Add(-time.Duration(i) * time.Second)
		}
		if i%5 != 0 {
			f.Since = now.Add(-time.Duration(i%11) * time.Minute)
		}
		fs[i] = f
	}
	return fs
}

// A list's entries, whose values share one array, are each what the
// single-site freshness gives at the same moment, and no entry's
// pointers share a value with another's.
func TestFreshnessList_AsEachSite(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	s := &server{cfg: Config{Now: func() time.Time { return now }, StaleAfter: 5 * time.Minute}}
	fs := fleetFreshness(300, now)
	list := s.freshnessList(fs)
	seen := map[any]bool{}
	for i, f := range fs {
		if want := s.freshness(f); !reflect.DeepEqual(list[i], want) {
			t.Fatalf("site %d: in the list %+v, alone %+v", i, list[i], want)
		}
		for _, p := range []any{list[i].LastEventTime, list[i].LastContact, list[i].Since, list[i].SecondsSinceContact} {
			if !reflect.ValueOf(p).IsNil() && seen[p] {
				t.Fatalf("site %d shares a pointer with another entry", i)
			}
			seen[p] = true
		}
	}
}

// BenchmarkFreshnessList is the freshness of a fleet answer (1,000 sites).
func BenchmarkFreshnessList(b *testing.B) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	s := &server{cfg: Config{Now: func() time.Time { return now }, StaleAfter: 5 * time.Minute}}
	fs := fleetFreshness(1000, now)
	b.ReportAllocs()
	for b.Loop() {
		if len(s.freshnessList(fs)) != len(fs) {
			b.Fatal("short")
		}
	}
}
