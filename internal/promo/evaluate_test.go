package promo_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/wire"
)

var kolkata = mustLoad("Asia/Kolkata")
var berlin = mustLoad("Europe/Berlin")
var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// wed is a Wednesday noon in Kolkata.
var wed = time.Date(2026, 12, 2, 12, 0, 0, 0, kolkata)

func pct(id string, percent, priority int, stacking promo.Stacking, products ...string) promo.Promotion {
	return promo.Promotion{ID: id, Name: id, Scope: promo.ScopeFleet, Kind: promo.KindPercent, Percent: percent, ProductIDs: products,
		Priority: priority, Stacking: stacking, Active: true, Version: 1}
}

func amt(id string, off wire.Money, priority int, stacking promo.Stacking, products ...string) promo.Promotion {
	p := pct(id, 0, priority, stacking, products...)
	p.Kind, p.AmountOff = promo.KindAmount, off
	return p
}

func basket(lines ...promo.Line) promo.Input {
	return promo.Input{Lines: lines, Now: wed, Location: kolkata, SiteID: "s1", City: "Pune"}
}

func line(p string, qty int64, price wire.Money) promo.Line {
	return promo.Line{ProductID: p, Quantity: qty, UnitPrice: price}
}

func applied(r promo.Result) []string {
	out := []string{}
	for _, a := range r.Applied {
		out = append(out, a.PromotionID)
	}
	return out
}

func nets(r promo.Result) []wire.Money {
	out := []wire.Money{}
	for _, l := range r.Lines {
		out = append(out, l.Net)
	}
	return out
}

// checkSums asserts the invariants every result keeps.
func checkSums(t *testing.T, r promo.Result) {
	t.Helper()
	var g, d, n, a wire.Money
	for _, l := range r.Lines {
		if l.List-l.Discount != l.Net || l.Net < 0 || l.Discount < 0 {
			t.Fatalf("line %+v: list - discount != net or negative", l)
		}
		g, d, n = g+l.List, d+l.Discount, n+l.Net
	}
	for _, x := range r.Applied {
		a += x.Discount
	}
	if g != r.Gross || d != r.Discount || n != r.Net || a != r.Discount || r.Gross-r.Discount != r.Net {
		t.Fatalf("totals %s - %s = %s do not add up to the lines (%s, %s, %s; applied %s)", r.Gross, r.Discount, r.Net, g, d, n, a)
	}
}

