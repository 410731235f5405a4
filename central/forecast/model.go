// Package forecast predicts demand per machine × product: expected sales per
// hour of the week and per day, and how many days the stock in the slot will
// last.
//
// The model is deliberately small and explainable, one State per slot:
//
//   - Level: expected units in an average hour, deseasonalised;
//   - Trend: change of Level per day, damped by Phi (Gardner's damped trend);
//   - Profile: 168 hour-of-week multipliers, mean 1 (Monday 00:00 is 0).
//
// Expected sales in hour h of the week, k days ahead, are
// (Level + Trend·(φ+φ²+…+φᵏ)) × Profile[h]. Each complete day updates the
// state once (Update): Level by exponential smoothing of the day's
// deseasonalised rate, Trend from the change of Level, and each hour's
// multiplier by exponential smoothing of observed/Level.
//
// Censored demand: an hour in which the slot was empty for all or part of
// the time shows what sold, not what would have sold. With Params.Censored
// such an hour counts at least what the model expected for it (observed
// sales below the current estimate are replaced by the estimate, the E step
// of EM for a right-censored count), and its hour-of-week multiplier is not
// updated at all. A slot empty every Friday afternoon therefore does not
// teach the model that nobody buys on Friday afternoon; a naive model
// (Censored false) learns exactly that.
//
// Everything here is pure: the Job (job.go) feeds it days reconstructed from
// central's read model; the backtest feeds it simulated days whose true
// demand is known.
package forecast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// HoursPerWeek is the number of hour-of-week multipliers.
const HoursPerWeek = 168

// Params tune the model. DefaultParams are what central runs.
type Params struct {
	// Alpha smooths Level per day (0..1); the first days use 1/(days+1)
	// instead when that is larger, so a new slot starts from its average.
	Alpha float64
	// Beta smooths Trend per day (0..1); Trend is learned from the 8th day on.
	Beta float64
	// Phi damps Trend per day ahead (0..1): a trend does not go on forever.
	Phi float64
	// Gamma smooths an hour-of-week multiplier per observation (0..1); the
	// first weeks use 1/(observations+2) when that is larger (the flat
	// start counts as one observation).
	Gamma float64
	// Censored makes the model censoring-aware (see the package doc).
	Censored bool
}

// DefaultParams are the parameters central's forecast job uses.
func DefaultParams() Params {
	return Params{Alpha: 0.1, Beta: 0.05, Phi: 0.9, Gamma: 0.1, Censored: true}
}

// State is one slot's model after the days folded into it.
type State struct {
	// Day is the last day folded in (days since 1970-01-01 in the site's
	// wall clock); meaningless while Days is 0.
	Day int64
	// Days counts the days folded in.
	Days int
	// Level is the expected units in an average hour of the week.
	Level float64
	// Trend is the change of Level per day.
	Trend float64
	// Profile is the hour-of-week multipliers (mean 1), Monday 00:00 first.
	Profile [HoursPerWeek]float64
	// Seen counts the observations behind each multiplier.
	Seen [HoursPerWeek]uint16
	// CensoredHours counts the hours treated as censored so far.
	CensoredHours int
}

// Day is one complete day of a slot: what sold in each local hour and the
// fraction of each hour (0..1) the slot was empty.
type Day struct {
	// Day is days since 1970-01-01 in the site's wall clock.
	Day   int64
	Sold  [24]float64
	Empty [24]float64
}

// HourOfWeek returns the hour-of-week index (Monday 00:00 is 0) of hour h
// of day (days since 1970-01-01, a Thursday).
func HourOfWeek(day int64, h int) int {
	dow := (day + 3) % 7 // Monday 0
	if dow < 0 {
		dow += 7
	}
	return int(dow)*24 + h
}

// NewState returns the state of a slot with no history: a flat profile.
func NewState() State {
	var s State
	for i := range s.Profile {
		s.Profile[i] = 1
	}
	return s
}

// Expected returns the expected sales in hour h of day, k ≥ 1 days after
// the last folded day (k = 1 is the next day).
func (s *State) Expected(day int64, h int, p Params) float64 {
	k := day - s.Day
	if s.Days == 0 || k < 1 {
		k = 1
	}
	return max(0, s.Level+s.Trend*dampSum(p.Phi, int(k))) * s.Profile[HourOfWeek(day, h)]
}

// ExpectedDay returns the expected sales over the whole of day.
func (s *State) ExpectedDay(day int64, p Params) float64 {
	var sum float64
	for h := range 24 {
		sum += s.Expected(day, h, p)
	}
	return sum
}

