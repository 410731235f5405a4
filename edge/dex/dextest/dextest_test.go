package dextest

import (
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/dex"
)

// TestRead_ParsesBack: what Read renders, in every shape, parses to the
// meters that were fed in, and the since-reset meters start again.
func TestRead_ParsesBack(t *testing.T) {
	tests := []struct {
		name string
		o    ReadOptions
	}{
		{"enveloped CRLF", ReadOptions{}},
		{"enveloped LF", ReadOptions{LF: true}},
		{"bare", ReadOptions{Bare: true}},
		{"with read time", ReadOptions{At: time.Date(2026, 5, 4, 9, 30, 15, 0, time.UTC)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Machine{Serial: "S1", Model: "M"}
			m.Add("10", "COLA", 150)
			m.Add("11", "", 100)
			m.Vend("10", 2, 300, true)
			m.Vend("11", 1, 100, false)
			m.FreeVend(1, 150)
			a, err := dex.Parse(m.Read(tc.o))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := a.Product("10").Sales.Init, (dex.Counter{Count: 2, Value: 300}); got != want {
				t.Fatalf("selection 10 = %+v, want %+v", got, want)
			}
			if got, want := a.CashSales.Init.Value, int64(300); got != want {
				t.Fatalf("cash = %d, want %d", got, want)
			}
			if got, want := a.HasCRC, !tc.o.Bare; got != want {
				t.Fatalf("CRC verified = %v, want %v", got, want)
			}
			if !tc.o.At.IsZero() && (a.ReadDate != "260504" || a.ReadTime != "093015") {
				t.Fatalf("EA3 = %s %s", a.ReadDate, a.ReadTime)
			}
			b, err := dex.Parse(m.Read(tc.o))
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Product("10").Sales.Reset; got != (dex.Counter{}) {
				t.Fatalf("since reset after a read = %+v, want zero", got)
			}
		})
	}
}
