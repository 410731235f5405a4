package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// oldReport is the report's composition before issue 14, wave 10: a sales
// by site and a top products query per city. It is the reference
// buildReport is held to.
func oldReport(ctx context.Context, s *server, period string, win bucket.Window, from, to time.Time) (Report, error) {
	st := s.cfg.Store
	p := newReportParts()
	res, err := st.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.ByCity, Window: win, From: from, To: to})
	if err != nil {
		return p.rep, err
	}
	p.rep.Freshness = s.freshnessList(res.Freshness)
	p.addCities(res.Rows)
	for name, c := range p.cities {
		bySite, err := st.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.BySite, Window: win, From: from, To: to, City: name})
		if err != nil {
			return p.rep, err
		}
		p.addSites(c, bySite.Rows)
	}
	open, err := st.OpenCounts(ctx)
	if err != nil {
		return p.rep, err
	}
	p.addOpen(open)
	top := func(city string) ([]ProductTotal, error) {
		res, err := st.TopProducts(ctx, readmodel.TopQuery{From: from, To: to, Limit: ReportTopN, City: city})
		if err != nil {
			return nil, err
		}
		return reportProducts(res.Products), nil
	}
	topOfSite, err := st.TopProductsBySite(ctx, from, to, ReportTopN)
	if err != nil {
		return p.rep, err
	}
	if p.rep.Totals.TopProducts, err = top(""); err != nil {
		return p.rep, err
	}
	return p.finish(period, from, to, topOfSite, top)
}

