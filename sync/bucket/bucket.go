// Package bucket computes the time buckets that sales are aggregated into.
// Edge and central both use it, so a site's own aggregates and central's
// aggregates for that site fall into identical buckets.
//
// A bucket is identified by its start as wall-clock time in the site's
// timezone, encoded as unix seconds as if that wall clock were UTC ("naive
// local"). A day bucket for Bangalore and one for Berlin with the same date
// therefore share a key: business days, not instants, which is what HQ means
// by "revenue per day per city". Weeks start on Monday (ISO 8601).
package bucket

import (
	"fmt"
	"time"
)

// Window is an aggregation window.
type Window string

// The supported windows.
const (
	Hour  Window = "hour"
	Day   Window = "day"
	Week  Window = "week"
	Month Window = "month"
)

// All lists every window, finest first.
var All = []Window{Hour, Day, Week, Month}

// ParseWindow accepts hour, day, week or month.
func ParseWindow(s string) (Window, error) {
	switch w := Window(s); w {
	case Hour, Day, Week, Month:
		return w, nil
	}
	return "", fmt.Errorf("window %q: must be one of hour, day, week, month", s)
}

// Naive returns t's wall clock in loc as a UTC time (the naive-local form).
func Naive(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// Start returns the start of w's bucket that contains the naive-local time n.
func Start(w Window, n time.Time) time.Time {
	n = n.UTC()
	switch w {
	case Hour:
		return n.Truncate(time.Hour)
	case Day:
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	case Week:
		d := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
		off := (int(d.Weekday()) + 6) % 7 // Monday = 0
		return d.AddDate(0, 0, -off)
	case Month:
		return time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	panic("bucket: unknown window " + string(w))
}

// Next returns the start of the bucket after the one starting at s.
func Next(w Window, s time.Time) time.Time {
	switch w {
	case Hour:
		return s.Add(time.Hour)
	case Day:
		return s.AddDate(0, 0, 1)
	case Week:
		return s.AddDate(0, 0, 7)
	case Month:
		return s.AddDate(0, 1, 0)
	}
	panic("bucket: unknown window " + string(w))
}

// Key returns the bucket key (naive-local unix seconds of its start) of the
// instant t for a site in loc.
func Key(w Window, t time.Time, loc *time.Location) int64 {
	return Start(w, Naive(t, loc)).Unix()
}

// Keys returns t's bucket key for every window, in the order of All.
func Keys(t time.Time, loc *time.Location) [4]int64 {
	n := Naive(t, loc)
	return [4]int64{Start(Hour, n).Unix(), Start(Day, n).Unix(), Start(Week, n).Unix(), Start(Month, n).Unix()}
}

// Label formats a bucket key as local wall-clock time, "2006-01-02T15:04:05".
func Label(key int64) string { return time.Unix(key, 0).UTC().Format("2006-01-02T15:04:05") }

// Span is a run of whole buckets of one window, [From, To) in bucket keys.
type Span struct {
	Window   Window
	From, To int64
}

// Cover splits the naive-local range [from, to) into the fewest whole hour,
// day and month buckets, so a total over any range reads few rows: hours up
// to the first midnight, days up to the first of a month, whole months, then
// days and hours at the end. from and to are truncated to the hour.
func Cover(from, to time.Time) []Span {
	from, to = Start(Hour, from), Start(Hour, to)
	if !from.Before(to) {
		return nil
	}
	var out []Span
	add := func(w Window, a, b time.Time) {
		if a.Before(b) {
			out = append(out, Span{w, a.Unix(), b.Unix()})
		}
	}
	ceil := func(w Window, t time.Time) time.Time {
		s := Start(w, t)
		if s.Equal(t) {
			return s
		}
		return Next(w, s)
	}
	dayA, dayB := ceil(Day, from), Start(Day, to)
	if !dayA.Before(dayB) { // no whole day inside
		add(Hour, from, to)
		return out
	}
	add(Hour, from, dayA)
	monA, monB := ceil(Month, dayA), Start(Month, dayB)
	if monA.Before(monB) {
		add(Day, dayA, monA)
		add(Month, monA, monB)
		add(Day, monB, dayB)
	} else {
		add(Day, dayA, dayB)
	}
	add(Hour, dayB, to)
	return out
}
