package forecast_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/envelope"
)

// BenchmarkDailyRun measures the forecast job's daily work at fleet size:
// folding one day of events (a count per slot and about three sales per
// slot) into hourly observations and each slot's model. "first day" is the
// run that creates every slot's model; "next day" the steady state, where
// every model is read, updated and written back. Each iteration is one
// run over the whole fleet (use -benchtime=1x at the large size).
//
//	go test -run '^$' -bench DailyRun -benchtime=1x ./central/forecast/
func BenchmarkDailyRun(b *testing.B) {
	for _, size := range []struct{ sites, machines, products int }{
		{10, 50, 20},   // 500 machines, 10,000 slots
		{100, 100, 20}, // 10,000 machines, 200,000 slots
	} {
		b.Run(fmt.Sprintf("machines=%d/products=%d", size.sites*size.machines, size.products), func(b *testing.B) {
			benchDaily(b, size.sites, size.machines, size.products)
		})
	}
}

func benchDaily(b *testing.B, sites, machines, products int) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	s := openStore(b, start)
	rng := rand.New(rand.NewPCG(1, 2))
	seq := make([]uint64, sites)
	slots := sites * machines * products
	// day d's events of every site: a count at 00:30 on day 0, then about
	// three sales per slot at random hours, then a telemetry summary at the
	// start of day d+1 that says the day is complete.
	day := func(d int) int {
		events := 0
		for si := range sites {
			site := fmt.Sprintf("s%03d", si)
			var fs []fact
			for m := range machines {
				mid := fmt.Sprintf("M%03d", m)
				for p := range products {
					pid := fmt.Sprintf("P%02d", p)
					left := int64(20)
					if d == 0 {
						fs = append(fs, fact{envelope.KindInventory, start.Add(30 * time.Minute), envelope.Inventory{MachineID: mid, ProductID: pid, Quantity: left, Action: "ADDED"}})
					}
					for k := range rng.IntN(7) {
						left--
						at := start.Add(time.Duration(d)*24*time.Hour + time.Duration(1+rng.IntN(22))*time.Hour + time.Duration(k)*time.Minute)
						fs = append(fs, fact{envelope.KindSale, at, envelope.Sale{TransactionID: fmt.Sprintf("%d-%s-%s-%d", d, mid, pid, k), MachineID: mid, ProductID: pid,
							Quantity: 1, AmountCents: 100, PaymentMethod: "CARD", City: "Pune", Location: "L", StockAfter: &left}})
					}
				}
			}
			fs = append(fs, fact{envelope.KindTelemetry, start.Add(time.Duration(d+1)*24*time.Hour + time.Minute), envelope.Telemetry{MachineID: "M000"}})
			for i := 0; i < len(fs); i += 500 {
				chunk := fs[i:min(i+500, len(fs))]
				apply(b, s, site, "UTC", seq[si]+1, chunk...)
				seq[si] += uint64(len(chunk))
			}
			events += len(fs)
		}
		return events
	}
	job := forecast.NewJob(forecast.JobConfig{Store: s})
	for _, name := range []string{"first day", "next day"} {
		d := 0
		if name == "next day" {
			d = 1
		}
		events := day(d)
		b.Run(name, func(b *testing.B) {
			var cpu time.Duration
			for i := range b.N {
				if i > 0 { // a run with nothing new is cheap; measure a fresh day each time
					b.StopTimer()
					d++
					events = day(d)
					b.StartTimer()
				}
				c0 := testkit.CPUTime()
				st, err := job.Run(ctx)
				if err != nil {
					b.Fatal(err)
				}
				cpu += testkit.CPUTime() - c0
				if st.Slots != slots {
					b.Fatalf("run updated %d slots, want %d", st.Slots, slots)
				}
			}
			b.ReportMetric(float64(slots), "slots")
			b.ReportMetric(float64(events), "events")
			b.ReportMetric(float64(slots)*float64(b.N)/b.Elapsed().Seconds(), "slots/s")
			if cpu > 0 {
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/run")
			}
		})
	}
	var n int
	fs, err := s.Forecasts(ctx, readmodel.ForecastFilter{})
	if err != nil {
		b.Fatal(err)
	}
	n = len(fs)
	if n != slots {
		b.Fatalf("forecasts = %d, want %d", n, slots)
	}
}