func TestEvaluate_Stacking(t *testing.T) {
	tests := []struct {
		name    string
		in      promo.Input
		promos  []promo.Promotion
		applied []string
		nets    []wire.Money
	}{
		{"no promotions", basket(line("cola", 2, 150)), nil, []string{}, []wire.Money{300}},
		{"20 percent off", basket(line("cola", 1, 200)), []promo.Promotion{pct("p20", 20, 0, promo.Stackable, "cola")}, []string{"p20"}, []wire.Money{160}},
		{"other product untouched", basket(line("cola", 1, 200), line("chips", 1, 100)),
			[]promo.Promotion{pct("p20", 20, 0, promo.Stackable, "cola")}, []string{"p20"}, []wire.Money{160, 100}},
		{"two stackables add up on list price", basket(line("cola", 1, 1000)),
			[]promo.Promotion{pct("a", 10, 0, promo.Stackable), pct("b", 20, 0, promo.Stackable)}, []string{"a", "b"}, []wire.Money{700}},
		{"exclusive of higher priority blocks a stackable", basket(line("cola", 1, 1000)),
			[]promo.Promotion{pct("low", 10, 1, promo.Stackable), pct("high", 30, 5, promo.Exclusive)}, []string{"high"}, []wire.Money{700}},
		{"exclusive after a stackable is skipped", basket(line("cola", 1, 1000)),
			[]promo.Promotion{pct("first", 10, 5, promo.Stackable), pct("ex", 50, 1, promo.Exclusive)}, []string{"first"}, []wire.Money{900}},
		{"exclusive takes only its own lines", basket(line("cola", 1, 1000), line("dog", 1, 500)),
			[]promo.Promotion{pct("ex", 50, 5, promo.Exclusive, "cola"), pct("all", 10, 1, promo.Stackable)}, []string{"ex", "all"}, []wire.Money{500, 450}},
		{"two exclusives on different lines both apply", basket(line("cola", 1, 1000), line("dog", 1, 500)),
			[]promo.Promotion{pct("x1", 50, 5, promo.Exclusive, "cola"), pct("x2", 20, 5, promo.Exclusive, "dog")}, []string{"x1", "x2"}, []wire.Money{500, 400}},
		{"equal priority ties break by id", basket(line("cola", 1, 1000)),
			[]promo.Promotion{pct("b", 50, 1, promo.Exclusive), pct("a", 10, 1, promo.Exclusive)}, []string{"a"}, []wire.Money{900}},
		{"discounts never go below zero", basket(line("cola", 2, 100)),
			[]promo.Promotion{amt("big", 150, 0, promo.Stackable), pct("p", 50, 0, promo.Stackable)}, []string{"big"}, []wire.Money{0}},
		{"amount off each unit", basket(line("cola", 3, 200)), []promo.Promotion{amt("a", 25, 0, promo.Stackable, "cola")}, []string{"a"}, []wire.Money{525}},
		{"rounding half-up per line", basket(line("a", 1, 5), line("b", 1, 15)),
			[]promo.Promotion{pct("p", 10, 0, promo.Stackable)}, []string{"p"}, []wire.Money{4, 13}},
		{"inactive is skipped", basket(line("cola", 1, 200)),
			[]promo.Promotion{func() promo.Promotion { p := pct("off", 20, 0, promo.Stackable); p.Active = false; return p }()}, []string{}, []wire.Money{200}},
		{"another site's is skipped", basket(line("cola", 1, 200)),
			[]promo.Promotion{func() promo.Promotion {
				p := pct("s2", 20, 0, promo.Stackable)
				p.Scope, p.SiteID = promo.ScopeSite, "s2"
				return p
			}()}, []string{}, []wire.Money{200}},
		{"own city's applies", basket(line("cola", 1, 200)),
			[]promo.Promotion{func() promo.Promotion {
				p := pct("pune", 20, 0, promo.Stackable)
				p.Scope, p.City = promo.ScopeCity, "pune"
				return p
			}()}, []string{"pune"}, []wire.Money{160}},
		{"quota without lease does not apply", basket(line("cola", 1, 200)),
			[]promo.Promotion{func() promo.Promotion { p := pct("q", 20, 0, promo.Stackable); p.Quota = 100; return p }()}, []string{}, []wire.Money{200}},
		{"quota with lease applies", func() promo.Input { in := basket(line("cola", 1, 200)); in.Quota = promo.QuotaMap{"q": 3}; return in }(),
			[]promo.Promotion{func() promo.Promotion { p := pct("q", 20, 0, promo.Stackable); p.Quota = 100; return p }()}, []string{"q"}, []wire.Money{160}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := promo.Evaluate(tt.in, tt.promos)
			checkSums(t, r)
			if got, want := applied(r), tt.applied; !slices.Equal(got, want) {
				t.Fatalf("applied %v, want %v (considered %+v)", got, want, r.Considered)
			}
			if got, want := nets(r), tt.nets; !slices.Equal(got, want) {
				t.Fatalf("nets %v, want %v", got, want)
			}
			if got, want := len(r.Considered), len(tt.promos); got != want {
				t.Fatalf("%d promotions explained, want %d", got, want)
			}
			for _, c := range r.Considered {
				if c.Reason == "" {
					t.Fatalf("promotion %s has no reason", c.PromotionID)
				}
			}
		})
	}
}

func TestEvaluate_OrderOfPromotionsDoesNotMatter(t *testing.T) {
	promos := []promo.Promotion{
		pct("a", 10, 1, promo.Stackable), pct("b", 30, 1, promo.Exclusive, "dog"), amt("c", 30, 2, promo.Stackable, "cola"),
		pct("d", 15, 0, promo.Exclusive), amt("e", 5, 2, promo.Stackable),
	}
	in := basket(line("cola", 3, 175), line("dog", 2, 450), line("chips", 1, 99))
	want := promo.Evaluate(in, promos)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(promos)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := promo.Evaluate(in, shuffled)
		if !slices.Equal(applied(got), applied(want)) || !slices.Equal(nets(got), nets(want)) {
			t.Fatalf("order changed the result: %v %v, want %v %v", applied(got), nets(got), applied(want), nets(want))
		}
	}
}

