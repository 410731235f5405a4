package readmodel

import (
	"context"
	"fmt"
	"os"
	"runtime"
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
	batches := salesBatches(b, b.N, per)
	applyEach(b, s, batches, b.N*per)
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

// applyEach applies batches one after the other, each as the next stream
// sequence, and reports the rate of the events they hold.
func applyEach(b *testing.B, s *Store, batches []*envelope.Frame, events int) {
	b.Helper()
	ctx := context.Background()
	b.ResetTimer()
	t0, c0 := time.Now(), cpuTime()
	for i := range batches {
		p, err := s.Prepare(batches[i])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ApplyPrepared(ctx, uint64(i+1), p); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, events, time.Since(t0), cpuTime()-c0)
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

// genReadModel returns the statements that write aggregate rows directly (as Apply would lay them
// out) for 10,000 machines × benchDays days: every per-site row (machine, site,
// city and product within a site) at day, week and month; cities and
// products per city and fleet-wide at every window including hour. The
// per-site hour rows (machine, site, product within a site: ~90 M rows) are
// left out to keep generation in minutes on this machine; no benchmarked
// query reads them, and the B-tree they would share is only deeper by a
// level.
func genReadModel() []string {
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
	return stmts
}

// BenchmarkQuery measures query latency over a large generated read model
// (see benchStore) and reports p50 and p99 per query, wall clock and CPU
// time of the querying thread (steadier on a shared machine), and the rows
// of its answer. The queries are every read of the HQ API that spans the fleet (or
// one city), as its handlers call the store: sales aggregates by each
// dimension and window, top products, the daily and monthly reports (every
// store call their handler makes), alerts, faults, sites, the payments,
// promotions, DEX and cash reports, orders, lots, nearest sites and a menu.
func BenchmarkQuery(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	d0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	m0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	city := func(i int) string { return fmt.Sprintf("city-%02d", i%benchCities) }
	site := func(i int) string { return fmt.Sprintf("site-%04d", i%benchSites) }
	// The rows go into one kept array, as GET /aggregations/sales keeps its.
	var rows []SalesRow
	sales := func(dim Dim, win bucket.Window, from, to time.Time, city, site string) (int, error) {
		res, err := s.AppendSales(ctx, rows[:0], SalesQuery{GroupBy: dim, Window: win, From: from, To: to, City: city, Site: site})
		rows = res.Rows
		return len(res.Rows), err
	}
	top := func(q TopQuery) (int, error) {
		res, err := s.TopProducts(ctx, q)
		return len(res.Products), err
	}
	tests := []struct {
		name string
		run  func(i int) (rows int, err error)
	}{
		{"city_by_hour_1d_fleet", func(i int) (int, error) {
			return sales(ByCity, bucket.Hour, d0.AddDate(0, 0, i%30), d0.AddDate(0, 0, i%30+1), "", "")
		}},
		{"city_by_day_30d_fleet", func(i int) (int, error) { return sales(ByCity, bucket.Day, d0, d0.AddDate(0, 0, 30), "", "") }},
		{"city_by_week_13w_fleet", func(i int) (int, error) { return sales(ByCity, bucket.Week, d0, d0.AddDate(0, 0, 91), "", "") }},
		{"city_by_month_12m_fleet", func(i int) (int, error) { return sales(ByCity, bucket.Month, m0, m0.AddDate(1, 0, 0), "", "") }},
		{"product_by_hour_1d_fleet", func(i int) (int, error) {
			return sales(ByProduct, bucket.Hour, d0.AddDate(0, 0, i%30), d0.AddDate(0, 0, i%30+1), "", "")
		}},
		{"product_by_day_30d_fleet", func(i int) (int, error) { return sales(ByProduct, bucket.Day, d0, d0.AddDate(0, 0, 30), "", "") }},
		{"product_by_week_13w_fleet", func(i int) (int, error) { return sales(ByProduct, bucket.Week, d0, d0.AddDate(0, 0, 91), "", "") }},
		{"product_by_month_12m_fleet", func(i int) (int, error) { return sales(ByProduct, bucket.Month, m0, m0.AddDate(1, 0, 0), "", "") }},
		{"site_by_day_1d_fleet", func(i int) (int, error) {
			return sales(BySite, bucket.Day, d0.AddDate(0, 0, i%30), d0.AddDate(0, 0, i%30+1), "", "")
		}},
		{"site_by_month_1m_fleet", func(i int) (int, error) { return sales(BySite, bucket.Month, m0, m0.AddDate(0, 1, 0), "", "") }},
		{"machine_by_day_1d_fleet", func(i int) (int, error) {
			return sales(ByMachine, bucket.Day, d0.AddDate(0, 0, i%30), d0.AddDate(0, 0, i%30+1), "", "")
		}},
		{"product_by_hour_1d_city", func(i int) (int, error) {
			return sales(ByProduct, bucket.Hour, d0.AddDate(0, 0, i%30), d0.AddDate(0, 0, i%30+1), city(i), "")
		}},
		{"product_by_month_12m_city", func(i int) (int, error) { return sales(ByProduct, bucket.Month, m0, m0.AddDate(1, 0, 0), city(i), "") }},
		{"site_by_day_7d_city", func(i int) (int, error) { return sales(BySite, bucket.Day, d0, d0.AddDate(0, 0, 7), city(i), "") }},
		{"site_by_week_13w_city", func(i int) (int, error) { return sales(BySite, bucket.Week, d0, d0.AddDate(0, 0, 91), city(i), "") }},
		{"machine_by_day_30d_site", func(i int) (int, error) { return sales(ByMachine, bucket.Day, d0, d0.AddDate(0, 0, 30), "", site(i)) }},
		{"machine_by_month_12m_site", func(i int) (int, error) { return sales(ByMachine, bucket.Month, m0, m0.AddDate(1, 0, 0), "", site(i)) }},
		{"top_products_45d_fleet", func(i int) (int, error) {
			return top(TopQuery{From: d0.Add(-17 * time.Hour), To: d0.AddDate(0, 0, 45).Add(5 * time.Hour)})
		}},
		{"top_products_1y_fleet", func(i int) (int, error) { return top(TopQuery{From: m0, To: m0.AddDate(1, 0, 0)}) }},
		{"top_products_10d_city", func(i int) (int, error) {
			return top(TopQuery{From: d0.Add(time.Duration(i%24) * time.Hour), To: d0.AddDate(0, 0, 10), City: city(i)})
		}},
		{"report_daily_fleet", func(i int) (int, error) {
			return benchReport(ctx, s, bucket.Day, d0.AddDate(0, 0, i%30), d0.AddDate(0, 0, i%30+1))
		}},
		{"report_monthly_fleet", func(i int) (int, error) {
			return benchReport(ctx, s, bucket.Month, m0.AddDate(0, i%12, 0), m0.AddDate(0, i%12+1, 0))
		}},
		{"alerts_open_fleet", func(i int) (int, error) {
			a, err := s.Alerts(ctx, AlertFilter{Status: "OPEN"})
			return len(a), err
		}},
		{"alerts_all_fleet", func(i int) (int, error) {
			a, err := s.Alerts(ctx, AlertFilter{})
			return len(a), err
		}},
		{"alerts_low_stock_city", func(i int) (int, error) {
			a, err := s.Alerts(ctx, AlertFilter{Type: "LOW_STOCK", City: city(i)})
			return len(a), err
		}},
		{"faults_open_fleet", func(i int) (int, error) {
			f, err := s.Faults(ctx, FaultFilter{Status: "OPEN"})
			return len(f), err
		}},
		{"faults_all_fleet", func(i int) (int, error) {
			f, err := s.Faults(ctx, FaultFilter{})
			return len(f), err
		}},
		{"sites_fleet", func(i int) (int, error) {
			f, err := s.Sites(ctx)
			return len(f), err
		}},
		{"payments_30d_fleet", func(i int) (int, error) {
			r, err := s.PaymentReport(ctx, PaymentQuery{From: "2026-02-01", To: "2026-03-02"})
			return len(r.Rows), err
		}},
		{"promotions_30d_fleet", func(i int) (int, error) {
			r, err := s.Promotions(ctx, PromotionQuery{From: d0, To: d0.AddDate(0, 0, 30)})
			return len(r.Promotions), err
		}},
		{"promotions_30d_city", func(i int) (int, error) {
			r, err := s.Promotions(ctx, PromotionQuery{From: d0, To: d0.AddDate(0, 0, 30), City: city(i)})
			return len(r.Promotions), err
		}},
		{"dex_by_site_30d_fleet", func(i int) (int, error) {
			r, err := s.ReconciliationReport(ctx, DEXQuery{GroupBy: DEXBySite, From: d0, To: d0.AddDate(0, 0, 30)})
			return len(r.Rows), err
		}},
		{"dex_by_city_30d_fleet", func(i int) (int, error) {
			r, err := s.ReconciliationReport(ctx, DEXQuery{GroupBy: DEXByCity, From: d0, To: d0.AddDate(0, 0, 30)})
			return len(r.Rows), err
		}},
		{"dex_by_site_30d_mid_fleet", func(i int) (int, error) { // no whole month, unaligned
			r, err := s.ReconciliationReport(ctx, DEXQuery{GroupBy: DEXBySite, From: d0.AddDate(0, 0, 12), To: d0.AddDate(0, 0, 42)})
			return len(r.Rows), err
		}},
		{"dex_by_city_30d_mid_fleet", func(i int) (int, error) {
			r, err := s.ReconciliationReport(ctx, DEXQuery{GroupBy: DEXByCity, From: d0.AddDate(0, 0, 12), To: d0.AddDate(0, 0, 42)})
			return len(r.Rows), err
		}},
		{"dex_by_site_1y_fleet", func(i int) (int, error) {
			r, err := s.ReconciliationReport(ctx, DEXQuery{GroupBy: DEXBySite, From: m0, To: m0.AddDate(1, 0, 0)})
			return len(r.Rows), err
		}},
		{"cash_by_driver_30d_fleet", func(i int) (int, error) {
			r, err := s.CashReport(ctx, DEXQuery{GroupBy: DEXByDriver, From: d0, To: d0.AddDate(0, 0, 30)})
			return len(r.Rows), err
		}},
		{"cash_by_machine_30d_site", func(i int) (int, error) {
			r, err := s.CashReport(ctx, DEXQuery{GroupBy: DEXByMachine, Site: site(i), From: d0, To: d0.AddDate(0, 0, 30)})
			return len(r.Rows), err
		}},
		{"orders_fleet", func(i int) (int, error) {
			o, err := s.Orders(ctx, OrderFilter{})
			return len(o), err
		}},
		{"orders_accepted_fleet", func(i int) (int, error) {
			o, err := s.Orders(ctx, OrderFilter{Status: "ACCEPTED"})
			return len(o), err
		}},
		{"lots_expiring_fleet", func(i int) (int, error) {
			l, err := s.Lots(ctx, LotQuery{ExpiringBefore: "2026-02-01", Limit: 1000})
			return len(l), err
		}},
		{"lots_site", func(i int) (int, error) {
			l, err := s.Lots(ctx, LotQuery{Site: site(i)})
			return len(l), err
		}},
		{"nearest_10km", func(i int) (int, error) {
			n, err := s.Nearest(ctx, 40+float64(i%40)*0.25, -5+float64(i%25)*0.5, fmt.Sprintf("p%02d", i%30), 10, 20)
			return len(n), err
		}},
		{"menu_site", func(i int) (int, error) {
			m, err := s.Menu(ctx, site(i))
			return len(m), err
		}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			// Locked to its thread, the goroutine's thread CPU time is
			// the query's CPU time (its own, not the other sessions').
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			lat := make([]time.Duration, 0, b.N)
			cpu := make([]time.Duration, 0, b.N)
			rows := 0
			for i := range b.N {
				t0, c0 := time.Now(), threadCPU()
				n, err := tt.run(i)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				cpu = append(cpu, threadCPU()-c0)
				rows = n
			}
			pct := func(d []time.Duration, p float64) float64 {
				slices.Sort(d)
				return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(lat, 0.50), "p50-ms")
			b.ReportMetric(pct(lat, 0.99), "p99-ms")
			b.ReportMetric(pct(cpu, 0.50), "cpu-p50-ms")
			b.ReportMetric(pct(cpu, 0.99), "cpu-p99-ms")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// benchReport makes the store calls of the HQ API's daily and monthly
// report handler (central/api reports.go, buildReport) for the fleet and
// returns the rows they answered.
func benchReport(ctx context.Context, s *Store, win bucket.Window, from, to time.Time) (int, error) {
	const topN = 3 // api.ReportTopN
	res, err := s.Sales(ctx, SalesQuery{GroupBy: ByCity, Window: win, From: from, To: to})
	if err != nil {
		return 0, err
	}
	n := len(res.Rows)
	sitesOf, err := s.SitesByCity(ctx, win, from, to)
	if err != nil {
		return 0, err
	}
	for _, r := range res.Rows {
		n += len(sitesOf[r.Key])
	}
	open, err := s.OpenCounts(ctx)
	if err != nil {
		return 0, err
	}
	n += len(open)
	bySite, err := s.TopProductsBySite(ctx, from, to, topN)
	if err != nil {
		return 0, err
	}
	for _, ps := range bySite {
		n += len(ps)
	}
	byCity, err := s.TopProductsByCity(ctx, from, to, topN)
	if err != nil {
		return 0, err
	}
	for _, ps := range byCity {
		n += len(ps)
	}
	return n, nil
}
