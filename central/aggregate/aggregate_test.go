package aggregate

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

var t0 = time.Date(2026, 5, 1, 22, 30, 0, 0, time.UTC)

func event(t *testing.T, site string, seq uint64, kind envelope.Kind, at time.Time, data any) envelope.Event {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return envelope.Event{V: envelope.Version, Site: site, Seq: seq, Kind: kind, Time: at, Data: raw}
}

func sale(tx, machine, product string, cents int64, stock *int64) envelope.Sale {
	return envelope.Sale{TransactionID: tx, MachineID: machine, ProductID: product, Quantity: 1, AmountCents: cents, City: "Paris", StockAfter: stock}
}

func frame(t *testing.T, tz string, first uint64, evs ...envelope.Event) *envelope.Frame {
	t.Helper()
	b := &envelope.Batch{V: envelope.Version, Site: "s1", TZ: tz, First: first, Last: first + uint64(len(evs)) - 1, Events: evs}
	f, err := b.Frame()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func decode(t *testing.T, f *envelope.Frame) *Batch {
	t.Helper()
	b, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr(v int64) *int64 { return &v }

func TestDecode_FactsPerKind(t *testing.T) {
	f := frame(t, "Europe/Paris", 1,
		event(t, "s1", 1, envelope.KindSale, t0, sale("t1", "m1", "p1", 100, nil)),
		event(t, "s1", 2, envelope.KindSale, t0, map[string]any{"transactionId": 5}),
		event(t, "s1", 3, envelope.KindStock, t0, envelope.StockMovement{MachineID: "m1", ProductID: "p1", Delta: 3, After: 9}),
		event(t, "s1", 4, envelope.KindFault, t0, envelope.Fault{MachineID: "m1"}),
		event(t, "s1", 5, "future-kind", t0, map[string]any{"x": 1}),
		event(t, "s1", 6, envelope.KindMachine, t0, envelope.Machine{MachineID: "m1", Status: "ACTIVE"}),
	)
	b := decode(t, f)
	if b.Loc.String() != "Europe/Paris" {
		t.Fatalf("loc = %v", b.Loc)
	}
	want := []any{sale("t1", "m1", "p1", 100, nil), nil, StockCount{"m1", "p1", 9, nil}, nil, nil, envelope.Machine{MachineID: "m1", Status: "ACTIVE"}}
	deref := func(v any) any {
		switch f := v.(type) {
		case *envelope.Sale:
			return *f
		case *StockCount:
			c := *f
			c.Movement = nil // the stock event itself, checked by TestDecode_StockEventKeepsMovement
			return c
		case *envelope.Machine:
			return *f
		}
		return v
	}
	for i, w := range want {
		if got := deref(b.Events[i].Fact); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("event %d fact = %#v, want %#v", i+1, got, w)
		}
		if string(b.Events[i].JSON) != string(f.Events[i]) {
			t.Errorf("event %d JSON is not the stored one", i+1)
		}
	}
	if len(b.Sales) != 1 || b.Sales[0] != 0 {
		t.Fatalf("sales = %v, want [0]", b.Sales)
	}
	fresh := []bool{true, true, true, true, true, false}
	tl := Count(b, fresh)
	if got, want := tl, (Tally{Applied: 5, Duplicates: 1, Skipped: 3, LastEvent: t0}); got != want {
		t.Fatalf("Count = %+v, want %+v", got, want)
	}
}

func TestDecode_RefusesForeignOrMisnumberedEvents(t *testing.T) {
	tests := []struct {
		name string
		f    func() *envelope.Frame
	}{
		{"other site", func() *envelope.Frame {
			return frame(t, "UTC", 1, event(t, "s2", 1, envelope.KindSale, t0, sale("t1", "m1", "p1", 1, nil)))
		}},
		{"wrong seq", func() *envelope.Frame {
			return frame(t, "UTC", 1, event(t, "s1", 2, envelope.KindSale, t0, sale("t1", "m1", "p1", 1, nil)))
		}},
		{"not an event", func() *envelope.Frame {
			f := frame(t, "UTC", 1, event(t, "s1", 1, envelope.KindSale, t0, sale("t1", "m1", "p1", 1, nil)))
			f.Events[0] = []byte(`[1,2]`)
			return f
		}},
		{"unknown zone", func() *envelope.Frame {
			return frame(t, "Mars/Olympus", 1, event(t, "s1", 1, envelope.KindSale, t0, sale("t1", "m1", "p1", 1, nil)))
		}},
		{"newer version", func() *envelope.Frame {
			f := frame(t, "UTC", 1, event(t, "s1", 1, envelope.KindSale, t0, sale("t1", "m1", "p1", 1, nil)))
			f.V = envelope.Version + 1
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.f()); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestFacts_NewestSaleCountPerProduct(t *testing.T) {
	b := decode(t, frame(t, "UTC", 1,
		event(t, "s1", 1, envelope.KindSale, t0, sale("t1", "m1", "p1", 1, ptr(5))),
		event(t, "s1", 2, envelope.KindSale, t0, sale("t2", "m1", "p2", 1, ptr(7))),
		event(t, "s1", 3, envelope.KindSale, t0, sale("t3", "m1", "p1", 1, ptr(4))),
		event(t, "s1", 4, envelope.KindSale, t0, sale("t4", "m1", "p1", 1, nil)),
		event(t, "s1", 5, envelope.KindSale, t0, sale("t5", "m1", "p2", 1, ptr(6))),
		event(t, "s1", 6, envelope.KindTelemetry, t0, envelope.Telemetry{MachineID: "m1", PowerStatus: "ON"}),
	))
	got := Facts(b, []bool{true, true, true, true, false, true})
	want := []Fact{
		{Seq: 3, Time: t0, Data: &StockCount{"m1", "p1", 4, nil}},
		{Seq: 2, Time: t0, Data: &StockCount{"m1", "p2", 7, nil}}, // 5 is not new
		{Seq: 6, Time: t0, Data: &envelope.Telemetry{MachineID: "m1", PowerStatus: "ON"}},
	}
	if !reflect.DeepEqual(got, want) {
		for i := range got {
			t.Logf("got %d: %+v %+v", i, got[i], got[i].Data)
		}
		t.Fatalf("Facts differ from %+v", want)
	}
}

func TestCounted_OnlyNewTransactionsCount(t *testing.T) {
	paris, err := Location("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	b := decode(t, frame(t, "UTC", 1,
		event(t, "s1", 1, envelope.KindSale, t0, sale("t1", "m1", "p1", 100, nil)),
		event(t, "s1", 2, envelope.KindSale, t0, sale("t2", "m1", "p1", 20, nil)),
		event(t, "s1", 3, envelope.KindSale, t0, sale("t3", "m1", "p1", 3, nil)),
	))
	site := func(d *Deltas, loc *time.Location) Totals {
		r := Row{DimSite, string(bucket.Day), "s1", "Paris", bucket.Key(bucket.Day, t0, loc), "s1"}
		if v := d.Rows[r]; v != nil {
			return *v
		}
		return Totals{}
	}
	tests := []struct {
		name   string
		fresh  []bool
		counts []bool
		loc    *time.Location
		want   Totals
	}{
		{"all new", []bool{true, true, true}, []bool{true, true, true}, time.UTC, Totals{3, 3, 123}},
		{"one event held", []bool{false, true, true}, []bool{true, true}, time.UTC, Totals{2, 2, 23}},
		{"one transaction held", []bool{true, true, true}, []bool{true, false, true}, time.UTC, Totals{2, 2, 103}},
		{"the site's zone", []bool{true, true, true}, []bool{false, true, true}, paris, Totals{2, 2, 23}},
		{"none", []bool{true, true, true}, []bool{false, false, false}, time.UTC, Totals{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := site(b.Deltas, time.UTC)
			d := Counted(b, tt.fresh, tt.counts, tt.loc)
			if got := site(d, tt.loc); got != tt.want {
				t.Fatalf("site day total = %+v, want %+v", got, tt.want)
			}
			if tt.want == (Totals{}) && len(d.Rows) != 0 {
				t.Fatalf("%d rows left without sales", len(d.Rows))
			}
			if got := site(b.Deltas, time.UTC); got != before {
				t.Fatalf("Counted changed the batch's deltas: %+v, was %+v", got, before)
			}
		})
	}
}

func TestDeltas_SaleCountsInEveryRow(t *testing.T) {
	d := NewDeltas()
	d.AddSale(Sale{Site: "s1", City: "Paris", Machine: "m1", Product: "p1", Quantity: 2, Revenue: 300, At: t0}, time.UTC)
	// 7 rows per window: machine, site, city, city scope, product, product
	// in city scope, product fleet-wide.
	if got, want := len(d.Rows), 7*len(bucket.All); got != want {
		t.Fatalf("rows = %d, want %d", got, want)
	}
	for r, v := range d.Rows {
		if *v != (Totals{1, 2, 300}) {
			t.Fatalf("%+v = %+v", r, *v)
		}
	}
	if _, ok := d.Scopes[Scope{"s1", "Paris"}]; !ok || len(d.Scopes) != 1 {
		t.Fatalf("scopes = %v", d.Scopes)
	}
}

func TestDecode_StockEventKeepsMovement(t *testing.T) {
	mv := envelope.StockMovement{MovementID: "v1:1", MachineID: "m1", ProductID: "p1", Reason: "RESTOCK", Delta: 3, After: 9, By: "d", VanID: "van1"}
	b := decode(t, frame(t, "UTC", 1, event(t, "s1", 1, envelope.KindStock, t0, mv)))
	c, ok := b.Events[0].Fact.(*StockCount)
	if !ok || c.Movement == nil {
		t.Fatalf("fact = %#v, want a stock count with its movement", b.Events[0].Fact)
	}
	if got, want := *c.Movement, mv; got != want {
		t.Fatalf("movement = %+v, want %+v", got, want)
	}
}
