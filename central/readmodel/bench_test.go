package readmodel

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

// salesBatches makes n batches of per sales, framed as a forwarder sends
// them: 100 sites in 10 cities and 5 timezones, 10 machines and 30 products
// per site, a sale every 6 seconds per site.
func salesBatches(b *testing.B, n, per int) []*envelope.Frame {
	const sites = 100
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	zones := []string{"Europe/Berlin", "Asia/Kolkata", "America/New_York", "UTC", "Asia/Tokyo"}
	batches := make([]*envelope.Frame, n)
	next := make([]uint64, sites)
	for i := range batches {
		si := i % sites
		site := fmt.Sprintf("site-%03d", si)
		city := fmt.Sprintf("city-%d", si%10)
		evs := make([]ev, per)
		for j := range evs {
			k := int(next[si]) + j
			evs[j] = saleEv(fmt.Sprintf("%s-%d", site, k), fmt.Sprintf("%s-m%d", site, k%10), fmt.Sprintf("p%d", (k*7)%30),
				city, 1, 150, start.Add(time.Duration(k)*6*time.Second))
		}
		f, err := mkBatch(b, site, zones[si%len(zones)], next[si]+1, evs...).Frame()
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = f
		next[si] += uint64(per)
	}
	return batches
}

// BenchmarkApply_Sales500 applies batches of 500 sales one after another
// (Prepare + ApplyPrepared on one goroutine) into a store with
// synchronous=FULL. Run with -benchtime=200x for a 100,000-event backlog.
func BenchmarkApply_Sales500(b *testing.B) {
	const per = 500
	s := openStore(b)
	ctx := context.Background()
	batches := salesBatches(b, b.N, per)
	b.ResetTimer()
	t0, c0 := time.Now(), cpuTime()
	for i := range b.N {
		p, err := s.Prepare(batches[i])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ApplyPrepared(ctx, uint64(i+1), p); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N*per, time.Since(t0), cpuTime()-c0)
}

// BenchmarkApply_Sales500Pipelined is BenchmarkApply_Sales500 the way the
// aggregator runs it: Prepare of the next batch overlaps ApplyPrepared of
// the current one.
func BenchmarkApply_Sales500Pipelined(b *testing.B) {
	const per = 500
	s := openStore(b)
	ctx := context.Background()
	batches := salesBatches(b, b.N, per)
	b.ResetTimer()
	t0, c0 := time.Now(), cpuTime()
	prepared := make(chan *Prepared, 4)
	errc := make(chan error, 1)
	go func() {
		defer close(prepared)
		for _, bt := range batches {
			p, err := s.Prepare(bt)
			if err != nil {
				errc <- err
				return
			}
			prepared <- p
		}
	}()
	i := 0
	for p := range prepared {
		i++
		if _, err := s.ApplyPrepared(ctx, uint64(i), p); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
	reportRate(b, b.N*per, time.Since(t0), cpuTime()-c0)
}

// reportRate reports events per wall-clock second and per CPU second of
// the whole process. On a shared machine the second one is the steadier: it
// does not count time spent waiting for a core.
func reportRate(b *testing.B, events int, wall, cpu time.Duration) {
	b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}

// benchModel sizes the generated read model for BenchmarkQuery.
const (
	benchSites    = 1000 // 10 machines each: 10,000 machines
	benchMachines = 10
	benchCities   = 50
	benchProducts = 30
)

// benchDays is how many days of aggregates genReadModel writes: 90, or
// VENDSYNC_BENCH_DAYS (365 for the issue-14 goal of one year; generation
// then takes about four times as long).
var benchDays = func() int {
	if n, err := strconv.Atoi(os.Getenv("VENDSYNC_BENCH_DAYS")); err == nil && n >= 30 {
		return n
	}
	return 90
}()

// genReadModel writes aggregate rows directly (as Apply would lay them
// out) for 10,000 machines × benchDays days: every per-site row (machine, site,
// city and product within a site) at day, week and month; cities and
// products per city and fleet-wide at every window including hour. The
// per-site hour rows (machine, site, product within a site: ~90 M rows) are
// left out to keep generation in minutes on this machine; no benchmarked
// query reads them, and the B-tree they would share is only deeper by a
// level.
func genReadModel(b *testing.B, s *Store) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	stmts := []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO sites (site, tz, contiguous, max_seen, last_event_time, last_contact, backlog)
			SELECT printf('site-%%04d', i), 'UTC', 5400, 5400, 1767225600000, 1767225600000, 0 FROM n`, benchSites-1),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO sales_scopes (site, city) SELECT printf('site-%%04d', i), printf('city-%%02d', i %% %d) FROM n`, benchSites-1, benchCities),
	}
	// win, step (seconds), count of buckets
	type w struct {
		win   string
		step  int64
		count int
	}
	hour, day := w{"hour", 3600, benchDays * 24}, w{"day", 86400, benchDays}
	week, month := w{"week", 7 * 86400, benchDays / 7}, w{"month", 30 * 86400, benchDays / 30}
	gen := func(dim string, ws []w, scope, key string, keys int) {
		for _, x := range ws {
			stmts = append(stmts, fmt.Sprintf(`WITH RECURSIVE
				s(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM s WHERE i < %d),
				k(j) AS (SELECT 0 UNION ALL SELECT j+1 FROM k WHERE j < %d),
				t(b) AS (SELECT 0 UNION ALL SELECT b+1 FROM t WHERE b < %d)
				INSERT INTO sales_agg (dim, win, site, city, bucket, key, tx_count, quantity, revenue_cents)
				SELECT '%s', '%s', %s, %d + t.b * %d, %s, 1 + (s.i + k.j + t.b) %% 7, 2 + (s.i + k.j + t.b) %% 5, 100 * (1 + (s.i * 3 + k.j * 7 + t.b) %% 13)
				FROM s, k, t ORDER BY 3, 4, 5, 6`,
				map[bool]int{true: benchSites - 1, false: 0}[scope == "site"], keys-1, x.count-1,
				dim, x.win, map[string]string{
					"site":  `printf('site-%04d', s.i), printf('city-%02d', s.i % ` + fmt.Sprint(benchCities) + `)`,
					"city":  `'*', printf('city-%02d', k.j)`,
					"fleet": `'**', ''`,
				}[scope], base, x.step, key))
		}
	}
	all, coarse := []w{hour, day, week, month}, []w{day, week, month}
	gen("machine", coarse, "site", `printf('site-%04d-m%d', s.i, k.j)`, benchMachines)
	gen("site", coarse, "site", `printf('site-%04d', s.i)`, 1)
	gen("city", coarse, "site", `printf('city-%02d', s.i % `+fmt.Sprint(benchCities)+`)`, 1)
	gen("city", all, "city", `printf('city-%02d', k.j)`, benchCities)
	gen("product", coarse, "site", `printf('p%02d', k.j)`, benchProducts)
	gen("product", all, "fleet", `printf('p%02d', k.j)`, benchProducts)
	// product per city: cities × products keys
	for _, x := range all {
		stmts = append(stmts, fmt.Sprintf(`WITH RECURSIVE
			c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < %d),
			k(j) AS (SELECT 0 UNION ALL SELECT j+1 FROM k WHERE j < %d),
			t(b) AS (SELECT 0 UNION ALL SELECT b+1 FROM t WHERE b < %d)
			INSERT INTO sales_agg (dim, win, site, city, bucket, key, tx_count, quantity, revenue_cents)
			SELECT 'product', '%s', '*', printf('city-%%02d', c.i), %d + t.b * %d, printf('p%%02d', k.j), 3, 4, 100 * (1 + (c.i + k.j * 5 + t.b) %% 11)
			FROM c, k, t ORDER BY 4, 5, 6`, benchCities-1, benchProducts-1, x.count-1, x.win, base, x.step))
	}
	t0 := time.Now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// The rows were written behind the store's back: load them into its
	// freshness table as Open would have.
	if err := s.fresh.load(ctx, s); err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := s.db.R.QueryRow(`SELECT count(*) FROM sales_agg`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d aggregate rows for %d machines × %d days in %v", n, benchSites*benchMachines, benchDays, time.Since(t0).Round(time.Second))
}

