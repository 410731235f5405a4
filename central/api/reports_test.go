package api_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
)

type reportFigures struct {
	Transactions, Quantity int64
	Revenue                float64
	TopProducts            []struct {
		ProductID string
		Revenue   float64
	}
	OpenFaults, OpenAlerts int
}

type report struct {
	Period, From, To string
	Cities           []struct {
		City string
		reportFigures
		Sites []struct {
			SiteID string
			reportFigures
		}
	}
	Totals    reportFigures
	Freshness []freshness
}

// summary renders a report as "city tx/qty/revenue f<faults> a<alerts> [site …]".
func (r report) summary() string {
	var out []string
	for _, c := range r.Cities {
		var sites []string
		for _, s := range c.Sites {
			sites = append(sites, fmt.Sprintf("%s %d/%s f%d a%d", s.SiteID, s.Transactions, money(s.Revenue), s.OpenFaults, s.OpenAlerts))
		}
		out = append(out, fmt.Sprintf("%s %d/%d/%s f%d a%d [%s]", c.City, c.Transactions, c.Quantity, money(c.Revenue), c.OpenFaults, c.OpenAlerts, strings.Join(sites, ", ")))
	}
	return strings.Join(out, "; ")
}

func tops(f reportFigures) string {
	var ids []string
	for _, p := range f.TopProducts {
		ids = append(ids, p.ProductID)
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

func TestReports_DailyAndMonthlyPerCityAndSite(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleFinance)
	tests := []struct {
		name, path, summary, bangaloreTop string
		tx                                int64
		revenue                           float64
	}{
		{
			name:         "a day: each site's own calendar day",
			path:         "/reports/daily?date=2025-03-08",
			summary:      "Bangalore 2/12/10.00 f1 a1 [s1 2/10.00 f1 a1]; Berlin 1/3/9.00 f0 a0 [s2 1/9.00 f0 a0]; Paris 1/1/1.00 f0 a0 [s3 1/1.00 f0 a0]",
			bangaloreTop: "P1,P2", tx: 4, revenue: 20,
		},
		{
			name:         "the next day: only Bangalore sold; open items are listed still",
			path:         "/reports/daily?date=2025-03-09",
			summary:      "Bangalore 1/1/2.50 f1 a1 [s1 1/2.50 f1 a1]",
			bangaloreTop: "P1", tx: 1, revenue: 2.5,
		},
		{
			name:         "a month",
			path:         "/reports/monthly?month=2025-03",
			summary:      "Bangalore 3/13/12.50 f1 a1 [s1 3/12.50 f1 a1]; Berlin 1/3/9.00 f0 a0 [s2 1/9.00 f0 a0]; Paris 1/1/1.00 f0 a0 [s3 1/1.00 f0 a0]",
			bangaloreTop: "P1,P2", tx: 5, revenue: 22.5,
		},
		{
			name:    "a month without sales",
			path:    "/reports/monthly?month=2024-12",
			summary: "Bangalore 0/0/0.00 f1 a1 [s1 0/0.00 f1 a1]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("GET", tc.path, tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var rep report
			r.JSON(t, &rep)
			if got := rep.summary(); got != tc.summary {
				t.Fatalf("report\n got %s\nwant %s", got, tc.summary)
			}
			if got, want := rep.Totals.Transactions, tc.tx; got != want {
				t.Fatalf("total transactions %d, want %d", got, want)
			}
			if got, want := money(rep.Totals.Revenue), money(tc.revenue); got != want {
				t.Fatalf("total revenue %s, want %s", got, want)
			}
			if got, want := rep.Totals.OpenFaults+rep.Totals.OpenAlerts, 2; got != want {
				t.Fatalf("open faults+alerts %d, want %d", got, want)
			}
			if tc.bangaloreTop != "" {
				if got := tops(rep.Cities[0].reportFigures); got != tc.bangaloreTop {
					t.Fatalf("Bangalore top products %s, want %s", got, tc.bangaloreTop)
				}
				if got := tops(rep.Cities[0].Sites[0].reportFigures); got != tc.bangaloreTop {
					t.Fatalf("s1 top products %s, want %s", got, tc.bangaloreTop)
				}
			}
			if len(rep.Freshness) == 0 {
				t.Fatal("no freshness: HQ cannot tell no sales from not synced")
			}
		})
	}
}

