package readmodel

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// dumpCityTop lists city_top's rows.
func dumpCityTop(t testing.TB, s *Store) []string {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT win, bucket, rank, city, product_id, tx_count, quantity, revenue_cents FROM city_top ORDER BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	return dumpRows(t, rows)
}

// cityTopAnswers holds TopProductsByCity over every whole day and month
// (city_top, migration 0030) to the same answer summed and ranked from
// every city's product rows, for several limits, and returns how many
// products were compared.
func cityTopAnswers(t *testing.T, s *Store) int {
	t.Helper()
	ctx := context.Background()
	d0 := time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)
	var ranges [][2]time.Time
	for d := d0; d.Before(d0.AddDate(0, 0, 44)); d = d.AddDate(0, 0, 1) {
		ranges = append(ranges, [2]time.Time{d, d.AddDate(0, 0, 1)})
	}
	for m := d0.AddDate(0, -1, -26); m.Before(d0.AddDate(0, 3, 0)); m = m.AddDate(0, 1, 0) {
		ranges = append(ranges, [2]time.Time{m, m.AddDate(0, 1, 0)})
	}
	n := 0
	for _, r := range ranges {
		spans := bucket.Cover(r[0], r[1])
		if _, _, ok := siteTopBucket(spans); !ok {
			t.Fatalf("%v: not one day or month: %+v", r, spans)
		}
		for _, limit := range []int{1, 3, 10} {
			got, err := s.TopProductsByCity(ctx, r[0], r[1], limit)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.topProductsByCity(ctx, spans, limit, false)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("%v limit %d:\n got %v\nwant %v", r, limit, got, want)
			}
			for _, ps := range want {
				n += len(ps)
			}
		}
	}
	return n
}

// TestCityTop_AnswerAsBefore: every city's top products of a whole day or
// month, read from city_top (kept on apply, in groups too, with repeats
// and discounts), answer what the cities' product rows answer; city_top
// kept on apply is what migration 0030's fill and Rebuild compute.
func TestCityTop_AnswerAsBefore(t *testing.T) {
	for _, seed := range []uint64{41, 42, 43} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			s := discountFleet(t, seed)
			if n := cityTopAnswers(t, s); n < 500 {
				t.Fatalf("only %d products compared: the fixture tests too little", n)
			}
			kept := dumpCityTop(t, s)
			if _, err := s.w.ExecContext(ctx, `DELETE FROM city_top`); err != nil {
				t.Fatal(err)
			}
			for _, q := range migrationStatements(t, 30, "INSERT INTO city_top") {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if filled := dumpCityTop(t, s); len(kept) < 100 || !slices.Equal(kept, filled) {
				t.Fatalf("kept on apply (%d rows):\n%v\nfilled by the migration (%d rows):\n%v", len(kept), kept, len(filled), filled)
			}
			if _, err := s.w.ExecContext(ctx, `UPDATE city_top SET tx_count = tx_count + 1 WHERE win = 'day'`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			if rebuilt := dumpCityTop(t, s); !slices.Equal(kept, rebuilt) {
				t.Fatalf("kept on apply (%d rows) differs from rebuilt (%d rows)", len(kept), len(rebuilt))
			}
			cityTopAnswers(t, s)
		})
	}
}

// TestMigration0030_FillsCityTop: a read model written before migration
// 0030 (sales, no city_top) gets the rows apply would have kept, and the
// cities' top products answer as before.
func TestMigration0030_FillsCityTop(t *testing.T) {
	ctx := context.Background()
	s := discountFleet(t, 44)
	kept := dumpCityTop(t, s)
	for _, q := range []string{`DROP TABLE city_top`, `DELETE FROM schema_migrations WHERE version = 30`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	runMigration(t, s, 30)
	if filled := dumpCityTop(t, s); len(kept) < 100 || !slices.Equal(kept, filled) {
		t.Fatalf("kept on apply: %d rows, filled by the migration: %d rows, or they differ", len(kept), len(filled))
	}
	if n := cityTopAnswers(t, s); n < 500 {
		t.Fatalf("only %d products compared", n)
	}
}
