package aggregate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// checkSaleEvent holds decodeSaleEvent to encoding/json for raw: when it
// accepts raw, envelope.DecodeEvent and decodeFact must accept it too and
// give the same event and sale. It reports whether the fast path accepted.
func checkSaleEvent(t testing.TB, raw []byte, site string) bool {
	t.Helper()
	seq, at, s, ok := decodeSaleEvent(raw, site)
	if !ok {
		return false
	}
	e, err := envelope.DecodeEvent(raw)
	if err != nil {
		t.Fatalf("fast path accepted what encoding/json refuses (%v):\n%s", err, raw)
	}
	if e.Site != site || e.Kind != envelope.KindSale || e.Seq != seq {
		t.Fatalf("event = %s/%s/%d, fast path %s/sale/%d:\n%s", e.Site, e.Kind, e.Seq, site, seq, raw)
	}
	if !e.Time.Equal(at) || e.Time.Location().String() != at.Location().String() || e.Time.String() != at.String() {
		t.Fatalf("time = %v, fast path %v:\n%s", e.Time, at, raw)
	}
	want, _ := decodeFact(e.Kind, e.Data).(*envelope.Sale)
	if want == nil {
		t.Fatalf("fast path decoded a sale that decodeFact drops:\n%s", raw)
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("sale = %#v\nwant   %#v\nfrom %s", s, want, raw)
	}
	return true
}

// saleStrings are plain (their JSON has no escape); hardStrings are not.
var (
	saleStrings = []string{"", "t-1", "m1", "p30", "CARD", "Paris", "München", "東京", "ok 😀", "a'b", strings.Repeat("z", 300)}
	hardStrings = []string{"a\"b", `x\y`, "<tag>&", "line\nbreak", "\u2028", "bad\xffutf8", "tab\t", "\x00", "\x7f"}
)

var saleInts = []int64{0, 1, -1, 150, 9, -250, math.MaxInt64, math.MinInt64, 1 << 53, 1e15}

func randSale(r *rand.Rand) envelope.Sale {
	str := func() string {
		if r.IntN(40) == 0 {
			return hardStrings[r.IntN(len(hardStrings))]
		}
		return saleStrings[r.IntN(len(saleStrings))]
	}
	key := func() string {
		if r.IntN(8) == 0 {
			return str()
		}
		return fmt.Sprintf("k%d", r.IntN(1000)+1)
	}
	num := func() int64 {
		if r.IntN(3) == 0 {
			return saleInts[r.IntN(len(saleInts))]
		}
		return r.Int64N(100000) - 100
	}
	opt := func() *int64 {
		if r.IntN(2) == 0 {
			return nil
		}
		v := num()
		return &v
	}
	s := envelope.Sale{TransactionID: key(), MachineID: key(), ProductID: key(), Quantity: num(), AmountCents: num(),
		PaymentMethod: str(), City: str(), Location: str(), StockAfter: opt(), CogsCents: opt()}
	if r.IntN(3) == 0 {
		s.ListCents, s.DiscountCents, s.BasketID = num(), num(), str()
		for range r.IntN(3) {
			s.Promotions = append(s.Promotions, envelope.SalePromotion{PromotionID: str(), DiscountCents: num()})
		}
	}
	for range r.IntN(3) {
		s.Lots = append(s.Lots, envelope.LotUse{LotID: num(), Quantity: num(), After: num(), UnitCostCents: opt()})
	}
	for range r.IntN(3) {
		s.Flags = append(s.Flags, []string{envelope.FlagSoldExpired, envelope.FlagSoldOnHold, str()}[r.IntN(3)])
	}
	return s
}

func randTime(r *rand.Rand) time.Time {
	at := time.Unix(r.Int64N(4e9), r.Int64N(1e9)*int64(r.IntN(2))).UTC()
	switch r.IntN(3) {
	case 0:
		at = at.In(time.FixedZone("", (r.IntN(28)-14)*3600))
	case 1:
		at = at.Truncate(time.Second)
	}
	return at
}

