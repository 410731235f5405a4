package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// TestDemandForecast_Report: after the forecast job ran, the report lists
// every slot with history, filtered by site and product, with days of
// stock left, and the hour-of-week figures on request.
func TestDemandForecast_Report(t *testing.T) {
	c := newCentral(t)
	if _, err := forecast.NewJob(forecast.JobConfig{Store: c.Store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	get := func(path string) hqapi.DemandForecastReport {
		t.Helper()
		r := c.Do("GET", path, c.Token(auth.RoleDriver), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", path, r.Status, r.Body)
		}
		var rep hqapi.DemandForecastReport
		if err := json.Unmarshal([]byte(r.Body), &rep); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
		return rep
	}
	rep := get("/reports/demand-forecast?siteId=s1")
	if len(rep.Rows) != 2 || rep.Rows[0].ProductID != "P1" || rep.Rows[1].ProductID != "P2" || rep.Method == "" {
		t.Fatalf("s1 rows = %+v, want M1/P1 and M1/P2 with a method", rep)
	}
	p1 := rep.Rows[0]
	if p1.SiteID != "s1" || p1.MachineID != "M1" || p1.City != "Bangalore" || p1.Name != "Coke" || p1.HistoryDays < 1 {
		t.Fatalf("P1 = %+v", p1)
	}
	if p1.PerDay <= 0 || p1.DaysOfStock == nil || *p1.DaysOfStock <= 0 || p1.HourOfWeek != nil {
		t.Fatalf("P1 = %+v: want demand, days of stock, no hours unless asked", p1)
	}
	// P2 sold 10 with 3 on hand: the slot was empty from then on.
	if p2 := rep.Rows[1]; p2.CensoredHours == 0 {
		t.Fatalf("P2 = %+v: want censored hours", p2)
	}
	one := get("/reports/demand-forecast?siteId=s1&productId=P1&hours=true")
	if len(one.Rows) != 1 || len(one.Rows[0].HourOfWeek) != forecast.HoursPerWeek {
		t.Fatalf("P1 with hours = %+v, want one row with 168 hours", one)
	}
	var sum float64
	for _, v := range one.Rows[0].HourOfWeek {
		sum += v
	}
	if got, want := sum, one.Rows[0].Next7Days; got < 0.9*want || got > 1.1*want { // each hour is rounded to 0.01
		t.Fatalf("Σ hour of week = %.2f, want ≈ next 7 days %.2f", got, want)
	}
	if rep := get("/reports/demand-forecast?city=Bangalore&productId=P2"); len(rep.Rows) != 1 || rep.Rows[0].SiteID != "s1" {
		t.Fatalf("Bangalore P2 = %+v, want s1's one slot", rep)
	}
	// s2's data ends on the day it starts: no complete day, no forecast yet.
	if rep := get("/reports/demand-forecast?city=Berlin"); len(rep.Rows) != 0 {
		t.Fatalf("Berlin = %+v, want none before a complete day", rep)
	}
	// s3's events start at seq 3: with a gap below them nothing is folded.
	if rep := get("/reports/demand-forecast?siteId=s3"); len(rep.Rows) != 0 {
		t.Fatalf("s3 = %+v, want no rows while its events have a gap", rep)
	}
	if r := c.Do("GET", "/reports/demand-forecast?hours=maybe", c.Token(auth.RoleOps), nil); r.Status != http.StatusBadRequest || r.Error(t).Field != "hours" {
		t.Fatalf("hours=maybe: %d %s, want 400 naming hours", r.Status, r.Body)
	}
}

// TestDemandForecast_DriverSeesOwnRoute: a driver whose credentials carry
// a route sees only the forecasts of its sites, and asking for another site
// is forbidden.
func TestDemandForecast_DriverSeesOwnRoute(t *testing.T) {
	c := newCentral(t)
	ctx := context.Background()
	for _, id := range []string{"s1", "s2"} {
		if _, _, err := c.Sites.Add(ctx, sitereg.Site{ID: id, City: "Testville", Timezone: "UTC"}, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := forecast.NewJob(forecast.JobConfig{Store: c.Store}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	r := c.Do("POST", "/drivers", c.Token(auth.RoleAdmin), hqapi.NewDriverRequest{Name: "South", Sites: []string{"s2"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create driver: %d %s", r.Status, r.Body)
	}
	var d hqapi.NewDriver
	r.JSON(t, &d)
	tok, err := c.Signer.Issue(auth.Claims{ClientID: d.ClientID, Role: auth.RoleDriver}, t0)
	if err != nil {
		t.Fatal(err)
	}
	r = c.Do("GET", "/reports/demand-forecast", tok, nil)
	var rep hqapi.DemandForecastReport
	r.JSON(t, &rep)
	if r.Status != http.StatusOK || len(rep.Rows) != 0 {
		t.Fatalf("driver of s2: %d %s, want no rows (s1 is not on the route, s2 has no forecast yet)", r.Status, r.Body)
	}
	if r := c.Do("GET", "/reports/demand-forecast?siteId=s1", tok, nil); r.Status != http.StatusForbidden || r.Error(t).Field != "siteId" {
		t.Fatalf("driver of s2 asking for s1: %d %s, want 403 naming siteId", r.Status, r.Body)
	}
	// OPS sees s1's forecasts.
	if r := c.Do("GET", "/reports/demand-forecast?siteId=s1", c.Token(auth.RoleOps), nil); r.Status != http.StatusOK || !strings.Contains(r.Body, `"siteId":"s1"`) {
		t.Fatalf("OPS: %d %s", r.Status, r.Body)
	}
}
