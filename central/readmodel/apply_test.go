package readmodel

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

type testSite struct{ id, tz, city string }

var testSites = []testSite{
	{"berlin-1", "Europe/Berlin", "Berlin"},
	{"berlin-2", "Europe/Berlin", "Berlin"},
	{"blr-1", "Asia/Kolkata", "Bangalore"},
	{"nyc-1", "America/New_York", "New York"},
}

type saleRec struct {
	site, city, machine, product string
	qty, cents                   int64
	at                           time.Time
	loc                          *time.Location
}

// fleetSales applies n sales per site in batches of size per, interleaving
// sites, and returns what it sent.
func fleetSales(t *testing.T, s *Store, n, per int) []saleRec {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var recs []saleRec
	bySite := map[string][]ev{}
	for _, ts := range testSites {
		loc, err := time.LoadLocation(ts.tz)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			r := saleRec{
				site: ts.id, city: ts.city,
				machine: fmt.Sprintf("%s-m%d", ts.id, rng.IntN(3)),
				product: fmt.Sprintf("P%d", rng.IntN(5)),
				qty:     1 + rng.Int64N(3), cents: 50 + rng.Int64N(400),
				at:  start.Add(time.Duration(rng.Int64N(int64(72 * time.Hour)))),
				loc: loc,
			}
			recs = append(recs, r)
			bySite[ts.id] = append(bySite[ts.id], saleEv(fmt.Sprintf("%s-tx%d", ts.id, i), r.machine, r.product, r.city, r.qty, r.cents, r.at))
		}
	}
	var stream uint64
	for off := 0; off < n; off += per {
		for _, ts := range testSites {
			evs := bySite[ts.id][off:min(off+per, n)]
			stream++
			mustApply(t, s, stream, mkBatch(t, ts.id, ts.tz, uint64(off)+1, evs...))
		}
	}
	return recs
}

func (r saleRec) key(d Dim) string {
	switch d {
	case ByMachine:
		return r.machine
	case BySite:
		return r.site
	case ByCity:
		return r.city
	}
	return r.product
}

