package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/testkit"
)

type salesAnswer struct {
	GroupBy, Window, From, To string
	Rows                      []struct {
		Key, Bucket  string
		Transactions int64
		Quantity     int64
		Revenue      float64
	}
	Totals struct {
		Transactions, Quantity int64
		Revenue                float64
	}
	Freshness []freshness
}

func (a salesAnswer) rows() string {
	var out []string
	for _, r := range a.Rows {
		out = append(out, r.Bucket[:10]+" "+r.Key+" "+fmtInt(r.Transactions)+"/"+fmtInt(r.Quantity)+"/"+money(r.Revenue))
	}
	return strings.Join(out, "; ")
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func TestAggregations_SalesCarryFreshnessPerSite(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleFinance)
	tests := []struct {
		name       string
		query      string
		rows       string
		revenue    float64
		freshSites string
	}{
		{
			name:       "per site per day",
			query:      "groupBy=site&window=day&from=2025-03-01&to=2025-03-11",
			rows:       "2025-03-08 s1 2/12/10.00; 2025-03-08 s2 1/3/9.00; 2025-03-08 s3 1/1/1.00; 2025-03-09 s1 1/1/2.50",
			revenue:    22.5,
			freshSites: "s1,s2,s3",
		},
		{
			name:       "per city, one city",
			query:      "groupBy=city&city=Bangalore&from=2025-03-01&to=2025-03-11",
			rows:       "2025-03-08 Bangalore 2/12/10.00; 2025-03-09 Bangalore 1/1/2.50",
			revenue:    12.5,
			freshSites: "s1",
		},
		{
			name:       "per product, one site, month",
			query:      "groupBy=product&window=month&siteId=s2&from=2025-03-01&to=2025-04-01",
			rows:       "2025-03-01 P1 1/3/9.00",
			revenue:    9,
			freshSites: "s2",
		},
		{
			name:       "per machine, default range covers every site's today",
			query:      "",
			rows:       "2025-03-08 M1 2/12/10.00; 2025-03-08 M2 1/3/9.00; 2025-03-08 M3 1/1/1.00; 2025-03-09 M1 1/1/2.50",
			revenue:    22.5,
			freshSites: "s1,s2,s3",
		},
		{
			name:       "an unknown site: no sales, and not synced",
			query:      "siteId=s9",
			rows:       "",
			freshSites: "s9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do("GET", "/aggregations/sales?"+tt.query, tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			var a salesAnswer
			r.JSON(t, &a)
			if got, want := a.rows(), tt.rows; got != want {
				t.Fatalf("rows = %q\nwant   %q", got, want)
			}
			if got, want := a.Totals.Revenue, tt.revenue; got != want {
				t.Fatalf("total revenue = %v, want %v", got, want)
			}
			if got, want := sitesOf(a.Freshness), tt.freshSites; got != want {
				t.Fatalf("freshness sites = %q, want %q", got, want)
			}
			for _, f := range a.Freshness {
				switch f.SiteID {
				case "s1":
					checkS1(t, f)
				case "s3":
					// Events 3..4 arrived, 1..2 did not: nothing is contiguous.
					if !f.Known || f.Watermark != 0 || f.LastSeq != 4 || f.Backlog != 4 {
						t.Fatalf("s3 freshness = %+v", f)
					}
				case "s9":
					if f.Known || !f.Stale || f.LastContact != nil || f.LastEventTime != nil {
						t.Fatalf("unknown site freshness = %+v", f)
					}
				}
			}
		})
	}
}

func TestAggregations_TopProducts(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleOps)
	tests := []struct {
		name, query string
		want        string
		freshSites  string
	}{
		{name: "by revenue", query: "", want: "P1 16.50 6, P2 5.00 10, P9 1.00 1", freshSites: "s1,s2,s3"},
		{name: "by quantity", query: "by=quantity", want: "P2 5.00 10, P1 16.50 6, P9 1.00 1", freshSites: "s1,s2,s3"},
		{name: "top one by quantity", query: "by=quantity&n=1", want: "P2 5.00 10", freshSites: "s1,s2,s3"},
		{name: "one city", query: "city=Berlin", want: "P1 9.00 3", freshSites: "s2"},
		{name: "one site", query: "siteId=s1&from=2025-03-09&to=2025-03-10", want: "P1 2.50 1", freshSites: "s1"},
		{name: "no sales in range", query: "from=2025-01-01&to=2025-02-01", want: "", freshSites: "s1,s2,s3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do("GET", "/aggregations/products/top?"+tt.query, tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			var a struct {
				Products []struct {
					ProductID string
					Quantity  int64
					Revenue   float64
				}
				Freshness []freshness
			}
			r.JSON(t, &a)
			var got []string
			for _, p := range a.Products {
				got = append(got, p.ProductID+" "+money(p.Revenue)+" "+fmtInt(p.Quantity))
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Fatalf("products = %q, want %q", g, tt.want)
			}
			if got, want := sitesOf(a.Freshness), tt.freshSites; got != want {
				t.Fatalf("freshness sites = %q, want %q", got, want)
			}
			if a.Freshness[0].SiteID == "s1" {
				checkS1(t, a.Freshness[0])
			}
		})
	}
}

