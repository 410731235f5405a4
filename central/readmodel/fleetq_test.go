package readmodel

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

// The queries as they were before issue 14 reshaped them for a fleet of
// 10,000 machines × 1 year; TestFleetQueries_AnswerAsBefore holds the new
// ones to their answers.
const (
	refAlerts = `SELECT a.site, a.alert_id, coalesce(m.city, '')
		FROM alerts a LEFT JOIN machines m ON m.site = a.site AND m.machine_id = a.machine_id
		WHERE (?1 = '' OR a.status = ?1) AND (?2 = '' OR a.alert_type = ?2) AND (?3 = '' OR m.city = ?3)
			AND (?4 = '' OR a.site = ?4) AND (?5 = '' OR a.machine_id = ?5)
		ORDER BY a.event_time DESC, a.site, a.alert_id LIMIT ?6`
	refFaults = `SELECT f.site, f.fault_id, coalesce(m.city, '')
		FROM faults f LEFT JOIN machines m ON m.site = f.site AND m.machine_id = f.machine_id
		WHERE (?1 = '' OR f.status = ?1) AND (?2 = '' OR m.city = ?2) AND (?3 = '' OR f.site = ?3)
			AND (?4 = '' OR f.machine_id = ?4)
		ORDER BY f.event_time DESC, f.site, f.fault_id LIMIT ?5`
	refOrders = `SELECT order_id FROM orders
		WHERE (?1 = '' OR site = ?1) AND (?2 = '' OR status = ?2) AND (?3 = '' OR customer = ?3)
		ORDER BY placed_at DESC, order_id LIMIT ?4`
	refLots = `SELECT site, lot_id FROM machine_lots
		WHERE (?1 = '' OR site = ?1) AND (?2 = '' OR machine_id = ?2) AND (?3 = '' OR product_id = ?3)
			AND (?4 = '' OR (expiry_date <> '' AND expiry_date < ?4)) AND (?5 = '' OR status = ?5) AND (?6 OR quantity > 0)
		ORDER BY site, machine_id, product_id, expiry_date = '', expiry_date, lot_id LIMIT ?7`
	refPayments = `SELECT day, method, SUM(payments), SUM(gross_cents), SUM(refunds), SUM(refunded_cents), SUM(failed)
		FROM payment_days WHERE (?1 = '' OR site = ?1) AND day >= ?2 AND day <= ?3 GROUP BY day, method ORDER BY day, method`
	refPromoTotals = `SELECT
		COALESCE((SELECT SUM(revenue_cents) FROM sales_agg WHERE dim = 'site' AND win = ?1 AND bucket >= ?2 AND bucket < ?3
			AND site NOT IN ('` + aggregate.ScopeCity + `', '` + aggregate.ScopeFleet + `') AND (?4 = '' OR site = ?4) AND (?5 = '' OR city = ?5)), 0),
		COALESCE((SELECT SUM(discount_cents) FROM sales_discount_agg WHERE dim = 'site' AND win = ?1 AND bucket >= ?2 AND bucket < ?3
			AND site NOT IN ('` + aggregate.ScopeCity + `', '` + aggregate.ScopeFleet + `') AND (?4 = '' OR site = ?4) AND (?5 = '' OR city = ?5)), 0)`
)

// refSales is the sales aggregate query before issue 14 (per-row discount
// lookup, grouping and order in SQL).
func refSales(q SalesQuery) string {
	site, group := `''`, `a.bucket, a.key`
	if q.GroupBy == ByMachine {
		site, group = `a.site`, `a.bucket, a.key, a.site`
	}
	return `WITH ` + scopeCTE(q.GroupBy, q.City, q.Site) + `
		SELECT ` + site + `, a.key, a.bucket, sum(a.tx_count), sum(a.quantity), sum(a.revenue_cents),
			sum(COALESCE((SELECT d.discount_cents FROM sales_discount_agg d WHERE d.dim = a.dim AND d.win = a.win
				AND d.site = a.site AND d.city = a.city AND d.bucket = a.bucket AND d.key = a.key), 0))
		FROM sc CROSS JOIN sales_agg a
		WHERE a.dim = ?3 AND a.win = ?4 AND a.site = sc.site AND a.city = sc.city AND a.bucket >= ?5 AND a.bucket < ?6
		GROUP BY ` + group + ` ORDER BY ` + group
}

