package web

import (
	"net/http"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// ParseRangeTime reads a from/to query value as naive local time: a date
// (2025-01-10), a local date-time (2025-01-10T10:00:00), or an RFC 3339
// instant converted to the wall clock of loc.
func ParseRangeTime(field, v string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return bucket.Naive(t, loc), nil
	}
	return time.Time{}, Invalid(field, "%s %q: use a date (2025-01-10), a local time (2025-01-10T10:00:00) or RFC 3339", field, v)
}

// Range reads the from/to query parameters (naive local, RFC 3339 ones read
// in loc). Without them the range is the 30 days up to defaultTo. It refuses
// an empty or reversed range and one longer than 10 years.
func Range(r *http.Request, defaultTo time.Time, loc *time.Location) (from, to time.Time, err error) {
	q := r.URL.Query()
	to = defaultTo
	if v := q.Get("to"); v != "" {
		if to, err = ParseRangeTime("to", v, loc); err != nil {
			return
		}
	}
	from = to.AddDate(0, 0, -30)
	if v := q.Get("from"); v != "" {
		if from, err = ParseRangeTime("from", v, loc); err != nil {
			return
		}
	}
	if !from.Before(to) {
		err = Invalid("from", "from %s must be before to %s", from.Format(time.DateTime), to.Format(time.DateTime))
	} else if to.Sub(from) > 10*366*24*time.Hour {
		err = Invalid("from", "range is longer than 10 years")
	}
	return
}

// EndOfHour is the naive-local end of the hour now falls in, in loc: the
// default end of a query range.
func EndOfHour(now time.Time, loc *time.Location) time.Time {
	return bucket.Next(bucket.Hour, bucket.Start(bucket.Hour, bucket.Naive(now, loc)))
}
