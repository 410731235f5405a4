package readmodel

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// bigTables grow with the fleet and its history: a query that scans one
// of them whole is slow at 10,000 machines × 1 year however fast it is in
// a test.
var bigTables = map[string]bool{
	"sales_agg": true, "site_sales_fleet": true, "machine_sales_fleet": true, "sales_discount_agg": true, "sales": true, "sale_promotions": true, "promo_days": true, "site_top": true, "dex_days": true, "cash_days": true, "dex_spans": true, "cash_spans": true, "raw_events": true,
	"payment_days": true, "payments": true, "alerts": true, "faults": true, "orders": true, "order_events": true,
	"dex_reconciliations": true, "cash_collections": true, "visits": true, "machine_lots": true, "sale_lot_uses": true,
	"machine_products": true, "machines": true, "inventory_movements": true,
}

// tableAliases maps the names a query's FROM and JOIN clauses give their
// tables (alias or table name) to the table.
func tableAliases(query string) map[string]string {
	re := regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(query, -1) {
		out[m[1]] = m[1]
		if a := m[2]; a != "" && !isKeyword(a) {
			out[a] = m[1]
		}
	}
	return out
}

func isKeyword(w string) bool {
	switch strings.ToUpper(w) {
	case "WHERE", "ON", "LEFT", "JOIN", "CROSS", "INNER", "GROUP", "ORDER", "LIMIT", "UNION", "USING":
		return true
	}
	return false
}