// fleetFixture applies sales with promotions and payments of three sites
// in two cities (and one sale of a third city at s1) over three days, and
// writes alerts, faults, orders and lots directly, with ties in time and
// machines central does not know.
func fleetFixture(t *testing.T) *Store {
	t.Helper()
	s := openStore(t)
	ctx := context.Background()
	d0 := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	type site struct{ id, tz, city string }
	sites := []site{{"s1", "UTC", "Pune"}, {"s2", "Asia/Kolkata", "Pune"}, {"s3", "America/New_York", "Oslo"}}
	for i, st := range sites {
		var evs []ev
		for k := range 30 {
			city := st.city
			if st.id == "s1" && k == 7 {
				city = "Bergen" // a machine that moved
			}
			e := saleEv(fmt.Sprintf("%s-t%d", st.id, k), fmt.Sprintf("M%d", k%3), fmt.Sprintf("P%d", k%4), city, 1+int64(k%2),
				100+int64(k*10), d0.Add(time.Duration(k*5+i)*time.Hour))
			d := e.data.(envelope.Sale)
			d.PaymentMethod = []string{"CASH", "CARD", "UPI"}[k%3]
			if k%3 != 2 {
				d.ListCents, d.DiscountCents, d.BasketID = d.AmountCents+20, 20, fmt.Sprintf("b%d", k/2)
				d.Promotions = []envelope.SalePromotion{{PromotionID: fmt.Sprintf("promo-%d", k%2), DiscountCents: 20}}
			}
			e.data = d
			evs = append(evs, e)
		}
		evs = append(evs, ev{envelope.KindPayment, d0, envelope.Payment{PaymentID: 1, TransactionID: st.id + "-t0", MachineID: "M0",
			ProductID: "P0", Quantity: 1, Method: "CASH", MethodName: "CASH", AmountCents: 100, RefundedCents: 100, Status: "REFUNDED",
			Day: "2026-03-01", SoldAt: d0, Change: "REFUNDED"}})
		mustApply(t, s, uint64(i+1), mkBatch(t, st.id, st.tz, 1, evs...))
	}
	stmts := []string{
		`INSERT INTO machines (site, machine_id, city, building, payment_methods, status, action, seq, event_time) VALUES
			('s1', 'M0', 'Pune', '', '[]', 'ACTIVE', '', 1, 0), ('s1', 'M1', 'Pune', '', '[]', 'ACTIVE', '', 1, 0),
			('s2', 'M0', 'Pune', '', '[]', 'ACTIVE', '', 1, 0), ('s3', 'M0', 'Oslo', '', '[]', 'ACTIVE', '', 1, 0)`,
	}
	for i := range 40 {
		site, machine := sites[i%3].id, fmt.Sprintf("M%d", i%4) // M3 is unknown
		status := []string{"OPEN", "CLOSED"}[i%2]
		at := 1000 * int64(i/3) // ties across sites
		stmts = append(stmts,
			fmt.Sprintf(`INSERT INTO alerts (site, alert_id, machine_id, product_id, alert_type, status, detail, opened_at, seq, event_time)
				VALUES ('%s', %d, '%s', 'P1', '%s', '%s', '', %d, 1, %d)`, site, i, machine, []string{"LOW_STOCK", "OFFLINE", "TEMPERATURE"}[i%3], status, at, at),
			fmt.Sprintf(`INSERT INTO faults (site, fault_id, machine_id, fault_type, description, status, reported_at, seq, event_time)
				VALUES ('%s', %d, '%s', 'JAM', '', '%s', %d, 1, %d)`, site, i, machine, []string{"OPEN", "RESOLVED"}[i%2], at, at),
			fmt.Sprintf(`INSERT INTO orders (order_id, site, machine_id, customer, status, lines, placed_at, updated_at)
				VALUES ('o%02d', '%s', '%s', 'c%d', '%s', '[]', %d, %d)`, i, site, machine, i%5, []string{"PLACED", "ACCEPTED", "PICKED_UP"}[i%3], at, at),
			fmt.Sprintf(`INSERT INTO machine_lots (site, lot_id, machine_id, product_id, expiry_date, quantity, status, updated_at)
				VALUES ('%s', %d, '%s', 'P%d', '%s', %d, '%s', 0)`, site, i, machine, i%2, []string{"", "2026-03-01", "2026-04-01", "2026-02-01"}[i%4], i%3,
				[]string{"SELLABLE", "HOLD"}[i%2]))
	}
	for _, q := range stmts {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	return s
}

// TestFleetQueries_AnswerAsBefore: the alert, fault, order, lot, payment
// and promotion queries that read only the rows their filters select (and
// the fleet's payment totals kept on apply, and the city rows of the sales
// aggregates) answer exactly what the queries that scanned did, for every
// combination of filters.
func TestFleetQueries_AnswerAsBefore(t *testing.T) {
	s := fleetFixture(t)
	ctx := context.Background()
	keys := func(t *testing.T, q string, args ...any) []string {
		t.Helper()
		rows, err := s.db.R.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		return dumpRows(t, rows)
	}
	same := func(t *testing.T, name string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\n got  %q\n want %q", name, got, want)
		}
	}
	nonEmpty := 0

	t.Run("sales", func(t *testing.T) {
		d := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for _, dim := range []Dim{ByMachine, BySite, ByCity, ByProduct} {
			for _, win := range bucket.All {
				for _, city := range []string{"", "Pune", "Bergen"} {
					for _, site := range []string{"", "s1", "s2"} {
						for _, r := range [][2]time.Time{{d, d.AddDate(0, 0, 9)}, {d.Add(30 * time.Hour), d.AddDate(0, 0, 3)}} {
							q := SalesQuery{GroupBy: dim, Window: win, From: r[0], To: r[1], City: city, Site: site}
							res, err := s.Sales(ctx, q)
							if err != nil {
								t.Fatal(err)
							}
							var got []string
							for _, x := range res.Rows {
								got = append(got, fmt.Sprint(x.Site, x.Key, x.Bucket.Unix(), x.TxCount, x.Quantity, x.RevenueCents, x.DiscountCents))
							}
							want := keys(t, refSales(q), site, city, string(dim), string(win), bucket.Start(win, r[0]).Unix(), r[1].Unix())
							nonEmpty += min(len(want), 1)
							same(t, fmt.Sprintf("%+v", q), got, want)
						}
					}
				}
			}
		}
	})
	t.Run("top products by site", func(t *testing.T) {
		d := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for _, r := range [][2]time.Time{{d, d.AddDate(0, 0, 9)}, {d.Add(30 * time.Hour), d.AddDate(0, 0, 3).Add(5 * time.Hour)}, {d.AddDate(0, 0, 20), d.AddDate(0, 0, 21)}} {
			for _, limit := range []int{0, 1, 3} {
				all, err := s.TopProductsBySite(ctx, r[0], r[1], limit)
				if err != nil {
					t.Fatal(err)
				}
				for _, site := range []string{"s1", "s2", "s3", "s9"} {
					one, err := s.TopProducts(ctx, TopQuery{From: r[0], To: r[1], Site: site, Limit: limit})
					if err != nil {
						t.Fatal(err)
					}
					nonEmpty += min(len(one.Products), 1)
					if !slices.Equal(all[site], one.Products) {
						t.Fatalf("%v %d %s: got %+v, want %+v", r, limit, site, all[site], one.Products)
					}
				}
			}
		}
	})
	t.Run("open counts", func(t *testing.T) {
		counts, err := s.OpenCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[[2]string][2]int{}
		as, err := s.Alerts(ctx, AlertFilter{Status: "OPEN", Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			v := want[[2]string{a.City, a.Site}]
			v[0]++
			want[[2]string{a.City, a.Site}] = v
		}
		fs, err := s.Faults(ctx, FaultFilter{Status: "OPEN", Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			v := want[[2]string{f.City, f.Site}]
			v[1]++
			want[[2]string{f.City, f.Site}] = v
		}
		got := map[[2]string][2]int{}
		for _, c := range counts {
			got[[2]string{c.City, c.Site}] = [2]int{c.Alerts, c.Faults}
		}
		if len(want) < 3 || !maps.Equal(got, want) {
			t.Fatalf("open counts = %v, want %v", got, want)
		}
	})
	t.Run("alerts", func(t *testing.T) {
		for _, status := range []string{"", "OPEN", "CLOSED"} {
			for _, typ := range []string{"", "LOW_STOCK", "OFFLINE"} {
				for _, city := range []string{"", "Pune", "Oslo", "Nowhere"} {
					for _, site := range []string{"", "s1", "s3"} {
						for _, machine := range []string{"", "M0", "M3"} {
							for _, limit := range []int{0, 3} {
								f := AlertFilter{Status: status, Type: typ, City: city, Site: site, MachineID: machine, Limit: limit}
								as, err := s.Alerts(ctx, f)
								if err != nil {
									t.Fatal(err)
								}
								var got []string
								for _, a := range as {
									got = append(got, fmt.Sprint(a.Site, a.AlertID, a.City))
								}
								want := keys(t, refAlerts, status, typ, city, site, machine, limitOr(limit, 1000))
								nonEmpty += min(len(want), 1)
								same(t, fmt.Sprintf("%+v", f), got, want)
							}
						}
					}
				}
			}
		}
	})
	t.Run("faults", func(t *testing.T) {
		for _, status := range []string{"", "OPEN", "RESOLVED"} {
			for _, city := range []string{"", "Pune", "Oslo"} {
				for _, site := range []string{"", "s2"} {
					for _, machine := range []string{"", "M1", "M3"} {
						for _, limit := range []int{0, 2} {
							f := FaultFilter{Status: status, City: city, Site: site, MachineID: machine, Limit: limit}
							fs, err := s.Faults(ctx, f)
							if err != nil {
								t.Fatal(err)
							}
							var got []string
							for _, x := range fs {
								got = append(got, fmt.Sprint(x.Site, x.FaultID, x.City))
							}
							want := keys(t, refFaults, status, city, site, machine, limitOr(limit, 1000))
							nonEmpty += min(len(want), 1)
							same(t, fmt.Sprintf("%+v", f), got, want)
						}
					}
				}
			}
		}
	})
	t.Run("orders", func(t *testing.T) {
		for _, site := range []string{"", "s1"} {
			for _, status := range []string{"", "ACCEPTED"} {
				for _, customer := range []string{"", "c2"} {
					for _, limit := range []int{0, 4} {
						f := OrderFilter{Site: site, Status: status, Customer: customer, Limit: limit}
						os, err := s.Orders(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						var got []string
						for _, o := range os {
							got = append(got, o.OrderID)
						}
						lim := limit
						if lim <= 0 {
							lim = 100
						}
						want := keys(t, refOrders, site, status, customer, lim)
						nonEmpty += min(len(want), 1)
						same(t, fmt.Sprintf("%+v", f), got, want)
					}
				}
			}
		}
	})
	t.Run("lots", func(t *testing.T) {
		for _, site := range []string{"", "s2"} {
			for _, machine := range []string{"", "M1"} {
				for _, product := range []string{"", "P0"} {
					for _, before := range []string{"", "2026-03-15"} {
						for _, status := range []string{"", "HOLD"} {
							for _, empty := range []bool{false, true} {
								q := LotQuery{Site: site, MachineID: machine, ProductID: product, ExpiringBefore: before, Status: status, WithEmpty: empty, Limit: 7}
								ls, err := s.Lots(ctx, q)
								if err != nil {
									t.Fatal(err)
								}
								var got []string
								for _, l := range ls {
									got = append(got, fmt.Sprint(l.Site, l.LotID))
								}
								want := keys(t, refLots, site, machine, product, before, status, empty, 7)
								nonEmpty += min(len(want), 1)
								same(t, fmt.Sprintf("%+v", q), got, want)
							}
						}
					}
				}
			}
		}
	})
	t.Run("payments", func(t *testing.T) {
		for _, site := range []string{"", "s1", "s2", "s9"} {
			for _, r := range [][2]string{{"2026-03-01", "2026-03-09"}, {"2026-03-02", "2026-03-02"}, {"2026-02-01", "2026-02-28"}} {
				res, err := s.PaymentReport(ctx, PaymentQuery{Site: site, From: r[0], To: r[1]})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, p := range res.Rows {
					got = append(got, fmt.Sprint(p.Day, p.Method, p.Payments, p.Gross, p.Refunds, p.Refunded, p.Failed))
				}
				want := keys(t, refPayments, site, r[0], r[1])
				nonEmpty += min(len(want), 1)
				same(t, fmt.Sprint(site, r), got, want)
			}
		}
	})
	t.Run("promotion totals", func(t *testing.T) {
		d := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for _, site := range []string{"", "s1", "s3"} {
			for _, city := range []string{"", "Pune", "Bergen", "Oslo"} {
				for _, r := range [][2]time.Time{{d, d.AddDate(0, 0, 9)}, {d.Add(7 * time.Hour), d.AddDate(0, 0, 2).Add(3 * time.Hour)}, {d.AddDate(0, -1, 0), d.AddDate(0, 1, 0)}} {
					q := PromotionQuery{From: r[0], To: r[1], City: city, Site: site}
					rep, err := s.Promotions(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					var net, disc int64
					for _, sp := range bucket.Cover(r[0], r[1]) {
						var n, d int64
						if err := s.db.R.QueryRowContext(ctx, refPromoTotals, string(sp.Window), sp.From, sp.To, site, city).Scan(&n, &d); err != nil {
							t.Fatal(err)
						}
						net, disc = net+n, disc+d
					}
					nonEmpty += min(int(net), 1)
					if rep.NetCents != net || rep.DiscountCents != disc {
						t.Fatalf("%+v: net, discount = %d, %d; want %d, %d", q, rep.NetCents, rep.DiscountCents, net, disc)
					}
				}
			}
		}
	})
	// The fixture must give most combinations something to answer.
	if nonEmpty < 250 {
		t.Fatalf("only %d non-empty answers: the fixture tests too little", nonEmpty)
	}
}