// PerDay returns the expected sales per day averaged over the next week.
func (s *State) PerDay(p Params) float64 {
	var sum float64
	for k := int64(1); k <= 7; k++ {
		sum += s.ExpectedDay(s.Day+k, p)
	}
	return sum / 7
}

// dampSum is φ + φ² + … + φᵏ.
func dampSum(phi float64, k int) float64 {
	var sum, f float64 = 0, 1
	for range k {
		f *= phi
		sum += f
	}
	return sum
}

// Censored reports whether an hour with this empty fraction is censored:
// the slot was empty for any part of it.
func Censored(empty float64) bool { return empty > 0 }

// Update folds one complete day into s. Days must come in order; a day at
// or before s.Day is ignored.
func (p Params) Update(s *State, d Day) {
	if s.Days > 0 && d.Day <= s.Day {
		return
	}
	var obs [24]float64
	var profSum, total float64
	for h := range 24 {
		y := d.Sold[h]
		if p.Censored && Censored(d.Empty[h]) {
			s.CensoredHours++
			if s.Days > 0 {
				y = max(y, s.Expected(d.Day, h, p))
			}
		}
		obs[h] = y
		total += y
		profSum += s.Profile[HourOfWeek(d.Day, h)]
	}
	rate := total / max(profSum, minProfile*24) // units per average hour, deseasonalised

	gain := max(p.Alpha, 1/float64(s.Days+1))
	prev := s.Level
	damped := s.Trend * p.Phi
	if s.Days == 0 {
		s.Level, damped = rate, 0
	} else {
		s.Level = gain*rate + (1-gain)*(s.Level+damped)
	}
	if s.Days >= 7 {
		s.Trend = p.Beta*(s.Level-prev) + (1-p.Beta)*damped
	}

	if s.Level > 0 {
		for h := range 24 {
			if p.Censored && Censored(d.Empty[h]) {
				continue // what sold in an empty hour says nothing of its shape
			}
			i := HourOfWeek(d.Day, h)
			// The flat start counts as one observation, so one quiet hour
			// does not zero a multiplier.
			g := max(p.Gamma, 1/float64(int(s.Seen[i])+2))
			s.Profile[i] = max(minProfile, g*(obs[h]/s.Level)+(1-g)*s.Profile[i])
			if s.Seen[i] < math.MaxUint16 {
				s.Seen[i]++
			}
		}
		normalize(&s.Profile)
	}
	s.Day = d.Day
	s.Days++
}

// normalize scales the profile to mean 1 (a flat profile if it is all 0).
func normalize(pr *[HoursPerWeek]float64) {
	var sum float64
	for _, v := range pr {
		sum += v
	}
	if sum <= 0 {
		for i := range pr {
			pr[i] = 1
		}
		return
	}
	f := HoursPerWeek / sum
	for i := range pr {
		pr[i] *= f
	}
}

// minProfile is the smallest multiplier: an hour that never sells keeps a
// trace of demand, and a day's multipliers never sum to 0.
const minProfile = 1e-3

const stateVersion = 1

// stateSize is the length of a marshalled State.
const stateSize = 1 + 8 + 4 + 8 + 8 + 4 + HoursPerWeek*4 + HoursPerWeek*2

// ErrBadState is returned by UnmarshalBinary for bytes that are not a State.
var ErrBadState = errors.New("forecast: bad state encoding")

// MarshalBinary encodes s compactly (multipliers as float32): about 1 KiB.
func (s *State) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, stateSize)
	b = append(b, stateVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.Day))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Days))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Level))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Trend))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.CensoredHours))
	for _, v := range s.Profile {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
	}
	for _, v := range s.Seen {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded; it returns an error
// wrapping ErrBadState for anything else.
func (s *State) UnmarshalBinary(b []byte) error {
	if len(b) != stateSize || b[0] != stateVersion {
		return fmt.Errorf("%w: %d bytes", ErrBadState, len(b))
	}
	b = b[1:]
	s.Day = int64(binary.LittleEndian.Uint64(b))
	s.Days = int(binary.LittleEndian.Uint32(b[8:]))
	s.Level = math.Float64frombits(binary.LittleEndian.Uint64(b[12:]))
	s.Trend = math.Float64frombits(binary.LittleEndian.Uint64(b[20:]))
	s.CensoredHours = int(binary.LittleEndian.Uint32(b[28:]))
	b = b[32:]
	for i := range s.Profile {
		s.Profile[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:])))
	}
	b = b[HoursPerWeek*4:]
	for i := range s.Seen {
		s.Seen[i] = binary.LittleEndian.Uint16(b[i*2:])
	}
	return nil
}