func TestReports_Export(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleOps)
	t.Run("csv per site per day", func(t *testing.T) {
		r := c.Do("POST", "/reports/export", tok, map[string]string{"kind": "sales", "groupBy": "site", "window": "day", "from": "2025-03-01", "to": "2025-03-11", "format": "csv"})
		if r.Status != http.StatusOK {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/csv") {
			t.Fatalf("content type %q", got)
		}
		recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v\n%s", err, r.Body)
		}
		var got []string
		for _, rec := range recs {
			got = append(got, strings.Join(rec, " "))
		}
		want := []string{
			"site bucket transactions quantity revenue",
			"s1 2025-03-08T00:00:00 2 12 10.00",
			"s2 2025-03-08T00:00:00 1 3 9.00",
			"s3 2025-03-08T00:00:00 1 1 1.00",
			"s1 2025-03-09T00:00:00 1 1 2.50",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("csv\n got %q\nwant %q", got, want)
		}
	})
	t.Run("json per machine per hour, across several chunks", func(t *testing.T) {
		r := c.Do("POST", "/reports/export", tok, map[string]string{"kind": "sales", "groupBy": "machine", "window": "hour", "from": "2025-03-06", "to": "2025-03-10T12:00:00", "format": "json"})
		if r.Status != http.StatusOK {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var a salesAnswer
		r.JSON(t, &a)
		if got, want := len(a.Rows), 5; got != want {
			t.Fatalf("rows %d, want %d: %s", got, want, r.Body)
		}
		if got, want := a.Totals.Transactions, int64(5); got != want {
			t.Fatalf("total transactions %d, want %d", got, want)
		}
		if got, want := money(a.Totals.Revenue), "22.50"; got != want {
			t.Fatalf("total revenue %s, want %s", got, want)
		}
		for i := 1; i < len(a.Rows); i++ {
			if a.Rows[i].Bucket < a.Rows[i-1].Bucket {
				t.Fatalf("rows out of order: %s after %s", a.Rows[i].Bucket, a.Rows[i-1].Bucket)
			}
		}
	})
	t.Run("only one city", func(t *testing.T) {
		r := c.Do("POST", "/reports/export", tok, map[string]string{"kind": "sales", "groupBy": "product", "window": "month", "from": "2025-03-01", "to": "2025-04-01", "city": "Berlin"})
		if got, want := r.Body, "product,bucket,transactions,quantity,revenue\nP1,2025-03-01T00:00:00,1,3,9.00\n"; got != want {
			t.Fatalf("csv %q, want %q", got, want)
		}
	})
	bad := []struct {
		name  string
		body  map[string]string
		field string
	}{
		{"unknown kind", map[string]string{"kind": "stock", "from": "2025-03-01", "to": "2025-03-02"}, "kind"},
		{"unknown format", map[string]string{"kind": "sales", "format": "xml", "from": "2025-03-01", "to": "2025-03-02"}, "format"},
		{"bad groupBy", map[string]string{"kind": "sales", "groupBy": "planet", "from": "2025-03-01", "to": "2025-03-02"}, "groupBy"},
		{"bad window", map[string]string{"kind": "sales", "window": "year", "from": "2025-03-01", "to": "2025-03-02"}, "window"},
		{"no range", map[string]string{"kind": "sales"}, "from"},
		{"range backwards", map[string]string{"kind": "sales", "from": "2025-03-02", "to": "2025-03-01"}, "from"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("POST", "/reports/export", tok, tc.body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if got := r.Error(t).Field; got != tc.field {
				t.Fatalf("field %q, want %q", got, tc.field)
			}
		})
	}
}

func TestReports_BadPeriod(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleAdmin)
	for _, tc := range []struct{ path, field string }{
		{"/reports/daily", "date"},
		{"/reports/daily?date=08-03-2025", "date"},
		{"/reports/monthly", "month"},
		{"/reports/monthly?month=2025-13", "month"},
	} {
		r := c.Do("GET", tc.path, tok, nil)
		if r.Status != http.StatusBadRequest || r.Error(t).Field != tc.field {
			t.Fatalf("%s: %d %s, want 400 on %s", tc.path, r.Status, r.Body, tc.field)
		}
	}
}
