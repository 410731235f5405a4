package api_test

import (
	"encoding/json"
	"testing"

	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/web"
)

// BenchmarkSaleBody measures the two JSON steps of one POST /events/sales
// on the server: decoding the body under the strict rules (web.DecodeBytes:
// duplicate and case-folded keys, UTF-8, control characters, then
// encoding/json) and encoding the answer.
func BenchmarkSaleBody(b *testing.B) {
	body := []byte(`{"transactionId":"tx-123456","machineId":"VM_0003","productId":"P007","quantity":1,"amount":17,"paymentMethod":"CARD","timestamp":"2026-12-01T10:00:00Z"}`)
	b.Run("decode-strict", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var in sale.In
			if err := web.DecodeBytes(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-plain", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var in sale.In
			if err := json.Unmarshal(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-answer", func(b *testing.B) {
		b.ReportAllocs()
		ans := edgeapi.SaleResult{Status: "ACCEPTED", TransactionID: "tx-123456", Sequence: 123456}
		for range b.N {
			if _, err := json.Marshal(ans); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append-answer", func(b *testing.B) {
		b.ReportAllocs()
		ans := edgeapi.SaleResult{Status: "ACCEPTED", TransactionID: "tx-123456", Sequence: 123456}
		var buf []byte
		for range b.N {
			buf = ans.AppendJSON(buf[:0])
		}
	})
}
