package forecast

import "math"

// History is one slot's days as the model sees them (what sold, how long
// the slot was empty) with, for a backtest, the true demand of each hour.
type History struct {
	Days  []Day
	Truth [][24]float64
}

// Score is a backtest's error of one model: WAPE (Σ|forecast − truth| /
// Σ truth) of one-day-ahead and seven-days-ahead day totals, overall, on
// days within a week after a stockout, and on Friday afternoons (12:00 to
// 24:00) alone; Bias is Σ(forecast − truth)/Σ truth of the one-day-ahead
// totals (negative: the model under-forecasts).
type Score struct {
	WAPE, WAPEAfterStockout, WAPEWeek, WAPEFridayPM, Bias float64
	// Days and DaysAfterStockout count the days scored.
	Days, DaysAfterStockout int
}

// Backtest runs p over every history day by day, forecasting each day from
// the state of the day before, and scores the forecasts from day warmup on.
func Backtest(hs []History, p Params, warmup int) Score {
	var all, after, week, fri, bias acc
	var sc Score
	for _, h := range hs {
		st := NewState()
		for i, d := range h.Days {
			if i >= warmup && st.Days > 0 {
				truth, f := 0.0, st.ExpectedDay(d.Day, p)
				for hr := range 24 {
					truth += h.Truth[i][hr]
				}
				all.add(f, truth)
				bias.sum += f - truth
				bias.truth += truth
				sc.Days++
				if stockoutWithin(h.Days, i, 7) {
					after.add(f, truth)
					sc.DaysAfterStockout++
				}
				if i+7 <= len(h.Days) {
					var f7, t7 float64
					for k := range 7 {
						f7 += st.ExpectedDay(d.Day+int64(k), p)
						for hr := range 24 {
							t7 += h.Truth[i+k][hr]
						}
					}
					week.add(f7, t7)
				}
				if HourOfWeek(d.Day, 0) == 4*24 { // Friday
					var fp, tp float64
					for hr := 12; hr < 24; hr++ {
						fp += st.Expected(d.Day, hr, p)
						tp += h.Truth[i][hr]
					}
					fri.add(fp, tp)
				}
			}
			p.Update(&st, d)
		}
	}
	sc.WAPE, sc.WAPEAfterStockout, sc.WAPEWeek, sc.WAPEFridayPM = all.wape(), after.wape(), week.wape(), fri.wape()
	sc.Bias = bias.sum / bias.truth
	return sc
}

// stockoutWithin reports whether any of the n days before day i had an
// hour with the slot empty.
func stockoutWithin(days []Day, i, n int) bool {
	for j := max(0, i-n); j < i; j++ {
		for _, e := range days[j].Empty {
			if Censored(e) {
				return true
			}
		}
	}
	return false
}

type acc struct{ sum, truth float64 }

func (a *acc) add(f, truth float64) {
	a.sum += math.Abs(f - truth)
	a.truth += truth
}

func (a acc) wape() float64 {
	if a.truth == 0 {
		return 0
	}
	return a.sum / a.truth
}