func combo(id string, size int, distinct bool, percent int, off wire.Money, products ...string) promo.Promotion {
	return promo.Promotion{ID: id, Name: id, Scope: promo.ScopeFleet, Kind: promo.KindCombo, ProductIDs: products, ComboSize: size,
		ComboDistinct: distinct, Percent: percent, AmountOff: off, Stacking: promo.Stackable, Active: true}
}

func TestEvaluate_Combos(t *testing.T) {
	tests := []struct {
		name     string
		lines    []promo.Line
		p        promo.Promotion
		discount wire.Money
		nets     []wire.Money
	}{
		{"hot dog and cola 20 percent", []promo.Line{line("dog", 1, 500), line("cola", 1, 200)},
			combo("hc", 2, true, 20, 0, "dog", "cola"), 140, []wire.Money{400, 160}},
		{"two combos in one basket", []promo.Line{line("dog", 2, 500), line("cola", 3, 200)},
			combo("hc", 2, true, 20, 0, "dog", "cola"), 280, []wire.Money{800, 520}},
		{"two dogs are no distinct combo", []promo.Line{line("dog", 2, 500)},
			combo("hc", 2, true, 20, 0, "dog", "cola"), 0, []wire.Money{1000}},
		{"any 3 of a set, amount off each combo", []promo.Line{line("a", 4, 100), line("b", 3, 100)},
			combo("any3", 3, false, 0, 60, "a", "b"), 120, []wire.Money{320, 260}},
		{"distinct 3 of 4 products forms most combos", []promo.Line{line("a", 2, 100), line("b", 2, 100), line("c", 1, 100), line("d", 1, 100)},
			combo("d3", 3, true, 50, 0, "a", "b", "c", "d"), 300, []wire.Money{100, 100, 50, 50}},
		{"amount split in proportion, exact sum", []promo.Line{line("dog", 1, 333), line("cola", 1, 667)},
			combo("hc", 2, true, 0, 100, "dog", "cola"), 100, []wire.Money{300, 600}},
		{"two lines of the same product are one product", []promo.Line{line("dog", 1, 500), line("dog", 1, 500)},
			combo("hc", 2, true, 20, 0, "dog", "cola"), 0, []wire.Money{500, 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err != nil {
				t.Fatalf("promotion invalid: %v", err)
			}
			r := promo.Evaluate(basket(tt.lines...), []promo.Promotion{tt.p})
			checkSums(t, r)
			if got, want := r.Discount, tt.discount; got != want {
				t.Fatalf("discount %s, want %s (%+v)", got, want, r.Considered)
			}
			if got, want := nets(r), tt.nets; !slices.Equal(got, want) {
				t.Fatalf("nets %v, want %v", got, want)
			}
		})
	}
}

func TestEvaluate_NthPurchase(t *testing.T) {
	p := promo.Promotion{ID: "fifth", Name: "every 5th", Scope: promo.ScopeFleet, Kind: promo.KindNthPurchase, NthPurchase: 5, Percent: 50,
		Stacking: promo.Stackable, Active: true}
	flat := p
	flat.ID, flat.Percent, flat.AmountOff = "flat", 0, 100
	tests := []struct {
		name     string
		customer string
		count    int64
		p        promo.Promotion
		discount wire.Money
	}{
		{"4th purchase pays full", "loyal-1", 3, p, 0},
		{"5th purchase half price", "loyal-1", 4, p, 300},
		{"10th purchase half price", "loyal-1", 9, p, 300},
		{"6th pays full", "loyal-1", 5, p, 0},
		{"no customer id", "", 4, p, 0},
		{"amount off the basket, spread over lines", "loyal-1", 4, flat, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := basket(line("cola", 1, 200), line("dog", 1, 400))
			in.CustomerID, in.PurchaseCount = tt.customer, tt.count
			r := promo.Evaluate(in, []promo.Promotion{tt.p})
			checkSums(t, r)
			if got, want := r.Discount, tt.discount; got != want {
				t.Fatalf("discount %s, want %s (%+v)", got, want, r.Considered)
			}
		})
	}
}

