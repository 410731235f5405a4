// Package check validates the fields of what machines, drivers and central
// send to a site, each failure an errs.Invalid error naming the field. It is
// shared by the rule packages; it holds no rule of its own.
package check

import (
	"math"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/wire"
)

// MaxIDLen bounds identifiers (machine, product, transaction ids).
const MaxIDLen = 64

var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ID checks an identifier: 1 to 64 printable characters without spaces.
func ID(field, v string) error {
	if v == "" {
		return errs.Invalidf(field, "%s is required", field)
	}
	if len(v) > MaxIDLen {
		return errs.Invalidf(field, "%s is longer than %d characters", field, MaxIDLen)
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return errs.Invalidf(field, "%s must not contain spaces or control characters", field)
		}
	}
	return nil
}

// Timestamp parses an RFC 3339 event timestamp and checks it is not before
// 2000 nor more than skew ahead of now.
func Timestamp(field, v string, now time.Time, skew time.Duration) (time.Time, error) {
	if v == "" {
		return time.Time{}, errs.Invalidf(field, "%s is required (RFC 3339, e.g. 2025-01-10T10:15:30Z)", field)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errs.Invalidf(field, "%s %q is not an RFC 3339 time such as 2025-01-10T10:15:30Z", field, v)
	}
	if t.Before(earliest) {
		return time.Time{}, errs.Invalidf(field, "%s %s is before 2000", field, v)
	}
	if t.After(now.Add(skew)) {
		return time.Time{}, errs.Invalidf(field, "%s %s is in the future (more than %s ahead of the edge's clock)", field, v, skew)
	}
	return t, nil
}

// Count checks an optional count is between 0 and limit.
func Count(field string, v *int64, limit int64) error {
	if v != nil && (*v < 0 || *v > limit) {
		return errs.Invalidf(field, "%s %d: must be between 0 and %d", field, *v, limit)
	}
	return nil
}

// Date checks an optional date ("" for none) is YYYY-MM-DD.
func Date(field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return errs.Invalidf(field, "%s %q: must be a date YYYY-MM-DD", field, v)
	}
	return nil
}

// Price checks an optional price is between 0 and wire.MaxPriceCents.
func Price(p *wire.Money) error {
	if p != nil && (*p < 0 || *p > wire.MaxPriceCents) {
		return errs.Invalidf("price", "price %s: must be between 0 and 1000000", *p)
	}
	return nil
}

// Temperature checks an optional temperature limit (°C) is between lo and hi.
func Temperature(field string, v *float64, lo, hi float64) error {
	if v != nil && (math.IsNaN(*v) || *v < lo || *v > hi) {
		return errs.Invalidf(field, "%s %v: must be between %v and %v °C", field, *v, lo, hi)
	}
	return nil
}

// First returns the first non-nil error of es (a list of checks), or nil.
func First(es ...error) error {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}
