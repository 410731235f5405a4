// Package wire holds the values edge, central and their clients agree on:
// money, alert types and the limits on prices and quantities.
package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Money is an amount in minor units (cents). It reads and writes JSON as a
// decimal number of currency units with at most two decimals: 50, 1.25.
type Money int64

// MarshalJSON writes m as a decimal number, e.g. 1.25.
func (m Money) MarshalJSON() ([]byte, error) {
	return []byte(m.String()), nil
}

// String formats m as units with two decimals.
func (m Money) String() string {
	neg := m < 0
	v := int64(m)
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%d.%02d", v/100, v%100)
	if neg {
		s = "-" + s
	}
	return s
}

// Float is m in currency units.
func (m Money) Float() float64 { return float64(m) / 100 }

// ErrMoney is returned for a JSON value that is not a money amount.
type ErrMoney struct{ Value string }

func (e *ErrMoney) Error() string {
	return fmt.Sprintf("%s is not an amount: use a number with at most two decimals", e.Value)
}

// UnmarshalJSON reads a JSON number with at most two decimals. Its errors
// are *json.UnmarshalTypeError, so the decoder names the field that held the
// bad amount.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := string(b)
	bad := func() error {
		return &json.UnmarshalTypeError{Value: s + " (an amount is a number with at most two decimals)", Type: reflect.TypeFor[Money]()}
	}
	if s == "null" || strings.HasPrefix(s, `"`) {
		return bad()
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return bad()
	}
	v, err := ParseMoney(n.String())
	if err != nil {
		return bad()
	}
	*m = v
	return nil
}

// ParseMoney parses "50", "1.5" or "1.25" (no exponent, at most 2 decimals).
func ParseMoney(s string) (Money, error) {
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Abs(f*100-math.Round(f*100)) > 1e-6 || math.Abs(f) > 1e13 {
			return 0, &ErrMoney{Value: s}
		}
		return Money(math.Round(f * 100)), nil
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" || len(whole) > 13 {
		return 0, &ErrMoney{Value: s}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, &ErrMoney{Value: s}
	}
	v := Money(w*100 + f)
	if neg {
		v = -v
	}
	return v, nil
}
