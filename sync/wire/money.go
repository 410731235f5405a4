// Package wire holds the values edge, central and their clients agree on:
// money, alert types and the limits on prices and quantities.
package wire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Money is an amount in minor units (cents). It reads and writes JSON as a
// decimal number of currency units with at most two decimals: 50, 1.25.
type Money int64

// MarshalJSON writes m as a decimal number, e.g. 1.25.
func (m Money) MarshalJSON() ([]byte, error) {
	return m.AppendJSON(make([]byte, 0, 24)), nil
}

// AppendJSON appends m as MarshalJSON writes it (units with two decimals).
func (m Money) AppendJSON(b []byte) []byte {
	v := uint64(m)
	if m < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendUint(b, v/100, 10)
	c := v % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

// String formats m as units with two decimals.
func (m Money) String() string { return string(m.AppendJSON(make([]byte, 0, 24))) }

// Float is m in currency units.
func (m Money) Float() float64 { return float64(m) / 100 }

// MaxMoneyDigits is how many digits an amount in cents may have: amounts
// run up to 9,999,999,999,999.99 (13 digits of units, 2 of cents), whatever
// the notation (10000000000000, 1e13 and 1.0e13 are all refused).
const MaxMoneyDigits = 15

// ErrMoney is returned for a JSON value that is not a money amount.
type ErrMoney struct{ Value string }

func (e *ErrMoney) Error() string {
	return fmt.Sprintf("%s is not an amount: use a number with at most two decimals", e.Value)
}

// UnmarshalJSON reads a JSON number with at most two decimals. Its errors
// are *json.UnmarshalTypeError, so the decoder names the field that held the
// bad amount.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return &json.UnmarshalTypeError{Value: echo(string(b)) + " (an amount is a number with at most two decimals)", Type: reflect.TypeFor[Money]()}
	}
	*m = v
	return nil
}

// ParseMoney parses a JSON number whose value is a whole number of cents:
// "50", "1.5", "1.25", "1.250", "125e-2", "1e2". The value decides, not the
// notation, so every spelling of one amount is accepted or refused alike.
// It returns *ErrMoney for anything else, a string or an amount of more than
// MaxMoneyDigits digits in cents.
func ParseMoney(s string) (Money, error) {
	bad := func() (Money, error) { return 0, &ErrMoney{Value: echo(s)} }
	i := 0
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	// integer part: 0 or [1-9][0-9]*
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return bad()
	}
	var fracPart string
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if fracPart = s[fs:i]; fracPart == "" {
			return bad()
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if exp < 1e6 { // beyond this the amount is zero or out of range anyway
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if es == i {
			return bad()
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return bad()
	}
	// value = digits × 10^(exp - len(fracPart)); strip zeros on both ends.
	digits := strings.TrimLeft(intPart+fracPart, "0")
	exp -= len(fracPart)
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if digits == "" {
		return 0, nil
	}
	cexp := exp + 2 // power of ten in cents
	if cexp < 0 || len(digits)+cexp > MaxMoneyDigits {
		return bad()
	}
	var v int64
	for _, c := range digits {
		v = v*10 + int64(c-'0')
	}
	for range cexp {
		v *= 10
	}
	if neg {
		v = -v
	}
	return Money(v), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// echo is at most a short prefix of a bad value, for error messages.
func echo(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