// reportFixture applies random sales of seven sites in four timezones and
// five cities (one of them "", one site selling in two cities), with
// discounts, ties in revenue, repeated transactions and group commits;
// machines registered in cities and moved; open and closed alerts and
// faults of known and unknown machines, and of a site with no sales.
func reportFixture(t *testing.T, seed uint64) *readmodel.Store {
	t.Helper()
	ctx := context.Background()
	st, err := readmodel.Open(ctx, filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rng := rand.New(rand.NewPCG(seed, 10))
	type site struct{ id, tz, city string }
	sites := []site{{"s1", "UTC", "Pune"}, {"s2", "Asia/Kolkata", "Pune"}, {"s3", "America/New_York", "Oslo"},
		{"s4", "UTC", "Oslo"}, {"s5", "Pacific/Auckland", "Bergen"}, {"s6", "Asia/Kolkata", ""}, {"s7", "UTC", "Lyon"}}
	d0 := time.Date(2026, 1, 25, 0, 0, 0, 0, time.UTC)
	next := map[string]uint64{}
	var streamSeq uint64
	batch := func(s site, evs []envelope.Event) *envelope.Batch {
		b := &envelope.Batch{V: envelope.Version, Site: s.id, TZ: s.tz, First: next[s.id] + 1}
		for i := range evs {
			evs[i].V, evs[i].Site, evs[i].Seq = envelope.Version, s.id, b.First+uint64(i)
		}
		b.Events, b.Last = evs, b.First+uint64(len(evs))-1
		next[s.id] = b.Last
		return b
	}
	event := func(kind envelope.Kind, at time.Time, data any) envelope.Event {
		raw, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		return envelope.Event{Kind: kind, Time: at, Data: raw}
	}
	apply := func(b *envelope.Batch) {
		streamSeq++
		if _, err := st.Apply(ctx, streamSeq, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sites {
		var evs []envelope.Event
		for m := range 4 {
			city := s.city
			if s.id == "s1" && m == 3 {
				city = "Bergen"
			}
			evs = append(evs, event(envelope.KindMachine, d0, envelope.Machine{MachineID: fmt.Sprintf("M%d", m), City: city, Status: "ACTIVE", Action: "REGISTERED"}))
		}
		apply(batch(s, evs))
	}
	for range 150 {
		s := sites[rng.IntN(len(sites)-1)] // s7 sells nothing
		var evs []envelope.Event
		for range 1 + rng.IntN(10) {
			machine := rng.IntN(4)
			city := s.city
			if s.id == "s1" && machine == 3 {
				city = "Bergen"
			}
			amount := 100 * (1 + rng.Int64N(4)) // ties in revenue
			sale := envelope.Sale{TransactionID: fmt.Sprintf("%s-t%d", s.id, rng.IntN(600)), MachineID: fmt.Sprintf("M%d", machine),
				ProductID: fmt.Sprintf("P%d", rng.IntN(6)), Quantity: 1 + rng.Int64N(3), AmountCents: amount, PaymentMethod: "CARD",
				City: city, Location: "lobby"}
			if rng.IntN(3) == 0 {
				disc := 1 + rng.Int64N(40)
				sale.ListCents, sale.DiscountCents, sale.BasketID = amount+disc, disc, fmt.Sprintf("b%d", rng.IntN(50))
				sale.Promotions = []envelope.SalePromotion{{PromotionID: fmt.Sprintf("promo-%d", rng.IntN(3)), DiscountCents: disc}}
			}
			at := d0.Add(time.Duration(rng.IntN(24*75))*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
			evs = append(evs, event(envelope.KindSale, at, sale))
		}
		b := batch(s, evs)
		apply(b)
		if rng.IntN(5) == 0 {
			streamSeq--
			apply(b) // delivered twice: counts once
		}
	}
	// Open and closed items, of known machines and of M9, unknown.
	for i, s := range sites {
		var evs []envelope.Event
		for k := range 6 {
			machine := fmt.Sprintf("M%d", rng.IntN(4))
			if k == 0 {
				machine = "M9"
			}
			status := []string{"OPEN", "CLOSED"}[rng.IntN(2)]
			evs = append(evs, event(envelope.KindAlert, d0, envelope.Alert{AlertID: int64(100*i + k), MachineID: machine, Type: string(wire.LowStock), Status: status, OpenedAt: d0}))
			fstatus := []string{"OPEN", "RESOLVED"}[rng.IntN(2)]
			evs = append(evs, event(envelope.KindFault, d0, envelope.Fault{FaultID: int64(100*i + k), MachineID: machine, FaultType: "JAM", Description: "x", Status: fstatus, ReportedAt: d0}))
		}
		if s.id == "s2" {
			// A machine moves: its items count at its new city.
			evs = append(evs, event(envelope.KindMachine, d0.Add(time.Hour), envelope.Machine{MachineID: "M1", City: "Oslo", Status: "ACTIVE", Action: "UPDATED"}))
		}
		apply(batch(s, evs))
	}
	return st
}

// TestReport_AnswerAsBefore: the daily and monthly reports, composed from
// the fleet reads of SitesByCity and TopProductsByCity, are the same JSON
// as the composition of a query per city, for every day and month of
// random sales (several sites, cities and timezones, a site in two
// cities, city "", discounts, open items of unknown machines and of a site
// with no sales), and for random ranges not aligned to a bucket.
func TestReport_AnswerAsBefore(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			st := reportFixture(t, seed)
			now := time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC)
			srv := &server{cfg: Config{Store: st, Now: func() time.Time { return now }, StaleAfter: DefaultStaleAfter}}
			rng := rand.New(rand.NewPCG(seed, 11))
			type rng3 struct {
				period   string
				win      bucket.Window
				from, to time.Time
			}
			var ranges []rng3
			for d := time.Date(2026, 1, 23, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2026, 4, 13, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
				ranges = append(ranges, rng3{d.Format(time.DateOnly), bucket.Day, d, d.AddDate(0, 0, 1)})
			}
			for m := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC); m.Before(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); m = m.AddDate(0, 1, 0) {
				ranges = append(ranges, rng3{m.Format("2006-01"), bucket.Month, m, m.AddDate(0, 1, 0)})
			}
			for range 40 {
				from := time.Date(2026, 1, 24, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(24*70)) * time.Hour)
				to := from.Add(time.Duration(2+rng.IntN(24*20)) * time.Hour)
				win := []bucket.Window{bucket.Hour, bucket.Day, bucket.Week, bucket.Month}[rng.IntN(4)]
				ranges = append(ranges, rng3{"any", win, from, to})
			}
			cities, sites, blank := 0, 0, false
			for _, r := range ranges {
				got, err := srv.buildReport(ctx, r.period, r.win, r.from, r.to)
				if err != nil {
					t.Fatal(err)
				}
				want, err := oldReport(ctx, srv, r.period, r.win, r.from, r.to)
				if err != nil {
					t.Fatal(err)
				}
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				if !bytes.Equal(g, w) {
					t.Fatalf("%s %s [%v, %v):\n got  %s\n want %s", r.period, r.win, r.from, r.to, g, w)
				}
				for _, c := range want.Cities {
					cities++
					sites += len(c.Sites)
					blank = blank || (c.City == "" && c.Transactions > 0)
				}
			}
			t.Logf("%d cities, %d sites compared", cities, sites)
			if cities < 500 || sites < 1000 || !blank {
				t.Fatalf("%d cities and %d sites compared (city \"\" with sales: %v): the fixture tests too little", cities, sites, blank)
			}
		})
	}
}
