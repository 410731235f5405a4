package dashboard

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
)

// The read model of central/readmodel's BenchmarkQuery (genReadModel there):
// 10,000 machines (1,000 sites × 10) in 50 cities, 30 products, 90 days of
// aggregates at every window, plus open alerts and faults for the overview.
// The generator is that benchmark's, repeated here because it lives in
// readmodel's test files (see the report: it belongs in the shared test
// kit).
const (
	benchSites    = 1000
	benchMachines = 10
	benchCities   = 50
	benchProducts = 30
	benchDays     = 90
	benchAlerts   = 5000
	benchFaults   = 500
)

// benchDB is the generated read model file. Generating it takes minutes,
// so it is kept between runs under the system's temp dir (or
// $VENDSYNC_BENCH_DB) and reused while its layout version matches.
func benchDB(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("VENDSYNC_BENCH_DB"); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), "vendsync-dashboard-bench-v1.db")
}

func openBenchStore(b *testing.B) *readmodel.Store {
	b.Helper()
	ctx := context.Background()
	path := benchDB(b)
	st, err := readmodel.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	fs, err := st.Sites(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(fs) == benchSites {
		return st
	}
	if len(fs) != 0 {
		b.Fatalf("%s holds %d sites, not %d: remove it", path, len(fs), benchSites)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range genStatements() {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated the read model for %d machines × %d days in %v (%s)", benchSites*benchMachines, benchDays, time.Since(t0).Round(time.Second), path)
	return st
}

// genStatements lays out aggregate rows as Apply would (see
// readmodel.genReadModel), then sites, machines, alerts and faults.
func genStatements() []string {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	lastMS := time.Date(2026, 3, 31, 11, 55, 0, 0, time.UTC).UnixMilli()
	stmts := []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO sites (site, tz, contiguous, max_seen, last_event_time, last_contact, backlog)
			SELECT printf('site-%%04d', i), 'UTC', 5400, 5400 + (i %% 97 = 0) * 12, %d - (i %% 50) * 60000, %d - (i %% 50) * 60000 - (i %% 111 = 0) * 7200000, (i %% 97 = 0) * 12 FROM n`,
			benchSites-1, lastMS, lastMS),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO sales_scopes (site, city) SELECT printf('site-%%04d', i), printf('city-%%02d', i %% %d) FROM n`, benchSites-1, benchCities),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO machines (site, machine_id, city, building, payment_methods, status, action, seq, event_time)
			SELECT printf('site-%%04d', i / %d), printf('site-%%04d-m%%d', i / %d, i %% %d), printf('city-%%02d', (i / %d) %% %d),
				'B1', '["CARD"]', 'ACTIVE', 'REGISTERED', 1, %d FROM n`,
			benchSites*benchMachines-1, benchMachines, benchMachines, benchMachines, benchMachines, benchCities, lastMS),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO alerts (site, alert_id, machine_id, product_id, alert_type, status, detail, opened_at, seq, event_time)
			SELECT printf('site-%%04d', i %% %d), i, printf('site-%%04d-m%%d', i %% %d, i %% %d), printf('p%%02d', i %% %d),
				CASE i %% 4 WHEN 0 THEN 'LOW_STOCK' WHEN 1 THEN 'OUT_OF_STOCK' WHEN 2 THEN 'EXPIRING_SOON' ELSE 'TEMPERATURE_HIGH' END,
				'OPEN', 'generated', %d - i * 1000, 2, %d - i * 1000 FROM n`,
			benchAlerts-1, benchSites, benchSites, benchMachines, benchProducts, lastMS, lastMS),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO faults (site, fault_id, machine_id, fault_type, description, status, reported_at, seq, event_time)
			SELECT printf('site-%%04d', i %% %d), i, printf('site-%%04d-m%%d', i %% %d, i %% %d),
				CASE i %% 3 WHEN 0 THEN 'JAM' WHEN 1 THEN 'PAYMENT_FAILURE' ELSE 'COOLING' END,
				'generated', CASE i %% 5 WHEN 0 THEN 'IN_PROGRESS' ELSE 'OPEN' END, %d - i * 1000, 3, %d - i * 1000 FROM n`,
			benchFaults-1, benchSites, benchSites, benchMachines, lastMS, lastMS),
	}
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

// BenchmarkPages renders whole pages (queries, charts, templates; the
// layout, not the fragment a live refresh fetches) against the generated
// read model, as an ADMIN (who sees every panel), and reports p50 and p99.
// Every render is cold: the kept hour-of-week charts and route plans are
// dropped first, so the sales pages defer their hour-of-week chart, which
// is measured on its own (sales_heat_*), as is the routes page's plan.
// The target is 300 ms a page. Run with
//
//	go test -run '^$' -bench Pages -benchtime 20x ./central/dashboard/
func BenchmarkPages(b *testing.B) {
	st := openBenchStore(b)
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	d, err := newDashboard(Config{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	s := &session{ClientID: "bench", Role: auth.RoleAdmin, Name: "bench", CSRF: "x"}
	pages := []struct {
		name, url string
		h         page
		path      map[string]string
	}{
		{"overview", "/ui/", d.overview, nil},
		{"sales_city_day_30d_fleet", "/ui/sales", d.sales, nil},
		{"sales_product_day_30d_city", "/ui/sales?groupBy=product&city=city-07", d.sales, nil},
		{"sales_machine_day_30d_site", "/ui/sales?groupBy=machine&siteId=site-0042", d.sales, nil},
		{"sales_site_week_90d_fleet", "/ui/sales?groupBy=site&window=week&from=2026-01-01&to=2026-04-01", d.sales, nil},
		{"sales_city_hour_7d_fleet", "/ui/sales?window=hour&from=2026-03-25&to=2026-04-01", d.sales, nil},
		{"sales_heat_28d_fleet", "/ui/sales/heat", d.salesHeat, nil},
		{"sales_heat_28d_city", "/ui/sales/heat?city=city-07", d.salesHeat, nil},
		{"sites_1000", "/ui/sites", d.sites, nil},
		{"site", "/ui/sites/site-0042", d.site, map[string]string{"siteId": "site-0042"}},
		{"alerts_open", "/ui/alerts", d.alerts, nil},
		{"routes", "/ui/routes", d.driverRoutes, nil},
	}
	for _, pg := range pages {
		b.Run(pg.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			var size int
			for range b.N {
				r := httptest.NewRequest("GET", pg.url, nil)
				for k, v := range pg.path {
					r.SetPathValue(k, v)
				}
				w := httptest.NewRecorder()
				d.heats.clear()
				d.plans.clear()
				t0 := time.Now()
				if err := pg.h(w, r, s); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d\n%s", pg.url, w.Code, w.Body)
				}
				size = w.Body.Len()
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(size)/1024, "KiB")
		})
	}
}