func TestSales_TotalsAcrossSitesAndTimezones(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	recs := fleetSales(t, s, 300, 40)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		dim        Dim
		win        bucket.Window
		city, site string
		sites      []string // freshness expected
	}{
		{"product by day, fleet", ByProduct, bucket.Day, "", "", []string{"berlin-1", "berlin-2", "blr-1", "nyc-1"}},
		{"city by day, fleet", ByCity, bucket.Day, "", "", []string{"berlin-1", "berlin-2", "blr-1", "nyc-1"}},
		{"city by hour, fleet", ByCity, bucket.Hour, "", "", []string{"berlin-1", "berlin-2", "blr-1", "nyc-1"}},
		{"site by week", BySite, bucket.Week, "", "", []string{"berlin-1", "berlin-2", "blr-1", "nyc-1"}},
		{"machine by month", ByMachine, bucket.Month, "", "", []string{"berlin-1", "berlin-2", "blr-1", "nyc-1"}},
		{"product in Berlin by day", ByProduct, bucket.Day, "Berlin", "", []string{"berlin-1", "berlin-2"}},
		{"product at blr-1 by hour", ByProduct, bucket.Hour, "", "blr-1", []string{"blr-1"}},
		{"city at berlin-2 by day", ByCity, bucket.Day, "", "berlin-2", []string{"berlin-2"}},
		{"machine in Berlin by day", ByMachine, bucket.Day, "Berlin", "", []string{"berlin-1", "berlin-2"}},
		{"site in New York by day", BySite, bucket.Day, "New York", "", []string{"nyc-1"}},
		{"product at nyc-1 in Berlin", ByProduct, bucket.Day, "Berlin", "nyc-1", []string{"nyc-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string][3]int64{}
			for _, r := range recs {
				if tt.city != "" && r.city != tt.city || tt.site != "" && r.site != tt.site {
					continue
				}
				k := fmt.Sprintf("%s@%d", r.key(tt.dim), bucket.Key(tt.win, r.at, r.loc))
				v := want[k]
				want[k] = [3]int64{v[0] + 1, v[1] + r.qty, v[2] + r.cents}
			}
			res, err := s.Sales(ctx, SalesQuery{GroupBy: tt.dim, Window: tt.win, From: from, To: to, City: tt.city, Site: tt.site})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][3]int64{}
			for _, r := range res.Rows {
				got[fmt.Sprintf("%s@%d", r.Key, r.Bucket.Unix())] = [3]int64{r.TxCount, r.Quantity, r.RevenueCents}
			}
			sameAgg(t, got, want)
			var sites []string
			for _, f := range res.Freshness {
				sites = append(sites, f.Site)
				if !f.Known || f.Contiguous != 300 || f.MaxSeen != 300 || f.LastContact.IsZero() || f.LastEventTime.IsZero() {
					t.Fatalf("freshness %+v: want known, contiguous = max seen = 300, contact and event time set", f)
				}
			}
			if !slices.Equal(sites, tt.sites) {
				t.Fatalf("freshness sites = %v, want %v", sites, tt.sites)
			}
		})
	}

	// Every sale lands in the fleet totals exactly once, whatever the zone.
	var wantTx, wantRev int64
	for _, r := range recs {
		wantTx++
		wantRev += r.cents
	}
	res, err := s.Sales(ctx, SalesQuery{GroupBy: ByCity, Window: bucket.Month, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var gotTx, gotRev int64
	for _, r := range res.Rows {
		gotTx += r.TxCount
		gotRev += r.RevenueCents
	}
	if gotTx != wantTx || gotRev != wantRev {
		t.Fatalf("fleet total = %d tx %d cents, want %d tx %d cents", gotTx, gotRev, wantTx, wantRev)
	}
}

func TestTopProducts_MatchesSalesInRange(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	recs := fleetSales(t, s, 400, 100)
	tests := []struct {
		name       string
		from, to   time.Time
		city, site string
	}{
		{"hours within a day", time.Date(2026, 3, 2, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC), "", ""},
		{"hours and days", time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC), time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC), "", ""},
		{"across months", time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 2, 3, 0, 0, 0, time.UTC), "", ""},
		{"city", time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), "Bangalore", ""},
		{"site", time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC), "", "berlin-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := bucket.Start(bucket.Hour, tt.from), bucket.Start(bucket.Hour, tt.to)
			want := map[string][3]int64{}
			for _, r := range recs {
				n := bucket.Naive(r.at, r.loc)
				if n.Before(lo) || !n.Before(hi) || tt.city != "" && r.city != tt.city || tt.site != "" && r.site != tt.site {
					continue
				}
				v := want[r.product]
				want[r.product] = [3]int64{v[0] + 1, v[1] + r.qty, v[2] + r.cents}
			}
			res, err := s.TopProducts(ctx, TopQuery{From: tt.from, To: tt.to, City: tt.city, Site: tt.site, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][3]int64{}
			for i, p := range res.Products {
				got[p.ProductID] = [3]int64{p.TxCount, p.Quantity, p.RevenueCents}
				if i > 0 && res.Products[i-1].RevenueCents < p.RevenueCents {
					t.Fatalf("products not ordered by revenue: %+v", res.Products)
				}
			}
			sameAgg(t, got, want)
			if len(res.Freshness) == 0 {
				t.Fatal("no freshness in answer")
			}
		})
	}
	res, err := s.TopProducts(ctx, TopQuery{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(res.Products), 2; got != want {
		t.Fatalf("limited answer has %d products, want %d", got, want)
	}
}

func TestApply_SameBatchTwiceChangesNothing(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	b := mkBatch(t, "s1", "Europe/Paris", 1,
		saleEv("t1", "m1", "p1", "Paris", 1, 100, at),
		saleEv("t2", "m1", "p2", "Paris", 2, 300, at.Add(time.Hour)),
		saleEv("t3", "m2", "p1", "Paris", 1, 100, at.Add(25*time.Hour)),
	)
	first := mustApply(t, s, 1, b)
	before := dumpAgg(t, s)
	second := mustApply(t, s, 2, b)
	sameAgg(t, dumpAgg(t, s), before)
	if got, want := first, (Result{Watermark{"s1", 3, 3}, 3, 0, 0}); got != want {
		t.Fatalf("first apply = %+v, want %+v", got, want)
	}
	if got, want := second, (Result{Watermark{"s1", 3, 3}, 0, 3, 0}); got != want {
		t.Fatalf("second apply = %+v, want %+v", got, want)
	}
	pos, err := s.Position(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pos, uint64(2); got != want {
		t.Fatalf("stream position = %d, want %d", got, want)
	}
}

func TestApply_OverlapCountsOnlyNewEvents(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var evs []ev
	for i := 1; i <= 15; i++ {
		evs = append(evs, saleEv(fmt.Sprintf("t%d", i), "m1", "p1", "Paris", 1, int64(i), at))
	}
	mustApply(t, s, 1, mkBatch(t, "s1", "Europe/Paris", 1, evs[0:10]...))
	r := mustApply(t, s, 2, mkBatch(t, "s1", "Europe/Paris", 5, evs[4:15]...))
	if got, want := r, (Result{Watermark{"s1", 15, 15}, 5, 6, 0}); got != want {
		t.Fatalf("overlapping apply = %+v, want %+v", got, want)
	}
	res, err := s.Sales(ctx, SalesQuery{GroupBy: BySite, Window: bucket.Day, From: at.Add(-48 * time.Hour), To: at.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("rows = %+v, want one", res.Rows)
	}
	if got, want := res.Rows[0].RevenueCents, int64(15*16/2); got != want { // 1+2+...+15, each once
		t.Fatalf("revenue = %d, want %d", got, want)
	}
	if got, want := res.Rows[0].TxCount, int64(15); got != want {
		t.Fatalf("tx count = %d, want %d", got, want)
	}
}

func TestApply_ReplayedTransactionChangesNothing(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	mustApply(t, s, 1, mkBatch(t, "s1", "UTC", 1, saleEv("t1", "m1", "p1", "Paris", 1, 100, at)))
	before := dumpAgg(t, s)
	// The same sale again under a new sequence (a machine retried), and twice
	// inside one batch.
	r := mustApply(t, s, 2, mkBatch(t, "s1", "UTC", 2,
		saleEv("t1", "m1", "p1", "Paris", 1, 100, at),
		saleEv("t2", "m1", "p1", "Paris", 1, 100, at),
		saleEv("t2", "m1", "p1", "Paris", 1, 100, at)))
	if got, want := r.Contiguous, uint64(4); got != want {
		t.Fatalf("contiguous = %d, want %d", got, want)
	}
	after := dumpAgg(t, s)
	k := fmt.Sprintf("site/day/s1/Paris/%d/s1", bucket.Key(bucket.Day, at, time.UTC))
	if got, want := before[k], [3]int64{1, 1, 100}; got != want {
		t.Fatalf("before: %s = %v, want %v", k, got, want)
	}
	if got, want := after[k], [3]int64{2, 2, 200}; got != want {
		t.Fatalf("after: %s = %v, want %v (t1 once, t2 once)", k, got, want)
	}
}

func TestApply_Watermark(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	run := func(t *testing.T, first, last uint64) *envelope.Batch {
		var evs []ev
		for i := first; i <= last; i++ {
			evs = append(evs, saleEv(fmt.Sprintf("t%d", i), "m1", "p1", "Paris", 1, 1, at))
		}
		return mkBatch(t, "s1", "UTC", first, evs...)
	}
	type step struct {
		first, last         uint64
		contiguous, maxSeen uint64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{1, 10, 10, 10}, {11, 20, 20, 20}}},
		{"gap then fill", []step{{1, 10, 10, 10}, {21, 30, 10, 30}, {11, 20, 30, 30}}},
		{"two gaps filled out of order", []step{{1, 5, 5, 5}, {11, 15, 5, 15}, {21, 25, 5, 25}, {16, 20, 5, 25}, {6, 10, 25, 25}}},
		{"start missing", []step{{3, 4, 0, 4}, {1, 2, 4, 4}}},
		{"redelivery below watermark", []step{{1, 10, 10, 10}, {3, 6, 10, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			for i, st := range tt.steps {
				r := mustApply(t, s, uint64(i+1), run(t, st.first, st.last))
				if r.Contiguous != st.contiguous || r.MaxSeen != st.maxSeen {
					t.Fatalf("step %d (%d..%d): watermark %d/%d, want %d/%d", i, st.first, st.last, r.Contiguous, r.MaxSeen, st.contiguous, st.maxSeen)
				}
				w, err := s.Watermark(context.Background(), "s1")
				if err != nil {
					t.Fatal(err)
				}
				if w != r.Watermark {
					t.Fatalf("Watermark() = %+v, Apply said %+v", w, r.Watermark)
				}
				f, err := s.Site(context.Background(), "s1")
				if err != nil {
					t.Fatal(err)
				}
				if got, want := f.Backlog, st.maxSeen-st.contiguous; got != want {
					t.Fatalf("backlog = %d, want %d", got, want)
				}
			}
		})
	}
}

func TestApply_OlderEventDoesNotRegressState(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	resolved := t0.Add(time.Hour)
	older := []ev{
		{envelope.KindMachine, t0, envelope.Machine{MachineID: "m1", City: "Paris", Building: "A", Status: "ACTIVE", Action: "REGISTERED"}},
		{envelope.KindFault, t0, envelope.Fault{FaultID: 7, MachineID: "m1", FaultType: "JAM", Status: "OPEN", ReportedAt: t0}},
		{envelope.KindAlert, t0, envelope.Alert{AlertID: 9, MachineID: "m1", Type: "LOW_STOCK", Status: "OPEN", OpenedAt: t0}},
		{envelope.KindInventory, t0, envelope.Inventory{MachineID: "m1", ProductID: "p1", Name: "Cola", PriceCents: 100, Quantity: 10, Action: "ADDED"}},
		{envelope.KindStock, t0, envelope.StockMovement{MovementID: "mv1", MachineID: "m1", ProductID: "p1", Reason: "COUNT", Delta: -2, After: 8}},
		{envelope.KindTelemetry, t0, envelope.Telemetry{MachineID: "m1", PowerStatus: "OFF", DoorStatus: "OPEN", Reason: "CHANGE"}},
	}
	newer := []ev{
		{envelope.KindMachine, resolved, envelope.Machine{MachineID: "m1", City: "Paris", Building: "B", Status: "UNDER_MAINTENANCE", Action: "UPDATED"}},
		{envelope.KindFault, resolved, envelope.Fault{FaultID: 7, MachineID: "m1", FaultType: "JAM", Status: "RESOLVED", ReportedAt: t0, ResolvedAt: &resolved}},
		{envelope.KindAlert, resolved, envelope.Alert{AlertID: 9, MachineID: "m1", Type: "LOW_STOCK", Status: "CLOSED", OpenedAt: t0, ClosedAt: &resolved}},
		{envelope.KindInventory, resolved, envelope.Inventory{MachineID: "m1", ProductID: "p1", Name: "Cola Zero", PriceCents: 120, Quantity: 30, Action: "UPDATED"}},
		{envelope.KindStock, resolved, envelope.StockMovement{MovementID: "mv2", MachineID: "m1", ProductID: "p1", Reason: "RESTOCK", Delta: 10, After: 40}},
		{envelope.KindTelemetry, resolved, envelope.Telemetry{MachineID: "m1", PowerStatus: "ON", DoorStatus: "CLOSED", Reason: "CHANGE"}},
	}
	check := func(t *testing.T, s *Store) {
		m, err := s.Machine(ctx, "", "m1")
		if err != nil {
			t.Fatal(err)
		}
		if m.Building != "B" || m.Status != "UNDER_MAINTENANCE" {
			t.Fatalf("machine = %+v, want building B under maintenance", m)
		}
		if len(m.Products) != 1 || m.Products[0].Name != "Cola Zero" || m.Products[0].PriceCents != 120 || m.Products[0].Quantity != 40 {
			t.Fatalf("products = %+v, want Cola Zero at 120 with 40", m.Products)
		}
		if m.Telemetry == nil || m.Telemetry.PowerStatus != "ON" || m.Telemetry.DoorStatus != "CLOSED" {
			t.Fatalf("telemetry = %+v, want ON/CLOSED", m.Telemetry)
		}
		fs, err := s.Faults(ctx, FaultFilter{City: "Paris"})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].Status != "RESOLVED" || fs[0].ResolvedAt == nil || fs[0].City != "Paris" {
			t.Fatalf("faults = %+v, want one RESOLVED in Paris", fs)
		}
		as, err := s.Alerts(ctx, AlertFilter{Type: "LOW_STOCK", Site: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 1 || as[0].Status != "CLOSED" || as[0].ClosedAt == nil {
			t.Fatalf("alerts = %+v, want one CLOSED", as)
		}
		if open, err := s.Alerts(ctx, AlertFilter{Status: "OPEN"}); err != nil || len(open) != 0 {
			t.Fatalf("open alerts = %+v, %v; want none", open, err)
		}
	}
	tests := []struct {
		name  string
		apply func(t *testing.T, s *Store)
	}{
		{"in order", func(t *testing.T, s *Store) {
			mustApply(t, s, 1, mkBatch(t, "s1", "UTC", 1, older...))
			mustApply(t, s, 2, mkBatch(t, "s1", "UTC", 7, newer...))
		}},
		{"newer first", func(t *testing.T, s *Store) {
			mustApply(t, s, 1, mkBatch(t, "s1", "UTC", 7, newer...))
			mustApply(t, s, 2, mkBatch(t, "s1", "UTC", 1, older...))
		}},
		{"stock before its product", func(t *testing.T, s *Store) {
			mustApply(t, s, 1, mkBatch(t, "s1", "UTC", 11, newer[4:]...))
			mustApply(t, s, 2, mkBatch(t, "s1", "UTC", 7, newer[:4]...))
			mustApply(t, s, 3, mkBatch(t, "s1", "UTC", 1, older...))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			tt.apply(t, s)
			check(t, s)
		})
	}
}

func TestRebuild_ReproducesAggregates(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	recs := fleetSales(t, s, 250, 60)
	want := dumpAgg(t, s)
	// Damage the aggregates so that a Rebuild that did nothing would fail.
	if _, err := s.w.ExecContext(ctx, `UPDATE sales_agg SET revenue_cents = revenue_cents + 1 WHERE dim = 'city'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sales_agg WHERE dim = 'machine'`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, int64(len(recs)); got != want {
		t.Fatalf("rebuilt from %d sales, want %d", got, want)
	}
	sameAgg(t, dumpAgg(t, s), want)
}

func TestApply_RefusesMalformedBatch(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	good := func() *envelope.Batch {
		return mkBatch(t, "s1", "UTC", 1, saleEv("t1", "m1", "p1", "Paris", 1, 100, at))
	}
	tests := []struct {
		name   string
		break_ func(b *envelope.Batch)
	}{
		{"bad timezone", func(b *envelope.Batch) { b.TZ = "Mars/Olympus" }},
		{"not contiguous", func(b *envelope.Batch) { b.Last = 2 }},
		{"newer version", func(b *envelope.Batch) { b.V = envelope.Version + 1 }},
		{"bad site", func(b *envelope.Batch) { b.Site = "a.b" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good()
			tt.break_(b)
			if _, err := s.Apply(context.Background(), 1, b); !errors.Is(err, ErrInvalidBatch) {
				t.Fatalf("Apply = %v, want ErrInvalidBatch", err)
			}
		})
	}
	if got := dumpAgg(t, s); len(got) != 0 {
		t.Fatalf("refused batches left %d aggregate rows", len(got))
	}
}

func TestApply_UndecodableEventKeepsWatermarkMoving(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	b := mkBatch(t, "s1", "UTC", 1, saleEv("t1", "m1", "p1", "Paris", 1, 100, at), saleEv("t2", "m1", "p1", "Paris", 1, 100, at))
	b.Events[1].Data = []byte(`{"transactionId": 5}`)
	r := mustApply(t, s, 1, b)
	if got, want := r, (Result{Watermark{"s1", 2, 2}, 2, 0, 1}); got != want {
		t.Fatalf("apply = %+v, want %+v", got, want)
	}
}

func TestQueries_NotFoundAndInvalid(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.Machine(ctx, "", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Machine = %v, want ErrNotFound", err)
	}
	if _, err := s.Site(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Site = %v, want ErrNotFound", err)
	}
	w, err := s.Watermark(ctx, "nope")
	if err != nil || w != (Watermark{Site: "nope"}) {
		t.Fatalf("Watermark = %+v, %v; want zero", w, err)
	}
	now := time.Now()
	for _, q := range []SalesQuery{
		{GroupBy: "shelf", Window: bucket.Day, From: now, To: now.Add(time.Hour)},
		{GroupBy: ByCity, Window: "year", From: now, To: now.Add(time.Hour)},
		{GroupBy: ByCity, Window: bucket.Day, From: now, To: now},
	} {
		if _, err := s.Sales(ctx, q); !errors.Is(err, ErrInvalidQuery) {
			t.Fatalf("Sales(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}
	res, err := s.Sales(ctx, SalesQuery{GroupBy: ByCity, Window: bucket.Day, From: now, To: now.Add(time.Hour), Site: "ghost"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 0 || len(res.Freshness) != 1 || res.Freshness[0].Known {
		t.Fatalf("unknown site answer = %+v, want no rows and one unknown freshness", res)
	}
}

func TestApply_BatchWithoutZoneUsesSiteZone(t *testing.T) {
	s := openStore(t)
	at := time.Date(2026, 5, 1, 23, 30, 0, 0, time.UTC) // May 2 in Tokyo
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, mkBatch(t, "s1", "Asia/Tokyo", 1, saleEv("t1", "m1", "p1", "Tokyo", 1, 100, at)))
	mustApply(t, s, 2, mkBatch(t, "s1", "", 2, saleEv("t2", "m1", "p1", "Tokyo", 1, 100, at)))
	k := fmt.Sprintf("site/day/s1/Tokyo/%d/s1", bucket.Key(bucket.Day, at, tokyo))
	if got, want := dumpAgg(t, s)[k], [3]int64{2, 2, 200}; got != want {
		t.Fatalf("%s = %v, want %v", k, got, want)
	}
	f, err := s.Site(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.TZ, "Asia/Tokyo"; got != want {
		t.Fatalf("site tz = %q, want %q", got, want)
	}
}
