package readmodel

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/sync/bucket"
)

// realSites drops the city and fleet scopes ("*", "**") from a
// TopProductsBySite answer: the scan answers them too, site_top keeps
// only sites (the reports ask only for sites).
func realSites(m map[string][]ProductTotal) map[string][]ProductTotal {
	out := map[string][]ProductTotal{}
	for k, v := range m {
		if !strings.HasPrefix(k, "*") {
			out[k] = v
		}
	}
	return out
}

func dumpSiteTop(t testing.TB, s *Store) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT win, bucket, rank, site, product_id, tx_count, quantity, revenue_cents FROM site_top ORDER BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var win, site, product string
		var b, rank, tx, q, r int64
		if err := rows.Scan(&win, &b, &rank, &site, &product, &tx, &q, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(win, b, rank, site, product, tx, q, r))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSiteTop_AnswerAsBefore applies random sales (ties in revenue and
// quantity, a site in two cities, sites in several timezones, batches
// delivered twice) and holds TopProductsBySite over every whole day and
// month (read from site_top) to the scan of every site's product rows,
// for several limits; and site_top kept on apply to what migration 0022
// and Rebuild compute.
func TestSiteTop_AnswerAsBefore(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 3))
			s := openStore(t, WithSync(sqlite.SyncNormal)) // many small batches; durability is not under test
			d0 := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
			type site struct{ id, tz string }
			sites := []site{{"s1", "UTC"}, {"s2", "Asia/Kolkata"}, {"s3", "America/New_York"}, {"s4", "Europe/Oslo"}}
			var stream uint64
			for si, st := range sites {
				var evs []ev
				for i := range 400 {
					city := []string{"Pune", "Oslo"}[si%2]
					if st.id == "s1" && rng.IntN(4) == 0 {
						city = "Bergen"
					}
					at := d0.Add(time.Duration(rng.IntN(25*24*60)) * time.Minute)
					evs = append(evs, saleEv(fmt.Sprintf("%s-t%d", st.id, i), fmt.Sprintf("M%d", rng.IntN(3)), fmt.Sprintf("P%02d", rng.IntN(14)),
						city, 1+rng.Int64N(2), 100*(1+rng.Int64N(3)), at))
				}
				for i := 0; i < len(evs); {
					n := min(1+rng.IntN(40), len(evs)-i)
					b := mkBatch(t, st.id, st.tz, uint64(i+1), evs[i:i+n]...)
					for range 1 + rng.IntN(2) {
						stream++
						mustApply(t, s, stream, b)
					}
					i += n
				}
			}
			check := func() {
				t.Helper()
				nonEmpty := 0
				var ranges [][2]time.Time
				for d := d0.AddDate(0, 0, -1); d.Before(d0.AddDate(0, 0, 27)); d = d.AddDate(0, 0, 1) {
					ranges = append(ranges, [2]time.Time{d, d.AddDate(0, 0, 1)})
				}
				for m := d0.AddDate(0, -1, -19); m.Before(d0.AddDate(0, 2, 0)); m = m.AddDate(0, 1, 0) {
					ranges = append(ranges, [2]time.Time{m, m.AddDate(0, 1, 0)})
				}
				for _, r := range ranges {
					spans := bucket.Cover(r[0], r[1])
					if _, _, ok := siteTopBucket(spans); !ok {
						t.Fatalf("%v: not one day or month: %+v", r, spans)
					}
					for _, limit := range []int{1, 3, 10} {
						got, err := s.TopProductsBySite(ctx, r[0], r[1], limit)
						if err != nil {
							t.Fatal(err)
						}
						want, err := s.topBySiteScan(ctx, spans, limit)
						if err != nil {
							t.Fatal(err)
						}
						want = realSites(want)
						nonEmpty += len(want)
						if !maps.EqualFunc(got, want, slices.Equal) {
							t.Fatalf("%v limit %d:\n got %v\nwant %v", r, limit, got, want)
						}
					}
				}
				if nonEmpty < 200 {
					t.Fatalf("only %d site answers: the data tests too little", nonEmpty)
				}
			}
			check()
			kept := dumpSiteTop(t, s)
			for _, q := range []string{`DELETE FROM site_top`, fillStatement(t, "INSERT INTO site_top")} {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			if filled := dumpSiteTop(t, s); !slices.Equal(kept, filled) {
				t.Fatalf("site_top kept on apply differs from the migration's:\n kept %v\nfilled %v", kept, filled)
			}
			if _, err := s.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			if rebuilt := dumpSiteTop(t, s); !slices.Equal(kept, rebuilt) {
				t.Fatalf("site_top kept on apply differs from the rebuilt one:\n kept %v\nrebuilt %v", kept, rebuilt)
			}
			check()
		})
	}
}
