package edge_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/internal/web"
)

// BenchmarkEdgeOpen measures a cold start: edge.Node.Open on a closed site
// until GET /readyz first answers 200, then Close. "fresh" is a site with
// 10 machines of 20 products and no sales, "sales50k" the same with 50,000
// sales (start must not grow with the database). Reports open-ms (Open
// returning) and ready-ms (first 200 from /readyz), medians over b.N.
func BenchmarkEdgeOpen(b *testing.B) {
	for _, c := range []struct {
		name  string
		sales int
	}{{"fresh", 0}, {"sales50k", 50000}} {
		// Built before b.Run: fillSales's log line would split the
		// result line scripts/bench.sh keeps.
		dir := b.TempDir()
		s := newBenchSite(b, dir, 10, 20)
		if c.sales > 0 {
			if err := fillSales(s, c.sales); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.node.Close(); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			cl := &http.Client{Transport: &http.Transport{}}
			var opens, readies []time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				cfg := edge.DefaultConfig()
				cfg.Dir, cfg.HTTPAddr = dir, "127.0.0.1:0"
				cfg.RateLimits = web.NoRateLimits()
				start := time.Now()
				n, err := edge.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := n.Open(context.Background()); err != nil {
					b.Fatal(err)
				}
				opens = append(opens, time.Since(start))
				for {
					resp, err := cl.Get(n.URL() + "/readyz")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
					}
					if time.Since(start) > 10*time.Second {
						b.Fatalf("not ready after 10s: %v", err)
					}
				}
				readies = append(readies, time.Since(start))
				b.StopTimer()
				if err := n.Close(); err != nil {
					b.Fatal(err)
				}
				cl.CloseIdleConnections()
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(ms(percentile(opens, 0.5)), "open-ms")
			b.ReportMetric(ms(percentile(readies, 0.5)), "ready-ms")
			if os.Getenv("VENDSYNC_BENCH_VERBOSE") != "" {
				b.Logf("open p50 %s p90 %s; ready p50 %s p90 %s", percentile(opens, 0.5), percentile(opens, 0.9), percentile(readies, 0.5), percentile(readies, 0.9))
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