func saleEventJSON(t testing.TB, site string, seq uint64, at time.Time, s any) []byte {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(envelope.Event{V: envelope.Version, Site: site, Seq: seq, Kind: envelope.KindSale, Time: at, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// plain reports whether every string of s decodes as its bytes (no escape
// in its JSON): the sales the fast path must take.
func plain(s envelope.Sale) bool {
	ok := func(v string) bool {
		b, _ := json.Marshal(v)
		return !bytes.ContainsRune(b, '\\')
	}
	all := ok(s.TransactionID) && ok(s.MachineID) && ok(s.ProductID) && ok(s.PaymentMethod) && ok(s.City) &&
		ok(s.Location) && ok(s.BasketID) && s.TransactionID != "" && s.MachineID != "" && s.ProductID != ""
	for _, p := range s.Promotions {
		all = all && ok(p.PromotionID)
	}
	for _, f := range s.Flags {
		all = all && ok(f)
	}
	return all
}

// TestDecodeSaleEvent_SameAsEncodingJSON decodes random sales as sites write
// them (compact, and indented), and byte-level mutations of them: whatever
// the fast path accepts, encoding/json decodes to the same event and sale;
// the plain ones it must accept.
func TestDecodeSaleEvent_SameAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 7))
	marks := []byte(`"\{}[],:0-.eE nul` + "\x80\x01\t")
	var fast, mutated, mutatedFast int
	for i := range 4000 {
		s := randSale(r)
		site := []string{"s1", "site-042", "s\"1"}[r.IntN(3)]
		raw := saleEventJSON(t, site, r.Uint64N(1<<40), randTime(r), s)
		want := plain(s) && site != "s\"1"
		if got := checkSaleEvent(t, raw, site); got != want {
			t.Fatalf("sale %d: fast path took it = %v, want %v:\n%s", i, got, want, raw)
		}
		if want {
			fast++
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, raw, " ", "\t"); err != nil {
			t.Fatal(err)
		}
		if got := checkSaleEvent(t, ind.Bytes(), site); got != want {
			t.Fatalf("indented sale %d: fast path took it = %v, want %v:\n%s", i, got, want, ind.Bytes())
		}
		for range 8 {
			m := bytes.Clone(raw)
			switch j := r.IntN(len(m)); r.IntN(4) {
			case 0:
				m[j] = marks[r.IntN(len(marks))]
			case 1:
				m = append(m[:j], m[j+1:]...)
			case 2:
				m = m[:j]
			case 3:
				k := min(len(m), j+r.IntN(12))
				m = append(m[:k], append(bytes.Clone(m[j:k]), m[k:]...)...)
			}
			mutated++
			if checkSaleEvent(t, m, site) {
				mutatedFast++
			}
		}
	}
	t.Logf("%d of 4000 sales on the fast path; %d of %d mutations", fast, mutatedFast, mutated)
	if fast < 1000 {
		t.Fatalf("only %d sales took the fast path", fast)
	}
}

// TestDecodeSaleEvent_Declines lists the forms the fast path leaves to
// encoding/json, and some it takes; in each case the property of
// checkSaleEvent holds.
func TestDecodeSaleEvent_Declines(t *testing.T) {
	const (
		head = `{"v":2,"site":"s1","seq":7,"kind":"sale","time":"2026-05-01T10:00:00Z","data":`
		sale = `{"transactionId":"t1","machineId":"m1","productId":"p1","quantity":1,"amountCents":150,"paymentMethod":"CARD","city":"Paris","location":"L"}`
	)
	with := func(old, new string) string { return head + strings.Replace(sale, old, new, 1) + `}` }
	tests := []struct {
		name string
		raw  string
		fast bool
	}{
		{"plain", head + sale + `}`, true},
		{"whitespace", " {\"v\" : 2 ,\n\"site\":\"s1\",\t\"seq\":7,\"kind\":\"sale\",\"time\":\"2026-05-01T10:00:00Z\",\"data\": " + sale + " } \n", true},
		{"empty arrays", with(`"location":"L"`, `"location":"L","lots":[],"flags":[],"promotions":[]`), true},
		{"lots and flags", with(`"location":"L"`, `"location":"L","stockAfter":-3,"lots":[{"lotId":4,"quantity":1,"after":0,"unitCostCents":80}],"flags":["SOLD_EXPIRED"],"cogsCents":80`), true},
		{"negative zero", with(`"quantity":1`, `"quantity":-0`), true},
		{"utf8", with(`"Paris"`, `"München"`), true},
		{"unknown sale key", with(`"location":"L"`, `"location":"L","extra":1`), false},
		{"unknown event key", `{"extra":1,` + head[1:] + sale + `}`, false},
		{"key case", with(`"city"`, `"City"`), false},
		{"repeated key", with(`"city":"Paris"`, `"city":"Paris","city":"Rome"`), false},
		{"repeated event key", head + sale + `,"seq":8}`, false},
		{"escape", with(`"Paris"`, `"Pa\u0072is"`), false},
		{"escaped key", with(`"city"`, `"c\u0069ty"`), false},
		{"invalid utf8", with(`"Paris"`, "\"Pa\xffris\""), false},
		{"control char", with(`"Paris"`, "\"Pa\x01ris\""), false},
		{"null string", with(`"Paris"`, `null`), false},
		{"null pointer", with(`"location":"L"`, `"location":"L","stockAfter":null`), false},
		{"null lots", with(`"location":"L"`, `"location":"L","lots":null`), false},
		{"fraction", with(`"quantity":1`, `"quantity":1.0`), false},
		{"exponent", with(`"quantity":1`, `"quantity":1e0`), false},
		{"leading zero", with(`"quantity":1`, `"quantity":01`), false},
		{"plus sign", with(`"quantity":1`, `"quantity":+1`), false},
		{"overflow", with(`"quantity":1`, `"quantity":9223372036854775808`), false},
		{"quoted number", with(`"quantity":1`, `"quantity":"1"`), false},
		{"negative seq", strings.Replace(head, `"seq":7`, `"seq":-7`, 1) + sale + `}`, false},
		{"string as number", with(`"city":"Paris"`, `"city":5`), false},
		{"missing transaction", with(`"transactionId":"t1",`, ``), false},
		{"empty machine", with(`"machineId":"m1"`, `"machineId":""`), false},
		{"other site", strings.Replace(head, `"s1"`, `"s2"`, 1) + sale + `}`, false},
		{"other kind", strings.Replace(head, `"sale"`, `"stock"`, 1) + sale + `}`, false},
		{"data before kind", `{"data":` + sale + `,"v":2,"site":"s1","seq":7,"kind":"sale","time":"2026-05-01T10:00:00Z"}`, false},
		{"bad time", strings.Replace(head, `2026-05-01T10:00:00Z`, `2026-05-01 10:00`, 1) + sale + `}`, false},
		{"trailing data", head + sale + `}x`, false},
		{"trailing comma", with(`"location":"L"`, `"location":"L",`), false},
		{"truncated", head + sale, false},
		{"empty object", `{}`, false},
		{"null", `null`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkSaleEvent(t, []byte(tc.raw), "s1"); got != tc.fast {
				t.Fatalf("fast path took it = %v, want %v", got, tc.fast)
			}
		})
	}
}