func TestEvaluate_Codes(t *testing.T) {
	coded := pct("summer", 20, 0, promo.Stackable)
	coded.Code = "SUMMER20"
	expired := pct("old", 20, 0, promo.Stackable)
	expired.Code, expired.Window = "OLD10", &promo.Window{EndDate: "2026-01-31"}
	colaOnly := pct("cola", 20, 0, promo.Stackable, "cola")
	colaOnly.Code = "COLA"
	promos := []promo.Promotion{coded, expired, colaOnly}
	tests := []struct {
		name     string
		code     string
		status   promo.CodeStatus
		discount wire.Money
	}{
		{"no code: coded promotions need it", "", promo.CodeNone, 0},
		{"right code applies", "SUMMER20", promo.CodeApplied, 40},
		{"code is case-insensitive", " summer20 ", promo.CodeApplied, 40},
		{"unknown code", "NOPE", promo.CodeUnknown, 0},
		{"expired code", "OLD10", promo.CodeExpired, 0},
		{"code for products not in the basket", "COLA", promo.CodeNotApplicable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := basket(line("dog", 1, 200))
			in.Code = tt.code
			r := promo.Evaluate(in, promos)
			checkSums(t, r)
			if got, want := r.Code, tt.status; got != want {
				t.Fatalf("code status %q, want %q (%+v)", got, want, r.Considered)
			}
			if got, want := r.Discount, tt.discount; got != want {
				t.Fatalf("discount %s, want %s", got, want)
			}
		})
	}
}

func TestEvaluate_Windows(t *testing.T) {
	win := func(w promo.Window) promo.Promotion {
		p := pct("w", 10, 0, promo.Stackable)
		p.Window = &w
		return p
	}
	tests := []struct {
		name  string
		w     promo.Window
		now   time.Time
		loc   *time.Location
		holds bool
	}{
		{"happy hour inside", promo.Window{From: "15:00", To: "17:00"}, time.Date(2026, 12, 2, 16, 59, 0, 0, kolkata), kolkata, true},
		{"happy hour end is exclusive", promo.Window{From: "15:00", To: "17:00"}, time.Date(2026, 12, 2, 17, 0, 0, 0, kolkata), kolkata, false},
		{"site timezone, not UTC", promo.Window{From: "15:00", To: "17:00"}, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), kolkata, true},
		{"across midnight, late part", promo.Window{From: "22:00", To: "02:00"}, time.Date(2026, 12, 2, 23, 30, 0, 0, kolkata), kolkata, true},
		{"across midnight, early part", promo.Window{From: "22:00", To: "02:00"}, time.Date(2026, 12, 3, 1, 59, 0, 0, kolkata), kolkata, true},
		{"across midnight, outside", promo.Window{From: "22:00", To: "02:00"}, time.Date(2026, 12, 3, 2, 0, 0, 0, kolkata), kolkata, false},
		{"friday night holds early saturday", promo.Window{Days: []string{"FRI"}, From: "22:00", To: "02:00"},
			time.Date(2026, 12, 5, 1, 0, 0, 0, kolkata), kolkata, true},
		{"saturday night not on friday's window", promo.Window{Days: []string{"FRI"}, From: "22:00", To: "02:00"},
			time.Date(2026, 12, 5, 23, 0, 0, 0, kolkata), kolkata, false},
		{"day of week", promo.Window{Days: []string{"WED"}}, wed, kolkata, true},
		{"other day of week", promo.Window{Days: []string{"MON", "TUE"}}, wed, kolkata, false},
		{"date range inclusive end", promo.Window{StartDate: "2026-12-01", EndDate: "2026-12-02"}, time.Date(2026, 12, 2, 23, 59, 0, 0, kolkata), kolkata, true},
		{"date range by site's local date", promo.Window{EndDate: "2026-12-02"}, time.Date(2026, 12, 2, 19, 0, 0, 0, time.UTC), kolkata, false},
		{"before start date", promo.Window{StartDate: "2026-12-03"}, wed, kolkata, false},
		// Berlin springs forward 2026-03-29 02:00 → 03:00: 08:00–10:00 wall clock still holds.
		{"DST spring forward, wall clock", promo.Window{From: "08:00", To: "10:00"}, time.Date(2026, 3, 29, 7, 30, 0, 0, time.UTC), berlin, true},
		{"DST spring forward, an hour later is out", promo.Window{From: "08:00", To: "10:00"}, time.Date(2026, 3, 29, 8, 30, 0, 0, time.UTC), berlin, false},
		// New York falls back 2026-11-01 02:00 → 01:00: 01:30 happens twice, both in 01:00–02:00.
		{"DST fall back, first 01:30", promo.Window{From: "01:00", To: "02:00"}, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), newYork, true},
		{"DST fall back, second 01:30", promo.Window{From: "01:00", To: "02:00"}, time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), newYork, true},
		{"DST fall back, 02:30", promo.Window{From: "01:00", To: "02:00"}, time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC), newYork, false},
		{"across midnight over DST change", promo.Window{Days: []string{"SAT"}, From: "23:00", To: "03:00"},
			time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), berlin, true}, // 02:30 UTC+1 does not exist; 00:30Z is 01:30 CET, Sunday
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := win(tt.w)
			if err := p.Validate(); err != nil {
				t.Fatalf("window invalid: %v", err)
			}
			in := basket(line("cola", 1, 100))
			in.Now, in.Location = tt.now, tt.loc
			r := promo.Evaluate(in, []promo.Promotion{p})
			if got, want := len(r.Applied) == 1, tt.holds; got != want {
				t.Fatalf("applied %v, want %v (%+v)", got, want, r.Considered)
			}
		})
	}
}

