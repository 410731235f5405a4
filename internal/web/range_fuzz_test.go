package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// FuzzRange feeds arbitrary from/to values to Range: it never panics, it
// refuses with a 400 naming from or to, and a range it accepts is naive
// local time (UTC location), non-empty, ordered and at most 10 years long.
func FuzzRange(f *testing.F) {
	for _, p := range [][2]string{
		{"2025-01-10", "2025-01-11"}, {"2025-01-10T10:00:00", "2025-01-10T11:00"}, {"2025-01-10T10:00:00+05:30", ""},
		{"", "2025-03-01"}, {"2025-01-11", "2025-01-10"}, {"0000-01-01", "9999-12-31"}, {"2025-02-30", ""}, {"x", "y"},
		{"2025-01-10T24:00:00Z", ""}, {"2025-01-10T10:00:00.123456789-23:59", "2025-01-10T10:00:00.1Z"},
	} {
		f.Add(p[0], p[1])
	}
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		f.Fatal(err)
	}
	def := time.Date(2025, 1, 10, 13, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to string) {
		q := url.Values{}
		if from != "" {
			q.Set("from", from)
		}
		if to != "" {
			q.Set("to", to)
		}
		r := httptest.NewRequest(http.MethodGet, "/?"+q.Encode(), nil)
		gf, gt, err := Range(r, def, loc)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || (e.Field != "from" && e.Field != "to") {
				t.Fatalf("Range(%q, %q) = %v, want a 400 naming from or to", from, to, err)
			}
			return
		}
		if gf.Location() != time.UTC || gt.Location() != time.UTC {
			t.Fatalf("Range(%q, %q) is not naive: %v, %v", from, to, gf, gt)
		}
		if !gf.Before(gt) || gt.Sub(gf) > 10*366*24*time.Hour {
			t.Fatalf("Range(%q, %q) accepted %v..%v", from, to, gf, gt)
		}
		for _, v := range []string{from, to} {
			if v == "" {
				continue
			}
			if _, err := ParseRangeTime("from", v, loc); err != nil {
				t.Fatalf("Range accepted %q that ParseRangeTime refuses: %v", v, err)
			}
		}
	})
}
