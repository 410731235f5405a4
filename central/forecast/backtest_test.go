package forecast_test

import (
	"fmt"
	"testing"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/edge/simulate"
)

// histories turns the simulator's slots (true demand known) into what the
// model sees plus the truth.
func histories(t testing.TB, cfg simulate.DemandConfig) []forecast.History {
	t.Helper()
	slots, err := simulate.DemandHistory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := cfg.Start.Unix() / 86400
	out := make([]forecast.History, len(slots))
	for i, s := range slots {
		h := forecast.History{Days: make([]forecast.Day, len(s.Sold)), Truth: make([][24]float64, len(s.Sold))}
		for d := range s.Sold {
			h.Days[d].Day = first + int64(d)
			for hr := range 24 {
				h.Days[d].Sold[hr] = float64(s.Sold[d][hr])
				h.Days[d].Empty[hr] = s.Empty[d][hr]
				h.Truth[d][hr] = float64(s.Demand[d][hr])
			}
		}
		out[i] = h
	}
	return out
}

// TestBacktest_CensoringAwareBeatsNaive is the demand forecast backtest of
// BENCHMARKS.md: on simulated slots that run empty before their visits (and
// now and then miss one), the censoring-aware model's error is clearly
// lower than the naive model's, overall and on the days after a stockout,
// and the naive one under-forecasts.
func TestBacktest_CensoringAwareBeatsNaive(t *testing.T) {
	hs := histories(t, simulate.DefaultDemandConfig())
	aware := forecast.DefaultParams()
	naive := aware
	naive.Censored = false
	const warmup = 28
	a := forecast.Backtest(hs, aware, warmup)
	n := forecast.Backtest(hs, naive, warmup)
	// The floor: the same model fed the true demand (no slot ever empty),
	// scored against it: what is left is the noise of the demand itself.
	truth := histories(t, simulate.DefaultDemandConfig())
	for _, h := range truth {
		for i := range h.Days {
			h.Days[i].Sold, h.Days[i].Empty = h.Truth[i], [24]float64{}
		}
	}
	floor := forecast.Backtest(truth, aware, warmup)
	t.Logf("| model | WAPE 1 day ahead, all days | WAPE 1 day ahead, days within a week after a stockout | WAPE 7 days ahead | WAPE Friday 12–24 h | bias |")
	t.Logf("| --- | --- | --- | --- | --- | --- |")
	for _, r := range []struct {
		name string
		s    forecast.Score
	}{{"naive (sales as demand)", n}, {"censoring-aware", a}, {"floor: fed the true demand", floor}} {
		after := pct(r.s.WAPEAfterStockout)
		if r.s.DaysAfterStockout == 0 {
			after = "— (never empty)"
		}
		t.Logf("| %s | %s | %s | %s | %s | %+.1f %% |", r.name, pct(r.s.WAPE), after, pct(r.s.WAPEWeek), pct(r.s.WAPEFridayPM), 100*r.s.Bias)
	}
	t.Logf("days scored: %d (%d after a stockout)", a.Days, a.DaysAfterStockout)
	if a.DaysAfterStockout < a.Days/4 {
		t.Fatalf("only %d of %d days follow a stockout: the history does not exercise censoring", a.DaysAfterStockout, a.Days)
	}
	checks := []struct {
		name         string
		aware, naive float64
	}{
		{"WAPE", a.WAPE, n.WAPE},
		{"WAPE after stockout", a.WAPEAfterStockout, n.WAPEAfterStockout},
		{"WAPE 7 days", a.WAPEWeek, n.WAPEWeek},
		{"WAPE Friday afternoon", a.WAPEFridayPM, n.WAPEFridayPM},
	}
	for _, c := range checks {
		// "Clearly better": at least a fifth less error.
		if c.aware > 0.8*c.naive {
			t.Errorf("%s: censoring-aware %.3f, naive %.3f: want aware ≤ 80 %% of naive", c.name, c.aware, c.naive)
		}
	}
	if n.Bias > -0.1 {
		t.Errorf("naive bias %+.3f: want clearly negative (sales under-count demand)", n.Bias)
	}
	if a.Bias < -0.1 || a.Bias > 0.1 {
		t.Errorf("censoring-aware bias %+.3f: want within ±10 %%", a.Bias)
	}
}

// TestBacktest_NoStockoutsSameAnswer: without stockouts there is nothing
// to censor, so both models forecast exactly alike.
func TestBacktest_NoStockoutsSameAnswer(t *testing.T) {
	cfg := simulate.DefaultDemandConfig()
	cfg.Slots, cfg.Days = 10, 70
	hs := histories(t, cfg)
	for _, h := range hs { // every customer served: sales are demand
		for i := range h.Days {
			h.Days[i].Sold, h.Days[i].Empty = h.Truth[i], [24]float64{}
		}
	}
	aware := forecast.DefaultParams()
	naive := aware
	naive.Censored = false
	a, n := forecast.Backtest(hs, aware, 28), forecast.Backtest(hs, naive, 28)
	if a.DaysAfterStockout != 0 {
		t.Fatalf("%d days after a stockout, want 0", a.DaysAfterStockout)
	}
	if a != n {
		t.Fatalf("aware %+v, naive %+v: want equal without stockouts", a, n)
	}
	if a.WAPE <= 0 || a.WAPE > 0.35 {
		t.Fatalf("WAPE %.3f: want a forecast that tracks demand (0 < WAPE ≤ 35 %%)", a.WAPE)
	}
}

func pct(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) }