func TestValidate_NamesTheField(t *testing.T) {
	good := pct("p1", 20, 0, promo.Stackable, "cola")
	if err := good.Validate(); err != nil {
		t.Fatalf("good promotion refused: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(p *promo.Promotion)
		field string
	}{
		{"bad id", func(p *promo.Promotion) { p.ID = "has space" }, "id"},
		{"no name", func(p *promo.Promotion) { p.Name = " " }, "name"},
		{"bad scope", func(p *promo.Promotion) { p.Scope = "WORLD" }, "scope"},
		{"city scope without city", func(p *promo.Promotion) { p.Scope = promo.ScopeCity }, "city"},
		{"site scope without site", func(p *promo.Promotion) { p.Scope = promo.ScopeSite }, "siteId"},
		{"bad kind", func(p *promo.Promotion) { p.Kind = "BOGO" }, "kind"},
		{"percent over 100", func(p *promo.Promotion) { p.Percent = 101 }, "percent"},
		{"both percent and amount", func(p *promo.Promotion) { p.AmountOff = 5 }, "percent"},
		{"neither percent nor amount", func(p *promo.Promotion) { p.Percent = 0 }, "percent"},
		{"negative amount", func(p *promo.Promotion) { p.Percent, p.AmountOff = 0, -1 }, "amountOff"},
		{"duplicate product", func(p *promo.Promotion) { p.ProductIDs = []string{"a", "a"} }, "productIds"},
		{"combo without set", func(p *promo.Promotion) { p.Kind, p.ProductIDs, p.ComboSize = promo.KindCombo, nil, 2 }, "productIds"},
		{"combo size 1", func(p *promo.Promotion) { p.Kind, p.ComboSize = promo.KindCombo, 1 }, "comboSize"},
		{"distinct combo larger than set", func(p *promo.Promotion) { p.Kind, p.ComboSize, p.ComboDistinct = promo.KindCombo, 2, true }, "comboSize"},
		{"nth of 1", func(p *promo.Promotion) { p.Kind, p.NthPurchase = promo.KindNthPurchase, 1 }, "nthPurchase"},
		{"nth on a percent", func(p *promo.Promotion) { p.NthPurchase = 5 }, "nthPurchase"},
		{"bad code", func(p *promo.Promotion) { p.Code = "two words" }, "code"},
		{"bad day", func(p *promo.Promotion) { p.Window = &promo.Window{Days: []string{"FUNDAY"}} }, "window.days"},
		{"from without to", func(p *promo.Promotion) { p.Window = &promo.Window{From: "10:00"} }, "window.from"},
		{"bad to", func(p *promo.Promotion) { p.Window = &promo.Window{From: "10:00", To: "24:00"} }, "window.to"},
		{"bad start date", func(p *promo.Promotion) { p.Window = &promo.Window{StartDate: "12/01/2026"} }, "window.startDate"},
		{"end before start", func(p *promo.Promotion) {
			p.Window = &promo.Window{StartDate: "2026-12-02", EndDate: "2026-12-01"}
		}, "window.endDate"},
		{"bad stacking", func(p *promo.Promotion) { p.Stacking = "MAYBE" }, "stacking"},
		{"negative quota", func(p *promo.Promotion) { p.Quota = -1 }, "quota"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.edit(&p)
			err := p.Validate()
			e, ok := errs.As(err)
			if !ok {
				t.Fatalf("Validate = %v, want a domain error", err)
			}
			if got, want := e.Field, tt.field; got != want {
				t.Fatalf("field %q, want %q (%v)", got, want, err)
			}
		})
	}
}