func TestFaults_ListFleetWide(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleDriver)
	tests := []struct {
		query, want string
	}{
		{"", "s2/7 RESOLVED, s1/1 OPEN"},
		{"status=OPEN", "s1/1 OPEN"},
		{"status=resolved", "s2/7 RESOLVED"},
		{"city=Bangalore", "s1/1 OPEN"},
		{"city=Paris", ""},
		{"siteId=s2", "s2/7 RESOLVED"},
		{"machineId=M1", "s1/1 OPEN"},
		{"status=OPEN&city=Berlin", ""},
		{"limit=1", "s2/7 RESOLVED"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := c.Do("GET", "/faults?"+tt.query, tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			var a struct {
				Faults []struct {
					SiteID, Status, MachineID, City, FaultType string
					FaultID                                    int64
				}
			}
			r.JSON(t, &a)
			var got []string
			for _, f := range a.Faults {
				got = append(got, f.SiteID+"/"+fmtInt(f.FaultID)+" "+f.Status)
				if f.MachineID == "" || f.City == "" || f.FaultType == "" {
					t.Fatalf("fault lacks fields: %+v", f)
				}
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Fatalf("faults = %q, want %q", g, tt.want)
			}
		})
	}
}

func TestAlerts_ListFleetWide(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleOps)
	tests := []struct {
		query, want string
	}{
		{"", "s2/4 TEMPERATURE_HIGH CLOSED, s1/1 LOW_STOCK OPEN"},
		{"status=OPEN", "s1/1 LOW_STOCK OPEN"},
		{"type=low_stock", "s1/1 LOW_STOCK OPEN"},
		{"type=OUT_OF_STOCK", ""},
		{"city=Berlin", "s2/4 TEMPERATURE_HIGH CLOSED"},
		{"siteId=s1&machineId=M1", "s1/1 LOW_STOCK OPEN"},
		{"machineId=M2&status=OPEN", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := c.Do("GET", "/alerts?"+tt.query, tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			var a struct {
				Alerts []struct {
					SiteID, Type, Status string
					AlertID              int64
				}
			}
			r.JSON(t, &a)
			var got []string
			for _, x := range a.Alerts {
				got = append(got, x.SiteID+"/"+fmtInt(x.AlertID)+" "+x.Type+" "+x.Status)
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Fatalf("alerts = %q, want %q", g, tt.want)
			}
		})
	}
}

func TestSites_SyncState(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleDriver)
	r := c.Do("GET", "/sites", tok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var a struct{ Sites []freshness }
	r.JSON(t, &a)
	if got, want := sitesOf(a.Sites), "s1,s2,s3"; got != want {
		t.Fatalf("sites = %q, want %q", got, want)
	}
	checkS1(t, byID(t, a.Sites, "s1"))
	if s3 := byID(t, a.Sites, "s3"); s3.Backlog != 4 || s3.Watermark != 0 {
		t.Fatalf("s3 = %+v", s3)
	}

	r = c.Do("GET", "/sites/s1", tok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /sites/s1: %d %s", r.Status, r.Body)
	}
	var one freshness
	r.JSON(t, &one)
	checkS1(t, one)
}

func TestMachines_GetWithSiteLocationAndProducts(t *testing.T) {
	c := newCentral(t)
	r := c.Do("GET", "/machines/M1", c.Token(auth.RoleFinance), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var m struct {
		MachineID, SiteID, Status string
		Location                  struct{ City, Building string }
		PaymentMethods            []string
		Products                  []struct {
			ProductID, Name string
			Price           float64
			Quantity        int64
			LowStockLimit   int64
			CasePack        int64
		}
		Freshness freshness
	}
	r.JSON(t, &m)
	if m.MachineID != "M1" || m.SiteID != "s1" || m.Status != "ACTIVE" || m.Location.City != "Bangalore" || m.Location.Building != "Tower M1" {
		t.Fatalf("machine = %+v", m)
	}
	if got, want := len(m.Products), 2; got != want {
		t.Fatalf("products = %d, want %d", got, want)
	}
	if p := m.Products[0]; p.ProductID != "P1" || p.Name != "Coke" || p.Price != 2.5 || p.Quantity != 20 || p.LowStockLimit != 5 || p.CasePack != 12 {
		t.Fatalf("P1 = %+v", p)
	}
	checkS1(t, m.Freshness)
}

// TestSales_KeptRowArraysNotShared: GET /aggregations/sales reads its rows
// into arrays it keeps for later requests and encodes from them. Clients
// asking in parallel for different answers each get their own answer,
// byte for byte as it was asked alone.
func TestSales_KeptRowArraysNotShared(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleFinance)
	queries := []string{"groupBy=machine", "groupBy=site&window=day&from=2025-03-01&to=2025-03-11",
		"groupBy=product&window=month&siteId=s2&from=2025-03-01&to=2025-04-01", "groupBy=city&window=hour&from=2025-03-08&to=2025-03-10"}
	first := make([]string, len(queries))
	for i, q := range queries {
		r := c.Do("GET", "/aggregations/sales?"+q, tok, nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"rows":[{`) {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
		var a salesAnswer
		r.JSON(t, &a)
		for _, row := range a.Rows {
			if row.Key == "" || row.Bucket == "" || row.Transactions == 0 {
				t.Fatalf("%s: a row without its key, bucket or sales: %s", q, r.Body)
			}
		}
		first[i] = r.Body
	}
	testkit.Parallel(t, len(queries), func(i int) error {
		for range 40 {
			req, err := http.NewRequest("GET", c.URL+"/aggregations/sales?"+queries[i], nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK || string(body) != first[i] {
				return fmt.Errorf("%s: %d, an answer other than the first:\n%s\nwant\n%s", queries[i], resp.StatusCode, body, first[i])
			}
		}
		return nil
	})
}
