package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// DemandConfig shapes a demand history (DemandHistory): slots whose true
// demand is known hour by hour, restocked on a schedule that leaves them
// empty at times, so what sold is less than what was wanted.
type DemandConfig struct {
	// Seed makes the history repeatable.
	Seed uint64
	// Slots is the number of machine slots; Days the length of the history.
	Slots, Days int
	// Start is the first day (its wall-clock date is what counts).
	Start time.Time
	// MinDaily and MaxDaily bound each slot's mean daily demand.
	MinDaily, MaxDaily float64
	// Seasonality shapes demand over the day and week.
	Seasonality Seasonality
	// FridayBoost multiplies Friday's demand from 12:00 (after-work
	// snacks): a peak that a slot emptied by the week's sales hides.
	FridayBoost float64
	// RestockEvery is the days between a driver's visits (at 08:00), which
	// fill the slot to its capacity.
	RestockEvery int
	// MissVisit is the chance that a visit is skipped: the slot then goes
	// unrestocked for another round.
	MissVisit float64
	// ShortCapacity is the share of slots whose capacity is below a round's
	// demand, so they run empty before every visit.
	ShortCapacity float64
	// TrendPerDay is the largest relative change of demand per day, drawn
	// per slot within ±TrendPerDay.
	TrendPerDay float64
}

// DefaultDemandConfig is a 20-week history of 40 slots with weekly visits,
// a third of them short of capacity and one visit in six missed.
func DefaultDemandConfig() DemandConfig {
	return DemandConfig{
		Seed: 11, Slots: 40, Days: 140,
		Start:    time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), // a Monday
		MinDaily: 6, MaxDaily: 30, Seasonality: DefaultSeasonality(), FridayBoost: 1.8,
		RestockEvery: 7, MissVisit: 1.0 / 6, ShortCapacity: 0.35, TrendPerDay: 0.003,
	}
}

// SlotDemand is one slot's history: per day and local hour, the true
// demand (units customers wanted), what sold (at most the stock), and the
// fraction of the hour the slot was empty.
type SlotDemand struct {
	Slot     int
	Capacity int
	// MeanDaily is the slot's mean daily demand at the start.
	MeanDaily float64
	Demand    [][24]int
	Sold      [][24]int
	Empty     [][24]float64
	// Restocked marks the days the slot was restocked (at 08:00).
	Restocked []bool
}

// DemandHistory generates cfg.Slots slot histories of cfg.Days days. Each
// hour's demand is a Poisson draw around the slot's rate (mean daily demand
// × the seasonality shape × its trend); customers arrive at uniform times
// within the hour and buy while stock lasts.
func DemandHistory(cfg DemandConfig) ([]SlotDemand, error) {
	if cfg.Slots <= 0 || cfg.Days <= 0 || cfg.RestockEvery <= 0 || cfg.MaxDaily < cfg.MinDaily || cfg.MinDaily <= 0 {
		return nil, fmt.Errorf("demand history: slots, days, restockEvery and daily demand must be positive")
	}
	if msg := cfg.Seasonality.validate(); msg != "" {
		return nil, fmt.Errorf("demand history: seasonality: %s", msg)
	}
	boost := max(cfg.FridayBoost, 1)
	// weight[d][h] is the share of an average day's demand: they sum to 7
	// over the week.
	var weight [7][24]float64
	var sum float64
	for d := range 7 {
		day := time.Date(2026, 1, 5+d, 0, 0, 0, 0, time.UTC) // Monday first
		for h := range 24 {
			f := cfg.Seasonality.Factor(day.Add(time.Duration(h) * time.Hour))
			if day.Weekday() == time.Friday && h >= 12 {
				f *= boost
			}
			weight[d][h] = f
			sum += f
		}
	}
	for d := range 7 {
		for h := range 24 {
			weight[d][h] *= 7 / sum
		}
	}
	startDow := (int(cfg.Start.Weekday()) + 6) % 7
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	out := make([]SlotDemand, cfg.Slots)
	for i := range out {
		mean := cfg.MinDaily + rng.Float64()*(cfg.MaxDaily-cfg.MinDaily)
		trend := (rng.Float64()*2 - 1) * cfg.TrendPerDay
		round := mean * float64(cfg.RestockEvery)
		capacity := int(math.Ceil(round * 1.4))
		if rng.Float64() < cfg.ShortCapacity {
			capacity = int(math.Ceil(round * 0.7))
		}
		s := SlotDemand{Slot: i, Capacity: capacity, MeanDaily: mean,
			Demand: make([][24]int, cfg.Days), Sold: make([][24]int, cfg.Days),
			Empty: make([][24]float64, cfg.Days), Restocked: make([]bool, cfg.Days)}
		stock := capacity
		offset := rng.IntN(cfg.RestockEvery) // slots are visited on different days
		for d := range cfg.Days {
			level := mean * math.Max(0.1, 1+trend*float64(d))
			dow := (startDow + d) % 7
			for h := range 24 {
				if h == 8 && d%cfg.RestockEvery == offset && rng.Float64() >= cfg.MissVisit {
					stock = capacity
					s.Restocked[d] = true
				}
				n := poisson(rng, level*weight[dow][h])
				s.Demand[d][h] = n
				sold := min(n, stock)
				s.Sold[d][h] = sold
				switch {
				case stock == 0:
					s.Empty[d][h] = 1
				case n >= stock:
					// The slot empties at the arrival of the last unit's buyer.
					at := make([]float64, n)
					for k := range at {
						at[k] = rng.Float64()
					}
					slices.Sort(at)
					s.Empty[d][h] = 1 - at[stock-1]
				}
				stock -= sold
			}
		}
		out[i] = s
	}
	return out, nil
}

// poisson draws from a Poisson distribution with mean lambda (Knuth's
// method; lambda here is a few units at most).
func poisson(rng *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