// TestDecode_FastPathSameBatch decodes batches of plain sales mixed with
// other kinds and sales the fast path declines, many of them in the same
// rows, in zones with DST and half-hour offsets: the batch, its deltas
// included, is what the encoding/json path alone, counting each sale on its
// own, makes of it.
func TestDecode_FastPathSameBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	for range 200 {
		first := r.Uint64N(1000) + 1
		var raws [][]byte
		for j := range 40 {
			seq := first + uint64(j)
			switch r.IntN(4) {
			case 0:
				raws = append(raws, saleEventJSON(t, "s1", seq, randTime(r), map[string]any{"transactionId": "x", "machineId": "m1", "productId": "p", "Quantity": 2}))
			case 1:
				ev := event(t, "s1", seq, envelope.KindStock, randTime(r), envelope.StockMovement{MachineID: "m1", ProductID: "p1", After: 3})
				raw, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				raws = append(raws, raw)
			case 2:
				raws = append(raws, saleEventJSON(t, "s1", seq, randTime(r), randSale(r)))
			default:
				// Few machines, products and cities, around a DST change:
				// many sales share a row.
				s := randSale(r)
				s.MachineID, s.ProductID, s.City = fmt.Sprintf("m%d", r.IntN(3)), fmt.Sprintf("p%d", r.IntN(4)), []string{"Paris", "Pune"}[r.IntN(2)]
				s.TransactionID = fmt.Sprintf("t%d", seq)
				at := []time.Time{dstStart, dstEnd}[r.IntN(2)].Add(time.Duration(r.Int64N(int64(5*time.Hour))) - 2*time.Hour)
				raws = append(raws, saleEventJSON(t, "s1", seq, at, s))
			}
		}
		tz := []string{"Europe/Paris", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe", "UTC", ""}[r.IntN(6)]
		f := &envelope.Frame{Header: envelope.Header{V: envelope.Version, Site: "s1", TZ: tz, First: first, Last: first + 39}, Events: raws}
		got, err := Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		want := decodeSlow(t, f)
		if !reflect.DeepEqual(got.Events, want.Events) || !reflect.DeepEqual(got.Sales, want.Sales) || !reflect.DeepEqual(got.Deltas, want.Deltas) {
			t.Fatalf("Decode differs from the encoding/json path")
		}
	}
}

// Europe's DST changes of 2026, in UTC.
var (
	dstStart = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	dstEnd   = time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC)
)

// decodeSlow is Decode by encoding/json alone, as it was before the fast
// path.
func decodeSlow(t *testing.T, f *envelope.Frame) *Batch {
	t.Helper()
	loc, err := Location(f.TZ)
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{Site: f.Site, TZ: f.TZ, First: f.First, Last: f.Last, Loc: loc, Events: make([]Event, len(f.Events)), Deltas: NewDeltas()}
	for i, raw := range f.Events {
		e, err := envelope.DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		b.Events[i] = Event{Seq: e.Seq, Kind: e.Kind, Time: e.Time, JSON: raw, Fact: decodeFact(e.Kind, e.Data)}
		if s, ok := b.Events[i].Fact.(*envelope.Sale); ok {
			b.Sales = append(b.Sales, i)
			b.Deltas.AddSale(saleOf(b.Site, s, e.Time), loc)
		}
	}
	return b
}

// FuzzDecodeSaleEvent: whatever the fast path accepts, encoding/json
// decodes to the same event and sale.
func FuzzDecodeSaleEvent(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		f.Add(saleEventJSON(f, "s1", r.Uint64N(1e6), randTime(r), randSale(r)))
	}
	f.Add([]byte(`{"v":2,"site":"s1","seq":7,"kind":"sale","time":"2026-05-01T10:00:00Z","data":{"transactionId":"t1","machineId":"m1","productId":"p1","quantity":-0,"lots":[{"lotId":1}],"flags":[]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkSaleEvent(t, raw, "s1")
	})
}
