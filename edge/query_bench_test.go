package edge_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/internal/gcfloor"
	"github.com/vendsync/vendsync/migrations"
)

// edgeQuery is one GET of the edge API as BenchmarkEdgeQueries asks it.
type edgeQuery struct{ name, path string }

// edgeQueries lists a query for every GET route of the edge API (and the
// heavier variants of the list routes) against the 1,000,000-sale site:
// 10 machines × 20 products × 90 days, one payment per sale.
func edgeQueries(s *benchSite) []edgeQuery {
	loc := s.node.Store.Site.Loc
	now := time.Now().In(loc)
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.DateOnly) }
	return []edgeQuery{
		{"healthz", "/healthz"},
		{"readyz", "/readyz"},
		{"metrics", "/metrics"},
		{"machines", "/machines"},
		{"machine", "/machines/VM_0003"},
		{"inventory", "/machines/VM_0003/inventory"},
		{"faults-500", "/faults?limit=500"},
		{"faults-machine", "/faults?machineId=VM_0003&limit=500"},
		{"fault", "/faults/1"},
		{"alerts-500", "/alerts?limit=500"},
		{"alerts-open", "/alerts?status=OPEN&limit=500"},
		{"sales-machine-day-30d", "/aggregations/sales?groupBy=machine&window=day&from=" + day(-30)},
		{"sales-product-hour-1d", "/aggregations/sales?groupBy=product&window=hour&from=" + day(-1)},
		{"sales-product-day-24d", "/aggregations/sales?groupBy=product&window=day&from=" + day(-24)},
		{"sales-location-month-90d", "/aggregations/sales?groupBy=location&window=month&from=" + day(-90)},
		{"top-products-90d", "/aggregations/products/top?n=10&from=" + day(-90) + "T07:00:00"},
		{"top-products-qty-30d", "/aggregations/products/top?n=20&by=quantity&from=" + day(-30)},
		{"audit-500", "/audit?limit=500"},
		{"sync", "/sync"},
		{"reconciliations", "/reconciliations?limit=500"},
		{"lots", "/lots"},
		{"lots-machine", "/lots?machineId=VM_0003"},
		{"stock-movements-500", "/stock-movements?limit=500"},
		{"stock-movements-machine-500", "/stock-movements?machineId=VM_0003&limit=500"},
		{"stock-movements-last-day", "/stock-movements?limit=500&from=" + url.QueryEscape(now.Add(-24*time.Hour).UTC().Format(time.RFC3339))},
		{"stock-movements-restock", "/stock-movements?type=restock&limit=500"},
		{"orders", "/orders?limit=500"},
		{"payments-500", "/payments?limit=500"},
		{"payments-machine-500", "/payments?machineId=VM_0003&limit=500"},
		{"payments-day", "/payments?day=" + day(-45) + "&limit=500"},
		{"payments-machine-day", "/payments?machineId=VM_0003&day=" + day(-45) + "&limit=500"},
		{"payment", "/payments/1000"},
		{"report-payments-today", "/reports/payments"},
		{"report-payments-31d", "/reports/payments?from=" + day(-31) + "&to=" + day(0)},
		{"report-payments-90d", "/reports/payments?from=" + day(-90) + "&to=" + day(0)},
		{"promotions", "/promotions"},
		{"report-promotions-30d", "/reports/promotions?from=" + day(-30)},
	}
}

// seedEdgeQueries adds what the 1,000,000 sales leave empty: faults,
// restocks (stock movements and lots) and audit entries, through HTTP.
func seedEdgeQueries(b *testing.B, s *benchSite) {
	for i := range 600 {
		m := s.machines[i%len(s.machines)]
		s.post(b, "/events/faults", map[string]any{"machineId": m, "faultType": fmt.Sprintf("JAM_%d", i%7),
			"description": "door sensor", "timestamp": time.Now().Add(-time.Duration(i) * time.Minute).UTC().Format(time.RFC3339)}, nil)
	}
	for i := range 100 {
		m := s.machines[i%len(s.machines)]
		items := []map[string]any{}
		for p := range 5 {
			items = append(items, map[string]any{"productId": s.products[(i+p)%len(s.products)], "added": 1,
				"lotCode": fmt.Sprintf("L%d-%d", i, p), "expiryDate": time.Now().AddDate(0, 1, i%30).Format(time.DateOnly)})
		}
		s.post(b, "/machines/"+m+"/restock", map[string]any{"movementId": fmt.Sprintf("rs-%d", i), "items": items}, nil)
	}
}

var (
	queryOnce sync.Once
	querySite *benchSite
	queryErr  error
)

