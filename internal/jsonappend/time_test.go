package jsonappend

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// TestTime_AsMarshalJSON holds Time to time.Time's own encoding: UTC times
// (written by hand) at the edges of every field and of the fraction, and
// times in other zones and outside 0–9999 (AppendFormat's).
func TestTime_AsMarshalJSON(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	times := []time.Time{
		{},
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 0, time.UTC),
		time.Date(2026, 2, 28, 23, 59, 59, 1, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 100_000_000, time.UTC),
		time.Date(2026, 7, 1, 1, 2, 3, 120_000_000, time.UTC),
		time.Date(2026, 7, 1, 1, 2, 3, 123_000_000, time.UTC),
		time.Date(2026, 7, 1, 1, 2, 3, 123_400, time.UTC),
		time.Date(2026, 7, 1, 1, 2, 3, 10, time.UTC),
		time.UnixMilli(1_764_000_000_123).UTC(),
		time.UnixMilli(-1).UTC(),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 5_000_000, berlin),
		time.Date(2026, 12, 3, 9, 5, 7, 0, time.FixedZone("", -5*3600-30*60)),
		time.Date(2026, 12, 3, 9, 5, 7, 0, time.FixedZone("UTC", 0)), // a zone named UTC that is not time.UTC
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		times = append(times, time.Unix(r.Int64N(253402300800+62135596800)-62135596800, r.Int64N(1e9)).UTC())
		times = append(times, time.UnixMilli(r.Int64N(4_102_444_800_000)).UTC())
	}
	for _, tm := range times {
		want, err := json.Marshal(tm)
		if err != nil {
			// MarshalJSON refuses years outside 0–9999; Time writes the
			// layout anyway (its doc).
			want = []byte(`"` + tm.Format(time.RFC3339Nano) + `"`)
		}
		if got := Time(nil, tm); string(got) != string(want) {
			t.Fatalf("Time(%v) = %s, want %s", tm, got, want)
		}
	}
}

// FuzzTime: any instant in UTC is written as AppendFormat writes it.
func FuzzTime(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(1_764_000_000), int64(123_000_000))
	f.Add(int64(253402300799), int64(999_999_999))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		tm := time.Unix(sec, nsec).UTC()
		want := `"` + tm.Format(time.RFC3339Nano) + `"`
		if got := Time(nil, tm); string(got) != want {
			t.Fatalf("Time(%d, %d) = %s, want %s", sec, nsec, got, want)
		}
	})
}

func BenchmarkTime(b *testing.B) {
	tm := time.UnixMilli(1_764_000_000_123).UTC()
	buf := make([]byte, 0, 64)
	b.Run("hand", func(b *testing.B) {
		for range b.N {
			buf = Time(buf[:0], tm)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		for range b.N {
			buf = append(tm.AppendFormat(append(buf[:0], '"'), time.RFC3339Nano), '"')
		}
	})
}
