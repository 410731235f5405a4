package edge_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/migrations"
	"github.com/vendsync/vendsync/sync/wire"
)

// benchSite is a running edge with machines and products, and an admin token.
type benchSite struct {
	node     *edge.Node
	token    string
	client   *http.Client
	machines []string
	products []string
	dir      string // set when the site outlives one benchmark run
	creds    edge.Credentials
}

func newBenchSite(b *testing.B, dir string, machines, products int) *benchSite {
	b.Helper()
	ctx := context.Background()
	creds, err := edge.Init(ctx, dir, store.SiteInit{ID: "bench", City: "Bangalore", Timezone: "Asia/Kolkata"})
	if err != nil {
		b.Fatal(err)
	}
	s := openBenchSite(b, dir, creds)
	for m := range machines {
		id := fmt.Sprintf("VM_%04d", m)
		s.machines = append(s.machines, id)
		s.post(b, "/machines", map[string]any{"machineId": id, "location": map[string]any{"city": "Bangalore", "building": fmt.Sprintf("B%d", m%3)}}, nil)
		for p := range products {
			pid := fmt.Sprintf("P%03d", p)
			if m == 0 {
				s.products = append(s.products, pid)
			}
			s.post(b, "/machines/"+id+"/products", map[string]any{"productId": pid, "name": "Product " + pid, "price": 10 + p, "quantity": wire.MaxQuantity}, nil)
		}
	}
	return s
}

// openBenchSite starts the edge in dir (made by edge.Init) and takes an
// admin token with creds.
func openBenchSite(b *testing.B, dir string, creds edge.Credentials) *benchSite {
	b.Helper()
	ctx := context.Background()
	cfg := edge.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.SweepEvery = dir, "127.0.0.1:0", time.Hour
	cfg.RateLimits = web.NoRateLimits() // one token at thousands of writes/s
	if m := os.Getenv("VENDSYNC_BENCH_FSYNC"); m != "" {
		cfg.Ingest.Fsync = ingest.Fsync(m) // A/B of pipelined and inline in one binary
	}
	if m := os.Getenv("VENDSYNC_BENCH_MAXBATCH"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			b.Fatalf("VENDSYNC_BENCH_MAXBATCH=%q: %v", m, err)
		}
		cfg.Ingest.MaxBatch = n // A/B of the group commit's cap
	}
	n, err := edge.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Open(ctx); err != nil {
		b.Fatal(err)
	}
	s := &benchSite{node: n, creds: creds, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	s.post(b, "/auth/token", map[string]string{"client_id": creds.ClientID, "client_secret": creds.ClientSecret}, &tok)
	s.token = tok.AccessToken
	return s
}

func (s *benchSite) post(b *testing.B, path string, body, out any) int {
	buf, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.node.URL()+path, bytes.NewReader(buf))
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		b.Fatalf("POST %s: %d %s", path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			b.Fatal(err)
		}
	}
	return resp.StatusCode
}

var txSeq atomic.Int64

// sale posts one sale and returns its latency.
func (s *benchSite) sale(b *testing.B, i int) time.Duration {
	n := txSeq.Add(1)
	m, p := s.machines[i%len(s.machines)], s.products[(i/len(s.machines))%len(s.products)]
	price := 10 + (i/len(s.machines))%len(s.products)
	body := fmt.Sprintf(`{"transactionId":"tx-%d","machineId":%q,"productId":%q,"quantity":1,"amount":%d,"paymentMethod":"CARD","timestamp":%q}`,
		n, m, p, price, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, s.node.URL()+"/events/sales", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusCreated {
		b.Errorf("sale answered %d", resp.StatusCode)
	}
	return d
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

func reportLatency(b *testing.B, ds []time.Duration) {
	b.ReportMetric(float64(percentile(ds, 0.50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(percentile(ds, 0.99).Microseconds())/1000, "p99_ms")
}

// BenchmarkSaleHTTP measures durable sale ingest through the real HTTP
// listener: one client (latency) and 64 concurrent clients (throughput).
func BenchmarkSaleHTTP(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := newBenchSite(b, b.TempDir(), 10, 20)
			defer s.node.Close()
			lat := make([][]time.Duration, clients)
			var next atomic.Int64
			resetPeakRSS()
			disk0 := diskWriteBytes()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						lat[c] = append(lat[c], s.sale(b, i))
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "sales/s")
			reportLatency(b, slices.Concat(lat...))
			if disk := diskWriteBytes(); disk > 0 {
				// The WAL's frames and the checkpoints' copies into the
				// database, as the kernel counted them for storage.
				b.ReportMetric(float64(disk-disk0)/1024/float64(b.N), "disk_KB/sale")
			}
			if mb := peakRSSMB(); mb > 0 {
				// The load generator runs in the same process: an upper bound.
				b.ReportMetric(mb, "peak_rss_MB")
			}
		})
	}
}

// resetPeakRSS restarts the kernel's peak resident set count (VmHWM) of
// this process, so that set-up does not count (Linux only; else a no-op).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// diskWriteBytes is the bytes this process has caused to be written to
// storage (write_bytes of /proc/self/io), 0 where unknown.
func diskWriteBytes() int64 {
	v, _ := strconv.ParseInt(procField("/proc/self/io", "write_bytes:"), 10, 64)
	return v
}

// peakRSSMB is this process's VmHWM in MB, 0 where unknown.
func peakRSSMB() float64 {
	var kb float64
	fmt.Sscanf(procField("/proc/self/status", "VmHWM:"), "%f kB", &kb)
	return kb / 1024
}