// BenchmarkQuery measures query latency over a large generated read model
// (see genReadModel) and reports p50 and p99 per query shape.
func BenchmarkQuery(b *testing.B) {
	s := openStore(b)
	genReadModel(b, s)
	ctx := context.Background()
	d0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		run  func(i int) error
	}{
		{"city_by_day_30d_fleet", func(i int) error {
			_, err := s.Sales(ctx, SalesQuery{GroupBy: ByCity, Window: bucket.Day, From: d0, To: d0.AddDate(0, 0, 30)})
			return err
		}},
		{"product_by_hour_1d_city", func(i int) error {
			_, err := s.Sales(ctx, SalesQuery{GroupBy: ByProduct, Window: bucket.Hour, From: d0.AddDate(0, 0, i%30), To: d0.AddDate(0, 0, i%30+1), City: fmt.Sprintf("city-%02d", i%benchCities)})
			return err
		}},
		{"machine_by_day_30d_site", func(i int) error {
			_, err := s.Sales(ctx, SalesQuery{GroupBy: ByMachine, Window: bucket.Day, From: d0, To: d0.AddDate(0, 0, 30), Site: fmt.Sprintf("site-%04d", i%benchSites)})
			return err
		}},
		{"site_by_day_7d_city", func(i int) error {
			_, err := s.Sales(ctx, SalesQuery{GroupBy: BySite, Window: bucket.Day, From: d0, To: d0.AddDate(0, 0, 7), City: fmt.Sprintf("city-%02d", i%benchCities)})
			return err
		}},
		{"top_products_45d_fleet", func(i int) error {
			_, err := s.TopProducts(ctx, TopQuery{From: d0.Add(-17 * time.Hour), To: d0.AddDate(0, 0, 45).Add(5 * time.Hour)})
			return err
		}},
		{"top_products_10d_city", func(i int) error {
			_, err := s.TopProducts(ctx, TopQuery{From: d0.Add(time.Duration(i%24) * time.Hour), To: d0.AddDate(0, 0, 10), City: fmt.Sprintf("city-%02d", i%benchCities)})
			return err
		}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := range b.N {
				t0 := time.Now()
				if err := tt.run(i); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
