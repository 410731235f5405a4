package edge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/sync/wire"
)

// BenchmarkSaleLatency takes one client's sale apart: each step adds one
// stage to the one before, so the differences between the p50s say where a
// single sale's time goes.
//
//	empty   the writer's queue and an empty transaction (no fsync: nothing written)
//	one-row one audit row: the commit and its fsync
//	record  the sale's rules and SQL (sale.Rules.Record, no HTTP)
//	http    the whole request through the real listener (as SaleHTTP/clients=1)
func BenchmarkSaleLatency(b *testing.B) {
	s := newBenchSite(b, b.TempDir(), 10, 20)
	defer s.node.Close()
	ctx := context.Background()
	steps := []struct {
		name string
		run  func(i int) error
	}{
		{"empty", func(int) error { return s.node.Writer.Do(ctx, func(*ingest.Tx) error { return nil }) }},
		{"one-row", func(i int) error {
			return s.node.Writer.Do(ctx, func(t *ingest.Tx) error {
				return t.Audit("bench", fmt.Sprint(i), "NOTE", "bench", nil)
			})
		}},
		{"record", func(i int) error {
			q, amt := int64(1), wire.Money((10+(i/len(s.machines))%len(s.products))*100)
			_, err := s.node.Sales.Record(ctx, sale.In{TransactionID: fmt.Sprintf("lat-%d", txSeq.Add(1)),
				MachineID: s.machines[i%len(s.machines)], ProductID: s.products[(i/len(s.machines))%len(s.products)],
				Quantity: &q, Amount: &amt, PaymentMethod: "CARD", Timestamp: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, "", "")
			return err
		}},
		{"http", func(i int) error { s.sale(b, i); return nil }},
	}
	for _, st := range steps {
		b.Run(st.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := range b.N {
				start := time.Now()
				if err := st.run(i); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportLatency(b, lat)
		})
	}
}

// BenchmarkSaleCPU is the CPU time (user and system, of the whole process:
// the site, its NATS leaf and the client) that one client's sale costs,
// through HTTP and as a direct call of sale.Rules.Record: on a shared
// machine a steadier figure than wall time.
func BenchmarkSaleCPU(b *testing.B) {
	s := newBenchSite(b, b.TempDir(), 10, 20)
	defer s.node.Close()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	c0 := cpu()
	for i := range b.N {
		s.sale(b, i)
	}
	b.ReportMetric(per(cpu()-c0), "http_cpu_us/op")
	c0 = cpu()
	for i := range b.N {
		q, amt := int64(1), wire.Money((10+(i/len(s.machines))%len(s.products))*100)
		if _, err := s.node.Sales.Record(context.Background(), sale.In{TransactionID: fmt.Sprintf("cpu-%d", txSeq.Add(1)),
			MachineID: s.machines[i%len(s.machines)], ProductID: s.products[(i/len(s.machines))%len(s.products)],
			Quantity: &q, Amount: &amt, PaymentMethod: "CARD", Timestamp: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, "", ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(per(cpu()-c0), "record_cpu_us/op")
}

// BenchmarkDiskSync measures this disk's flush latency the way a WAL
// commit meets it: 8 KiB written, then fsync or fdatasync; "overwrite"
// rewrites the same region (a WAL restarted from its start, the file's
// size unchanged), "append" grows the file (a WAL growing).
func BenchmarkDiskSync(b *testing.B) {
	for _, c := range []struct {
		name   string
		append bool
		sync   func(fd int) error
	}{
		{"fsync/overwrite", false, syscall.Fsync},
		{"fdatasync/overwrite", false, syscall.Fdatasync},
		{"fsync/append", true, syscall.Fsync},
		{"fdatasync/append", true, syscall.Fdatasync},
	} {
		b.Run(c.name, func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "wal"), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 8<<10)
			if _, err := f.WriteAt(buf, 0); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				off := int64(0)
				if c.append {
					off = int64(i+1) * int64(len(buf))
				}
				start := time.Now()
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if err := c.sync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportLatency(b, lat)
		})
	}
}