// procField is the value of the line of file that starts with name,
// trimmed ("" where there is none).
func procField(file, name string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// BenchmarkRawInsert is the ceiling the ingest path is compared with: bare
// inserts of the same sale rows, 100 per transaction, synchronous=FULL, no
// HTTP, no stock, aggregates, alerts or outbox.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "raw.db"), migrations.Edge, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	st, err := db.W.Prepare(`INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents, payment_method, event_time, received_at, body_hash, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	hash := make([]byte, 32)
	b.ResetTimer()
	start := time.Now()
	var tx *sql.Tx
	for i := range b.N {
		if i%100 == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			if tx, err = db.W.Begin(); err != nil {
				b.Fatal(err)
			}
		}
		now := time.Now().UnixMilli()
		if _, err := tx.Stmt(st).Exec(fmt.Sprintf("tx-%d", i), "VM_0001", "P001", 1, 1000, "CARD", now, now, hash, i+1); err != nil {
			b.Fatal(err)
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

var (
	bigOnce sync.Once
	bigSite *benchSite
	bigErr  string
)

// BenchmarkAggregateQuery measures aggregate queries through HTTP against a
// site holding 1,000,000 sales spread over 90 days (10 machines × 20 products).
func BenchmarkAggregateQuery(b *testing.B) {
	bigOnce.Do(func() { bigSite = loadBigSite(b, 1_000_000) })
	if bigSite == nil {
		b.Fatal(bigErr)
	}
	b.Cleanup(func() {
		if bigSite != nil {
			bigSite.node.Close()
			os.RemoveAll(bigSite.dir)
		}
		bigSite, bigOnce = nil, sync.Once{}
	})
	s := bigSite
	now := time.Now().In(s.node.Store.Site.Loc)
	queries := []struct{ name, path string }{
		{"sales-by-machine-day-30d", fmt.Sprintf("/aggregations/sales?groupBy=machine&window=day&from=%s", now.AddDate(0, 0, -30).Format(time.DateOnly))},
		{"sales-by-product-hour-1d", fmt.Sprintf("/aggregations/sales?groupBy=product&window=hour&from=%s", now.AddDate(0, 0, -1).Format(time.DateOnly))},
		{"sales-by-location-month-90d", fmt.Sprintf("/aggregations/sales?groupBy=location&window=month&from=%s", now.AddDate(0, 0, -90).Format(time.DateOnly))},
		{"top-products-90d", fmt.Sprintf("/aggregations/products/top?n=10&from=%sT07:00:00", now.AddDate(0, 0, -90).Format(time.DateOnly))},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				req, _ := http.NewRequest(http.MethodGet, s.node.URL()+q.path, nil)
				req.Header.Set("Authorization", "Bearer "+s.token)
				start := time.Now()
				resp, err := s.client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s answered %d", q.path, resp.StatusCode)
				}
			}
			reportLatency(b, lat)
		})
	}
}

// loadBigSite fills a site with n sales through the writer's batch path (the
// same code as POST /events/batch, without HTTP, to keep set-up short).
func loadBigSite(b *testing.B, n int) *benchSite {
	dir, err := mkdirTemp()
	if err != nil {
		bigErr = err.Error()
		return nil
	}
	s := newBenchSite(b, dir, 10, 20)
	s.dir = dir
	if err := fillSales(s, n); err != nil {
		bigErr = err.Error()
		return nil
	}
	return s
}

// fillSales records n sales at s over the last 90 days, spread evenly over
// its machines and products.
func fillSales(s *benchSite, n int) error {
	ctx := context.Background()
	start := time.Now()
	const chunk = 5000
	base := time.Now().Add(-90 * 24 * time.Hour)
	for i := 0; i < n; i += chunk {
		ins := make([]sale.In, 0, chunk)
		for j := i; j < min(n, i+chunk); j++ {
			q := int64(1)
			p := j % 20
			amt := wire.Money((10 + p) * 100)
			ins = append(ins, sale.In{
				TransactionID: fmt.Sprintf("big-%d", j), MachineID: s.machines[(j/20)%10], ProductID: s.products[p],
				Quantity: &q, Amount: &amt, PaymentMethod: "CARD",
				Timestamp: base.Add(time.Duration(j) * (90 * 24 * time.Hour / time.Duration(n))).UTC().Format(time.RFC3339),
			})
		}
		res, err := s.node.Sales.RecordBatch(ctx, ins, "")
		if err != nil {
			return err
		}
		if res[0].Status != "ACCEPTED" {
			return fmt.Errorf("load: %+v", res[0])
		}
	}
	fmt.Fprintf(os.Stderr, "loaded %d sales in %s (%.0f/s)\n", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	return nil
}

// BenchmarkRecordSalesBatch measures the writer alone on the batch path
// (POST /events/batch without HTTP): 500 sales per call, as a machine
// uploading its offline buffer sends them.
func BenchmarkRecordSalesBatch(b *testing.B) {
	s := newBenchSite(b, b.TempDir(), 10, 20)
	defer s.node.Close()
	ctx := context.Background()
	const chunk = 500
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += chunk {
		ins := make([]sale.In, 0, chunk)
		for j := i; j < min(b.N, i+chunk); j++ {
			q := int64(1)
			p := j % 20
			amt := wire.Money((10 + p) * 100)
			ins = append(ins, sale.In{TransactionID: fmt.Sprintf("rb-%d", txSeq.Add(1)), MachineID: s.machines[(j/20)%10], ProductID: s.products[p],
				Quantity: &q, Amount: &amt, PaymentMethod: "CARD", Timestamp: time.Now().Add(-time.Duration(j) * time.Second).UTC().Format(time.RFC3339)})
		}
		if _, err := s.node.Sales.RecordBatch(ctx, ins, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sales/s")
}