// TestQueryPlans_NoFullScanOfBigTables runs EXPLAIN QUERY PLAN for the
// read model's fleet-wide queries with every kind of filter and fails when
// a plan scans a big table whole. A scan in an index's order is allowed
// only when it yields the answer's order and stops at the query's LIMIT, or
// when the index is partial.
func TestQueryPlans_NoFullScanOfBigTables(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	d0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	type plan struct {
		name  string
		query string
		args  []any
	}
	var plans []plan
	add := func(name, query string, args ...any) { plans = append(plans, plan{name, query, args}) }
	for _, dim := range []Dim{ByMachine, BySite, ByCity, ByProduct} {
		for _, f := range []struct{ city, site string }{{"", ""}, {"c1", ""}, {"", "s1"}, {"c1", "s1"}} {
			query, args, _ := salesSQL(SalesQuery{GroupBy: dim, Window: bucket.Day, From: d0, To: d0.AddDate(0, 0, 30), City: f.city, Site: f.site})
			add(fmt.Sprintf("sales %s city=%q site=%q", dim, f.city, f.site), query, args...)
		}
	}
	for _, win := range bucket.All {
		for _, dim := range []Dim{BySite, ByMachine} {
			query, args, _ := salesSQL(SalesQuery{GroupBy: dim, Window: win, From: d0, To: d0.AddDate(0, 0, 30)})
			add(fmt.Sprintf("sales of the fleet's %ss by %s", dim, win), query, args...)
		}
	}
	spans := bucket.Cover(d0.Add(-5*time.Hour), d0.AddDate(0, 0, 45).Add(3*time.Hour))
	for _, q := range []TopQuery{{}, {City: "c1"}, {Site: "s1"}} {
		query, args := topSQL(q, spans, 10)
		add(fmt.Sprintf("top products %+v", q), query, args...)
		add(fmt.Sprintf("promotion totals %+v", q), promotionTotalsSQL(PromotionQuery{City: q.City, Site: q.Site}), q.Site, q.City, "day", 1, 2)
	}
	add("top products by site", `WITH sp(win, lo, hi) AS (VALUES ('day', ?1, ?2), ('hour', ?3, ?4))`+topBySiteSQL, 1, 2, 3, 4)
	for _, f := range []AlertFilter{{}, {Status: "OPEN"}, {Type: "LOW_STOCK"}, {City: "c1"}, {Site: "s1"}, {MachineID: "m1"}, {Status: "OPEN", City: "c1"}, {Type: "LOW_STOCK", City: "c1"}} {
		query, args := alertsSQL(f)
		add(fmt.Sprintf("alerts %+v", f), query, args...)
	}
	for _, f := range []FaultFilter{{}, {Status: "OPEN"}, {City: "c1"}, {Site: "s1"}, {MachineID: "m1"}, {Status: "OPEN", City: "c1"}} {
		query, args := faultsSQL(f)
		add(fmt.Sprintf("faults %+v", f), query, args...)
	}
	for _, f := range []OrderFilter{{Limit: 100}, {Site: "s1", Limit: 100}, {Status: "PLACED", Limit: 100}, {Customer: "c", Limit: 100}} {
		query, args := ordersSQL(f)
		add(fmt.Sprintf("orders %+v", f), query, args...)
	}
	for _, q := range []LotQuery{{Site: "s1"}, {ExpiringBefore: "2026-02-01"}, {Site: "s1", MachineID: "m1", ProductID: "p1"}} {
		query, args := lotsSQL(q, 1000)
		add(fmt.Sprintf("lots %+v", q), query, args...)
	}
	for _, q := range []PaymentQuery{{From: "2026-02-01", To: "2026-03-01"}, {Site: "s1", From: "2026-02-01", To: "2026-03-01"}} {
		query, args := paymentsSQL(q)
		add(fmt.Sprintf("payments %+v", q), query, args...)
	}
	add("promotion lines at the edges", selectPromoEdge, 1, 2, "", "")
	add("promotion days", selectPromoDays, promoFleet, "", "", 1, 2)
	add("promotion days of a site", selectPromoDaysOfSite, "s1", 1, 2)
	add("promotion sites of a day", selectPromoSites, promoCity, "c1", 1, "p1")
	add("promotion baskets seen", multiRow(selectBasketsSeenHead, selectBasketsSeenRow, selectBasketsSeenTail, 2), "s1", "m1", "b1", "p1", "s1", "m2", "b2", "p1")
	for _, g := range []DEXGroup{DEXByMachine, DEXBySite, DEXByCity, DEXByDriver} {
		site, machine, key, err := groupCols(g, "r", "uploaded_by")
		if err != nil {
			t.Fatal(err)
		}
		for _, one := range []bool{false, true} {
			add(fmt.Sprintf("dex reconciliations by %s, one site %v", g, one), reconciliationSQL(site, machine, key, one), "s1", 1, 2)
		}
		site, machine, key, _ = groupCols(g, "c", "driver")
		for _, one := range []bool{false, true} {
			add(fmt.Sprintf("cash by %s, one site %v", g, one), cashSQL(site, machine, key, one), "s1", 1, 2)
		}
	}
	add("site top", selectSiteTop, "day", 1, 3)
	add("site products of a bucket", selectSiteProducts, "day", 1, "s1")
	// Days 3..300: single days at both ends and blocks of every width.
	pieces := spanPieces(3*dayMS, 300*dayMS)
	q, args := piecesSQL("dex_days", "dex_spans", dexSumCols, "site", pieces)
	add("dex days and blocks", q, args...)
	add("placed sites", selectPlacedSites)
	add("dex unknown machine", insertDEXUnknownMachine, "s1", "m1")
	q, args = piecesSQL("cash_days", "cash_spans", cashSumCols, "driver", pieces)
	add("cash days and blocks", q, args...)
	add("dex block upsert", upsertDEXSpans, "s1", "d1", 5*dayMS, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
	add("nearest", selectNear, "p1", 1.0, 2.0, 3.0, 4.0, 1.0, 0.0)
	add("menu", selectMenu, "s1")
	add("sites of a city", selectCitySites, "c1")
	add("open alerts and faults", selectOpenCounts)
	add("open alerts and faults counted at read time", selectOpenCountsAtReadTime)
	add("the fleet's sites with their cities", selectFleetSitesCities, "day", 1, 2)
	add("every scope's site rows", selectScopeSites, "hour", 1, 2)
	add("top products of the fleet", selectFleetTopHead+"(?1, ?2, ?3)"+selectCityTopTail, "day", 1, 2)
	add("city top", selectCityTop, "day", 1, 3)
	add("city products of a bucket", selectCityProducts, "day", 1, "c1")
	add("top products of every city and the fleet", selectCityTopHead+"(?1, ?2, ?3), (?4, ?5, ?6)"+selectCityTopTail, "day", 1, 2, "hour", 3, 4)

	// A partial index holds only the rows its WHERE selects (open alerts,
	// say): scanning it is not scanning the table.
	partial := map[string]bool{}
	prows, err := s.db.R.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'`)
	if err != nil {
		t.Fatal(err)
	}
	for prows.Next() {
		var n string
		if err := prows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		partial[n] = true
	}
	prows.Close()

	for _, p := range plans {
		t.Run(p.name, func(t *testing.T) {
			rows, err := s.db.R.QueryContext(ctx, "EXPLAIN QUERY PLAN "+p.query, p.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, p.query)
			}
			defer rows.Close()
			var lines []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			aliases := tableAliases(p.query)
			plan := strings.Join(lines, "\n")
			ordered := strings.Contains(p.query, "LIMIT") && !strings.Contains(plan, "USE TEMP B-TREE FOR ORDER BY")
			for _, l := range lines {
				f := strings.Fields(l)
				if len(f) < 2 || f[0] != "SCAN" {
					continue
				}
				table := aliases[f[1]]
				if !bigTables[table] {
					continue
				}
				if strings.Contains(l, " USING ") && ordered {
					continue // read in the answer's order, stops at the limit
				}
				if i := slices.Index(f, "INDEX"); i > 0 && i+1 < len(f) && partial[f[i+1]] {
					continue
				}
				t.Errorf("full scan of %s: %q\nplan:\n%s\nquery:\n%s", table, l, plan, p.query)
			}
		})
	}
}
