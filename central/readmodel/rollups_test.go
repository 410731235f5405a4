package readmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/sync/envelope"
)

// refPromoLines is the promotions report's per-promotion query before
// issue 14: every sale line of the range, counted distinct in SQL.
const refPromoLines = `SELECT promotion_id, COUNT(DISTINCT site || ' ' || machine_id || ' ' || basket_id), COUNT(*),
			COUNT(DISTINCT site), SUM(discount_cents)
		FROM sale_promotions WHERE local_hour >= ? AND local_hour < ? AND (?3 = '' OR site = ?3) AND (?4 = '' OR city = ?4)
		GROUP BY promotion_id ORDER BY SUM(discount_cents) DESC, promotion_id`

func refPromotionLines(t testing.TB, s *Store, q PromotionQuery) []string {
	t.Helper()
	hour := func(v time.Time) int64 { return v.UTC().Truncate(time.Hour).Unix() }
	rows, err := s.db.R.Query(refPromoLines, hour(q.From), hour(q.To), q.Site, q.City)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p PromotionTotal
		if err := rows.Scan(&p.PromotionID, &p.Redemptions, &p.Lines, &p.Sites, &p.DiscountCents); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%+v", p))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dumpPromoDays returns every promo_days row.
func dumpPromoDays(t testing.TB, s *Store) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT lvl, site, city, day, promotion_id, baskets, lines, discount_cents, hex(sites) FROM promo_days ORDER BY 1, 2, 3, 4, 5`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var lvl, day, b, l, d int64
		var site, city, promo, sites string
		if err := rows.Scan(&lvl, &site, &city, &day, &promo, &b, &l, &d, &sites); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(lvl, site, city, day, promo, b, l, d, sites))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPromotionRollups_AnswerAsBefore applies random baskets of promoted
// sales of sites in several timezones and cities, in batches that split
// baskets and are delivered again whole and in overlapping parts, then
// holds the promotions report's per-promotion totals (read from promo_days
// and the raw lines at the range's edges) to the old query over the raw
// lines, for random ranges and every filter; and the rollups kept on apply
// to the ones the fill computes from the raw lines.
func TestPromotionRollups_AnswerAsBefore(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 14))
			s := openStore(t, WithSync(sqlite.SyncNormal)) // many small batches; durability is not under test
			type site struct{ id, tz string }
			sites := []site{{"s1", "UTC"}, {"s2", "Asia/Kolkata"}, {"s3", "America/New_York"}, {"s4", "Europe/Oslo"}}
			cities := []string{"Pune", "Oslo", "Bergen"}
			promos := []string{"pA", "pB", "pC", "pD"}
			d0 := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
			var stream uint64
			for _, st := range sites {
				var evs []ev
				for b := range 120 {
					at := d0.Add(time.Duration(rng.IntN(20*24*60)) * time.Minute)
					machine := fmt.Sprintf("M%d", rng.IntN(3))
					city := cities[rng.IntN(len(cities))]
					// A basket id names one sale of one machine (the edge
					// uses the basket's transaction id); other machines
					// and sites reuse it.
					basket := fmt.Sprintf("b%d", b)
					n := 1 + rng.IntN(3)
					for l := range n {
						e := saleEv(fmt.Sprintf("%s-%d#%d", st.id, b, l), machine, "P1", city, 1, 100, at)
						d := e.data.(envelope.Sale)
						if rng.IntN(5) > 0 {
							var ps []envelope.SalePromotion
							for range 1 + rng.IntN(2) {
								ps = append(ps, envelope.SalePromotion{PromotionID: promos[rng.IntN(len(promos))], DiscountCents: 1 + rng.Int64N(50)})
							}
							for _, p := range ps {
								d.DiscountCents += p.DiscountCents
							}
							d.ListCents, d.Promotions = d.AmountCents+d.DiscountCents, ps
							if n > 1 || rng.IntN(2) == 0 {
								d.BasketID = basket
							}
						}
						e.data = d
						evs = append(evs, e)
					}
				}
				// Batches of random size (splitting baskets), now and then
				// starting among events already applied, and half of them
				// delivered twice.
				for i := 0; i < len(evs); {
					n := min(1+rng.IntN(9), len(evs)-i)
					start := i
					if i > 0 && rng.IntN(3) == 0 {
						start = max(0, i-1-rng.IntN(5))
					}
					b := mkBatch(t, st.id, st.tz, uint64(start+1), evs[start:i+n]...)
					for range 1 + rng.IntN(2) {
						stream++
						mustApply(t, s, stream, b)
					}
					i += n
				}
			}
			nonEmpty := 0
			check := func() {
				for range 20 {
					from := d0.Add(time.Duration(rng.IntN(22*24*60)-24*60) * time.Minute)
					if rng.IntN(3) == 0 {
						from = from.Truncate(24 * time.Hour)
					}
					to := from.Add(time.Duration(rng.IntN(12*24*60)) * time.Minute)
					if rng.IntN(3) == 0 {
						to = to.Truncate(24 * time.Hour)
					}
					if !from.Before(to) {
						continue
					}
					for _, site := range []string{"", "s1", "s9"} {
						for _, city := range []string{"", "Pune", "Bergen"} {
							q := PromotionQuery{From: from, To: to, Site: site, City: city}
							got, err := s.promotionLines(ctx, q.From, q.To, q.Site, q.City)
							if err != nil {
								t.Fatal(err)
							}
							var gs []string
							for _, p := range got {
								gs = append(gs, fmt.Sprintf("%+v", p))
							}
							want := refPromotionLines(t, s, q)
							nonEmpty += min(len(want), 1)
							if !slices.Equal(gs, want) {
								t.Fatalf("%+v:\n got %v\nwant %v", q, gs, want)
							}
						}
					}
				}
			}
			check()
			if nonEmpty < 60 {
				t.Fatalf("only %d non-empty answers: the data tests too little", nonEmpty)
			}
			kept := dumpPromoDays(t, s)
			if _, err := s.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			if filled := dumpPromoDays(t, s); !slices.Equal(kept, filled) {
				t.Fatalf("promo_days kept on apply differ from the fill:\n kept %v\nfilled %v", kept, filled)
			}
			check()
		})
	}
}

// TestPromotionRollups_FilledOnOpen: a read model whose promo_days are
// missing (as migration 0022 leaves one, with a pending row) is filled on
// open, and the report answers as before.
func TestPromotionRollups_FilledOnOpen(t *testing.T) {
	ctx := context.Background()
	s := fleetFixture(t)
	kept := dumpPromoDays(t, s)
	if len(kept) == 0 {
		t.Fatal("no promotion rollups kept on apply")
	}
	var path string
	if err := s.db.R.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM promo_days`, `DELETE FROM promo_site_ords`, `INSERT INTO promo_days_pending (reason) VALUES ('test')`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := dumpPromoDays(t, s2); !slices.Equal(got, kept) {
		t.Fatalf("filled on open:\n got %v\nwant %v", got, kept)
	}
	var n int
	if err := s2.db.R.QueryRow(selectPromoFillPending).Scan(&n); err != nil || n != 0 {
		t.Fatalf("pending rows = %d, %v; want 0", n, err)
	}
}