// openQuerySite opens the site BenchmarkEdgeQueries asks. It keeps it between runs
// when VENDSYNC_BENCH_CACHE names a directory (building it takes minutes);
// otherwise the site lives in a temporary directory for one process.
func openQuerySite(b *testing.B) (*benchSite, error) {
	cache := os.Getenv("VENDSYNC_BENCH_CACHE")
	if cache == "" {
		s := loadBigSite(b, 1_000_000)
		if s == nil {
			return nil, errors.New(bigErr)
		}
		seedEdgeQueries(b, s)
		return s, nil
	}
	// The schema is part of the name: a migration merged below the cached
	// site's version would never be applied to it.
	ms, err := migrations.Load(migrations.Edge)
	if err != nil {
		return nil, err
	}
	h := fnv.New32a()
	for _, m := range ms {
		h.Write([]byte(m.Name))
	}
	dir := filepath.Join(cache, fmt.Sprintf("edge-queries-1m-%08x", h.Sum32()))
	ready := filepath.Join(dir, "ready.json")
	if data, err := os.ReadFile(ready); err == nil {
		var creds edge.Credentials
		if err := json.Unmarshal(data, &creds); err != nil {
			return nil, fmt.Errorf("read %s: %w", ready, err)
		}
		s := openBenchSite(b, filepath.Join(dir, "site"), creds)
		for m := range 10 {
			s.machines = append(s.machines, fmt.Sprintf("VM_%04d", m))
		}
		for p := range 20 {
			s.products = append(s.products, fmt.Sprintf("P%03d", p))
		}
		return s, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "site"), 0o700); err != nil {
		return nil, err
	}
	s := newBenchSite(b, filepath.Join(dir, "site"), 10, 20)
	if err := fillSales(s, 1_000_000); err != nil {
		return nil, err
	}
	seedEdgeQueries(b, s)
	data, _ := json.Marshal(s.creds)
	return s, os.WriteFile(ready, data, 0o600)
}

// BenchmarkEdgeQueries asks every GET route of the edge API through the
// real HTTP listener against a site holding 1,000,000 sales, one route per
// sub-benchmark: p50/p99 latency and the answer's rows (the longest list in
// it). The site is built once per process, or once for good with
// VENDSYNC_BENCH_CACHE=dir. A route slower than 5 s in all stops after 20
// requests (its ns/op is then meaningless; its percentiles are not).
func BenchmarkEdgeQueries(b *testing.B) {
	queryOnce.Do(func() { querySite, queryErr = openQuerySite(b) })
	if queryErr != nil {
		b.Fatal(queryErr)
	}
	s := querySite
	for _, q := range edgeQueries(s) {
		b.Run(q.name, func(b *testing.B) {
			rows := -1
			lat := make([]time.Duration, 0, b.N)
			// The load generator reads every answer into one buffer: its
			// garbage would be collected with the site's, in this process.
			var body bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			begin := time.Now()
			for i := range b.N {
				if i >= 20 && time.Since(begin) > 5*time.Second {
					break // a slow route: its percentiles are clear already
				}
				req, _ := http.NewRequest(http.MethodGet, s.node.URL()+q.path, nil)
				req.Header.Set("Authorization", "Bearer "+s.token)
				start := time.Now()
				resp, err := s.client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body.Reset()
				_, err = body.ReadFrom(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s answered %d: %s", q.path, resp.StatusCode, body.Bytes())
				}
				if rows < 0 {
					rows = answerRows(body.Bytes())
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// answerRows is the length of the longest list at the top of a JSON answer
// (1 for an answer that is one object without a list, 0 for a text answer).
func answerRows(body []byte) int {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return 0
	}
	n := -1
	for _, v := range top {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil {
			n = max(n, len(list))
		}
	}
	if n < 0 {
		return 1
	}
	return n
}

// TestMain closes the site BenchmarkEdgeQueries shared, and removes it
// unless it is cached.
//
// Benchmarks run with the collector's floor that `vendsync edge run` starts
// (--gc-floor-mib 16), as the site does; VENDSYNC_BENCH_GCFLOOR=0 runs them
// without it (an A/B in one binary).
func TestMain(m *testing.M) {
	flag.Parse()
	if b := flag.Lookup("test.bench"); b != nil && b.Value.String() != "" && os.Getenv("VENDSYNC_BENCH_GCFLOOR") != "0" {
		gcfloor.Start(gcfloor.Config{Floor: 16 << 20}) // for the process's life; nil when GOGC or GOMEMLIMIT is set
	}
	code := m.Run()
	if querySite != nil {
		querySite.node.Close()
		if querySite.dir != "" {
			os.RemoveAll(querySite.dir)
		}
	}
	os.Exit(code)
}
