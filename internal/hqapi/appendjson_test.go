package hqapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/jsonappend"
	"github.com/vendsync/vendsync/sync/wire"
)

// Every answer with an AppendJSON gives json.Marshal's bytes: strings that
// need escaping (quotes, HTML, control characters, U+2028, bad UTF-8),
// money at its edges, null and set pointers, omitted and present optional
// fields, nil and empty lists.
func TestAppendJSON_SameBytesAsEncodingJSON(t *testing.T) {
	odd := []string{"", "VM_0001", `quote " and \ back`, "<b>&amp;</b>", "tab\tnew\nline\x01\x7f", "café ☕", "\u2028\u2029", "bad \xff utf-8", "2026-12-01T10:00:00"}
	money := []wire.Money{0, 1, 9, 10, 99, 100, 105, 1999, -1, -150, math.MaxInt64, math.MinInt64 + 1}
	var rows []SalesRow
	var fresh []Freshness
	for i, s := range odd {
		m := money[i%len(money)]
		rows = append(rows, SalesRow{SiteID: odd[(i+4)%len(odd)], Key: s, Bucket: odd[(i+1)%len(odd)], Transactions: int64(i) - 3,
			Quantity: math.MaxInt64 - int64(i), Revenue: m, Discount: money[(i+3)%len(money)], GrossRevenue: -m})
		f := Freshness{SiteID: s, Known: i%2 == 0, Timezone: odd[(i+2)%len(odd)], Watermark: math.MaxUint64 - uint64(i),
			LastSeq: uint64(i), Backlog: uint64(i * 3), Connected: i%3 == 0, Stale: i%4 == 0,
			BinaryVersion: odd[(i+5)%len(odd)], EnvelopeVersion: i % 3}
		if i%2 == 1 {
			at := time.Date(2026, 12, 1, 10, i, i, i*1001, time.UTC)
			secs := int64(i) - 4
			since := at.In(time.FixedZone("IST", 5*3600+1800))
			f.LastEventTime, f.LastContact, f.SecondsSinceContact, f.Since = &at, &since, &secs, &at
		}
		fresh = append(fresh, f)
	}
	var faults []Fault
	var alerts []Alert
	for i, s := range odd {
		at := time.Date(2026, 12, 1, 10, i, i, i*1001, time.UTC)
		f := Fault{SiteID: s, FaultID: int64(i) * 1e12, MachineID: odd[(i+1)%len(odd)], City: odd[(i+2)%len(odd)], FaultType: "JAM",
			Description: odd[(i+3)%len(odd)], Status: "OPEN", ReportedAt: at, UpdatedBy: odd[(i+4)%len(odd)], UpdatedAt: at.In(time.FixedZone("X", -3600))}
		a := Alert{SiteID: s, AlertID: -int64(i), MachineID: odd[(i+1)%len(odd)], City: odd[(i+2)%len(odd)], ProductID: odd[(i+3)%len(odd)],
			Type: "LOW_STOCK", Status: "CLOSED", Detail: odd[(i+4)%len(odd)], OpenedAt: at, UpdatedAt: at}
		if i%2 == 0 {
			f.ResolvedAt, a.ClosedAt = &at, &at
		}
		faults, alerts = append(faults, f), append(alerts, a)
	}
	var cities []CityReport
	for i, s := range odd {
		fig := func(j int) ReportFigures {
			f := ReportFigures{Transactions: int64(j) - 2, Quantity: math.MaxInt64 - int64(j), Revenue: money[j%len(money)], OpenFaults: j, OpenAlerts: -j}
			if j%3 != 0 {
				f.TopProducts = []ProductTotal{{ProductID: odd[j%len(odd)], Transactions: int64(j), Quantity: 2, Revenue: money[(j+1)%len(money)]}}
			}
			if j%3 == 1 {
				f.TopProducts = append(f.TopProducts, ProductTotal{ProductID: s, Revenue: -5})
			}
			if j == 4 {
				f.TopProducts = []ProductTotal{}
			}
			return f
		}
		c := CityReport{City: s, ReportFigures: fig(i)}
		for j := range i % 4 {
			c.Sites = append(c.Sites, SiteReport{SiteID: odd[(i+j)%len(odd)], ReportFigures: fig(i + j)})
		}
		if i == 2 {
			c.Sites = []SiteReport{}
		}
		cities = append(cities, c)
	}
	var recs []ReconciliationRow
	var cash []CashRow
	for i, s := range odd {
		r := ReconciliationRow{Key: s, SiteID: odd[(i+1)%len(odd)], MachineID: odd[(i+2)%len(odd)], Reconciliations: int64(i),
			MachineCount: -1, MachineValue: money[i%len(money)], LedgerCount: math.MaxInt64, LedgerValue: money[(i+1)%len(money)],
			UnreportedCount: 3, UnreportedValue: money[(i+2)%len(money)], MissingCount: 4, MissingValue: money[(i+3)%len(money)],
			PriceMismatches: 5, TestVends: 6, FreeVends: 7, Alerts: int64(-i)}
		c := CashRow{Key: s, SiteID: odd[(i+1)%len(odd)], MachineID: odd[(i+2)%len(odd)], Collections: int64(i), Counted: money[i%len(money)],
			ExpectedLedger: money[(i+1)%len(money)], OverShortLedger: money[(i+2)%len(money)], ExpectedDEX: money[(i+3)%len(money)],
			OverShortDEX: money[(i+4)%len(money)], DEXCollections: int64(i) * 3}
		if i%2 == 0 {
			at := time.Date(2026, 12, 1, 10, i, i, i*1001, time.FixedZone("IST", 5*3600+1800))
			r.LastReadAt, c.LastCollectedAt = &at, &at
		}
		recs, cash = append(recs, r), append(cash, c)
	}
	totals := Totals{Transactions: -4, Quantity: math.MaxInt64, Revenue: money[10], Discount: money[11], GrossRevenue: 5}
	tests := []struct {
		name string
		v    jsonappend.Appender
	}{
		{"sales", SalesAnswer{GroupBy: "machine", Window: "day", From: odd[8], To: odd[3], City: odd[5], SiteID: odd[2], Rows: rows, Totals: totals, Freshness: fresh}},
		{"sales, no city or site", SalesAnswer{GroupBy: "site", Window: "hour", Rows: rows[:1], Freshness: fresh[:2]}},
		{"sales, nil lists", SalesAnswer{}},
		{"sales, empty lists", SalesAnswer{Rows: []SalesRow{}, Freshness: []Freshness{}}},
		{"faults", FaultList{Faults: faults}},
		{"no faults", FaultList{}},
		{"empty faults", FaultList{Faults: []Fault{}}},
		{"alerts", AlertList{Alerts: alerts}},
		{"no alerts", AlertList{}},
		{"empty alerts", AlertList{Alerts: []Alert{}}},
		{"report", Report{Period: "2026-12", From: odd[8], To: odd[3], Cities: cities, Totals: cities[1].ReportFigures, Freshness: fresh}},
		{"empty report", Report{}},
		{"dex", ReconciliationReport{GroupBy: "site", From: odd[3], To: odd[8], Rows: recs, Totals: recs[3], Sites: fresh}},
		{"dex, no range", ReconciliationReport{GroupBy: odd[2], Rows: []ReconciliationRow{}}},
		{"empty dex", ReconciliationReport{}},
		{"cash", CashReport{GroupBy: "driver", From: odd[3], To: odd[8], Rows: cash, Totals: cash[2], Sites: fresh}},
		{"cash, no range", CashReport{GroupBy: odd[5], Rows: []CashRow{}, Sites: []Freshness{}}},
		{"empty cash", CashReport{}},
		{"sites", FreshnessList{Sites: fresh}},
		{"no sites", FreshnessList{}},
		{"empty sites", FreshnessList{Sites: []Freshness{}}},
	}
	// A SalesAnswerOf encodes as the SalesAnswer with its rows in an array.
	for _, n := range []int{0, 1, len(rows)} {
		sa := SalesAnswer{GroupBy: "machine", Window: "day", From: odd[8], To: odd[3], SiteID: odd[2], Rows: rows[:n], Totals: totals, Freshness: fresh}
		want, err := json.Marshal(sa)
		if err != nil {
			t.Fatal(err)
		}
		of := SalesAnswerOf{SalesAnswer: sa, Len: n, At: func(i int) SalesRow { return rows[i] }}
		of.Rows = nil // not read
		if got := of.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("SalesAnswerOf of %d rows:\n%s\nencoding/json of the SalesAnswer:\n%s", n, got, want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.v.AppendJSON([]byte("x")); !bytes.Equal(got[1:], want) || got[0] != 'x' {
				t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// BenchmarkAnswers encodes the largest HQ answers, as WriteJSON did
// (encoding/json) and does (AppendJSON): the fleet's machines by day
// (10,000 rows and 1,000 sites' freshness), 1,000 alerts, a daily report
// of 1,000 sites and the DEX report by site.
func BenchmarkAnswers(b *testing.B) {
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	secs := int64(12)
	sales := SalesAnswer{GroupBy: "machine", Window: "day", From: "2026-02-01T00:00:00", To: "2026-02-02T00:00:00"}
	for i := range 10000 {
		sales.Rows = append(sales.Rows, SalesRow{SiteID: "site-0042", Key: "site-0042-m7", Bucket: "2026-02-01T00:00:00",
			Transactions: int64(i % 9), Quantity: int64(i % 13), Revenue: wire.Money(i * 7), Discount: 25, GrossRevenue: wire.Money(i*7 + 25)})
	}
	for range 1000 {
		sales.Freshness = append(sales.Freshness, Freshness{SiteID: "site-0042", Known: true, Timezone: "Asia/Kolkata", LastEventTime: &at,
			Watermark: 5400, LastSeq: 5400, LastContact: &at, SecondsSinceContact: &secs, Connected: true, Since: &at})
	}
	var alerts AlertList
	for i := range 1000 {
		alerts.Alerts = append(alerts.Alerts, Alert{SiteID: "site-0042", AlertID: int64(i), MachineID: "site-0042-m7", City: "city-07",
			ProductID: "p13", Type: "LOW_STOCK", Status: "OPEN", Detail: "2 left, par 12", OpenedAt: at, UpdatedAt: at})
	}
	// A daily report of the fleet: 50 cities of 20 sites, 3 top products each.
	report := Report{Period: "2026-02-01", From: "2026-02-01T00:00:00", To: "2026-02-02T00:00:00", Freshness: sales.Freshness}
	top := []ProductTotal{{"p01", 40, 52, 9150}, {"p07", 31, 40, 7025}, {"p13", 22, 30, 5500}}
	fig := ReportFigures{Transactions: 412, Quantity: 530, Revenue: 95_075, TopProducts: top, OpenFaults: 2, OpenAlerts: 5}
	for c := range 50 {
		city := CityReport{City: fmt.Sprintf("city-%02d", c), ReportFigures: fig}
		for i := range 20 {
			city.Sites = append(city.Sites, SiteReport{SiteID: fmt.Sprintf("site-%04d", c*20+i), ReportFigures: fig})
		}
		report.Cities = append(report.Cities, city)
	}
	dex := ReconciliationReport{GroupBy: "site", From: "2026-02-01T00:00:00", To: "2026-03-03T00:00:00", Sites: sales.Freshness}
	for i := range 1000 {
		dex.Rows = append(dex.Rows, ReconciliationRow{Key: fmt.Sprintf("site-%04d", i), SiteID: fmt.Sprintf("site-%04d", i), Reconciliations: 300,
			MachineCount: 9000, MachineValue: 1_350_000, LedgerCount: 8990, LedgerValue: 1_348_500, UnreportedCount: 10, UnreportedValue: 1500,
			MissingCount: 2, MissingValue: 300, PriceMismatches: 1, TestVends: 4, Alerts: 3, LastReadAt: &at})
	}
	for _, c := range []struct {
		name string
		v    jsonappend.Appender
	}{{"sales-10000", sales}, {"alerts-1000", alerts}, {"report-daily-1000-sites", report}, {"dex-by-site-1000", dex}} {
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := json.NewEncoder(&buf).Encode(c.v); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
		b.Run(c.name+"/append", func(b *testing.B) {
			out := make([]byte, 0, 4<<20)
			for b.Loop() {
				out = c.v.AppendJSON(out[:0])
			}
			b.SetBytes(int64(len(out)))
		})
	}
}
