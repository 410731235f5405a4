package edgeapi_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/jsonappend"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestAppendJSON_SameBytesAsEncodingJSON checks that every hand encoder
// writes exactly what encoding/json writes, with strings that need
// escaping, nil and empty lists, and extreme amounts.
func TestAppendJSON_SameBytesAsEncodingJSON(t *testing.T) {
	odd := []string{"", "VM_0001", `quote " and \ back`, "<b>&amp;</b>", "tab\tnew\nline\x01\x7f", "café ☕", "\u2028\u2029", "bad \xff utf-8", "2026-12-01T10:00:00"}
	money := []wire.Money{0, 1, 9, 10, 99, 100, 105, 1999, -1, -150, math.MaxInt64, math.MinInt64 + 1}
	var rows []edgeapi.SalesRow
	var products []edgeapi.ProductTotal
	for i, s := range odd {
		m := money[i%len(money)]
		rows = append(rows, edgeapi.SalesRow{Key: s, Bucket: odd[(i+1)%len(odd)], Transactions: int64(i) - 3, Quantity: math.MaxInt64 - int64(i),
			Revenue: m, Discount: money[(i+3)%len(money)], GrossRevenue: -m})
		products = append(products, edgeapi.ProductTotal{ProductID: s, Name: odd[(i+2)%len(odd)], Transactions: int64(i), Quantity: math.MinInt64 + int64(i), Revenue: m})
	}
	var moves []edgeapi.StockMovement
	for i, s := range odd {
		m := edgeapi.StockMovement{Key: s, MachineID: odd[(i+1)%len(odd)], ProductID: odd[(i+2)%len(odd)], Type: "sale", Quantity: int64(-i),
			PerformedBy: odd[(i+3)%len(odd)], PerformedAt: time.Date(2026, 12, 1, 10, i, i, i*1001, time.UTC), Sequence: math.MaxUint64 - uint64(i)}
		if i%2 == 0 {
			after := int64(i * 7)
			m.After, m.VanID = &after, s
		}
		if i == 3 {
			m.PerformedAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
		}
		moves = append(moves, m)
	}
	next := 500
	var pays []edgeapi.Payment
	for i, s := range odd {
		p := edgeapi.Payment{PaymentID: int64(i) * 1e12, TransactionID: s, MachineID: odd[(i+1)%len(odd)], ProductID: odd[(i+2)%len(odd)],
			Quantity: int64(i), Method: "CARD", MethodName: odd[(i+3)%len(odd)], Amount: money[i%len(money)], Refunded: money[(i+5)%len(money)],
			Status: "CAPTURED", Day: "2026-12-01", SoldAt: time.Date(2026, 12, 1, 10, i, 0, i*7, time.UTC),
			CreatedAt: time.Date(2026, 12, 1, 10, i, 1, 0, time.UTC), UpdatedAt: time.Date(2026, 12, 2, 0, 0, 0, 0, time.FixedZone("X", -3600))}
		switch i % 4 {
		case 0:
			p.Card = &edgeapi.CardPayment{Reference: s, Last4: "4242"}
		case 1:
			p.Card, p.GatewayID, p.Failure = &edgeapi.CardPayment{Last4: "1"}, s, odd[(i+4)%len(odd)]
		case 2:
			p.Card = &edgeapi.CardPayment{}
		}
		if i == 5 {
			p.History = []edgeapi.PaymentChange{{N: 1, To: "CAPTURED", Amount: 250}}
		}
		pays = append(pays, p)
	}
	tests := []struct {
		name string
		v    jsonappend.Appender
	}{
		{"payments", edgeapi.PaymentList{Payments: pays}},
		{"no payments", edgeapi.PaymentList{}},
		{"empty payments", edgeapi.PaymentList{Payments: []edgeapi.Payment{}}},
		{"stock movements", edgeapi.StockMovementList{Movements: moves, NextOffset: &next}},
		{"stock movements, last page", edgeapi.StockMovementList{Movements: moves[:2]}},
		{"no stock movements", edgeapi.StockMovementList{}},
		{"empty stock movements", edgeapi.StockMovementList{Movements: []edgeapi.StockMovement{}}},
		{"sales", edgeapi.SalesAnswer{From: odd[3], GroupBy: "product", Rows: rows, Site: odd[5], Timezone: "Asia/Kolkata", To: odd[8],
			Totals: edgeapi.Totals{Transactions: 7, Quantity: -7, Revenue: 12345, Discount: -5, GrossRevenue: math.MaxInt64}, Window: "hour"}},
		{"sales without rows", edgeapi.SalesAnswer{}},
		{"sales with no rows", edgeapi.SalesAnswer{Rows: []edgeapi.SalesRow{}}},
		{"top", edgeapi.TopAnswer{From: odd[2], Products: products, Site: odd[7], Timezone: "UTC", To: odd[6]}},
		{"top without products", edgeapi.TopAnswer{}},
		{"top with no products", edgeapi.TopAnswer{Products: []edgeapi.ProductTotal{}}},
		{"sale", edgeapi.SaleResult{Status: "ACCEPTED", TransactionID: "tx-123456", Sequence: 123456}},
		{"sale, odd id", edgeapi.SaleResult{Status: odd[4], TransactionID: odd[3], Sequence: math.MaxUint64, Replayed: true}},
		{"sale, empty flags", edgeapi.SaleResult{Status: "ACCEPTED", TransactionID: odd[0], Flags: []string{}}},
		{"sale, flags", edgeapi.SaleResult{Status: "ACCEPTED", TransactionID: odd[1], Sequence: 1, Flags: []string{"SOLD_EXPIRED", odd[5], odd[7]}}},
		{"sale, pricing", edgeapi.SaleResult{Status: "ACCEPTED", TransactionID: odd[2], Sequence: 2, Flags: []string{"SOLD_ON_HOLD"},
			Pricing: &edgeapi.SalePricing{ListAmount: 250, Discount: 50, Amount: 200, Promotions: []edgeapi.AppliedPromotion{{PromotionID: odd[3], Discount: 50}}}}},
		{"sale, pricing without promotions", edgeapi.SaleResult{Status: "ACCEPTED", TransactionID: "t", Pricing: &edgeapi.SalePricing{ListAmount: math.MaxInt64}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.v.AppendJSON([]byte("x")); string(got) != "x"+string(want) {
				t.Fatalf("AppendJSON =\n%s\nencoding/json =\n%s", got[1:], want)
			}
		})
	}
}

// BenchmarkSalesAnswerJSON encodes a 480-row time series (20 products × 24
// hours) with encoding/json (reflection, a Marshaler call per amount) and
// with AppendJSON into a reused buffer.
func BenchmarkSalesAnswerJSON(b *testing.B) {
	ans := edgeapi.SalesAnswer{From: "2026-12-01T00:00:00", To: "2026-12-02T00:00:00", GroupBy: "product", Window: "hour", Site: "bench", Timezone: "Asia/Kolkata"}
	for i := range 480 {
		ans.Rows = append(ans.Rows, edgeapi.SalesRow{Key: "P0" + string(rune('0'+i%10)) + string(rune('0'+i/10%10)), Bucket: "2026-12-01T10:00:00",
			Transactions: int64(i), Quantity: int64(i), Revenue: wire.Money(i * 125), GrossRevenue: wire.Money(i * 125)})
	}
	type plain edgeapi.SalesAnswer
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(plain(ans)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for range b.N {
			buf = ans.AppendJSON(buf[:0])
		}
	})
}
