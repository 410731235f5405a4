package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// Emit encodes the envelope in one pass; the bytes must be those of
// envelope.Event with its data encoded first, which central decodes.
func TestOutEvent_SameBytesAsEnvelope(t *testing.T) {
	after := int64(3)
	at := time.Date(2026, 11, 2, 10, 4, 5, 123456789, time.FixedZone("IST", 5*3600+1800))
	tests := []struct {
		name string
		data any
	}{
		{"sale", envelope.Sale{TransactionID: "tx-1", MachineID: "VM_1", ProductID: "P<1>&", Quantity: 2, AmountCents: 250,
			PaymentMethod: "CARD", City: "Bangalore", Location: "Bangalore/B1 \u2028", StockAfter: &after}},
		{"map", map[string]any{"id": "x", "n": 1.5, "list": []int{1, 2}}},
		{"nil", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(envelope.Event{V: envelope.Version, Site: "s1", Seq: 7, Kind: envelope.KindSale, Time: at.UTC(), Data: raw})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(outEvent{V: envelope.Version, Site: "s1", Seq: 7, Kind: envelope.KindSale, Time: at.UTC(), Data: tc.data})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("outEvent encodes\n%s\nenvelope.Event encodes\n%s", got, want)
			}
		})
	}
}

// CountSale's deltas reach sales_agg whatever mix of multi-row and
// single-row upserts flush uses, and add to the rows already there.
func TestCountSale_FlushesEveryBucket(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		keys int // distinct keys; × 4 windows = rows flushed
	}{
		{"one four-row statement", 1}, // 4 rows
		{"eight-row statements", 2},   // 8 rows
		{"all sizes", 45},             // 180 rows: 5 × 32, 16, 4
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := openWriter(t)
			for round := range 2 {
				err := w.Do(context.Background(), func(tx *Tx) error {
					for k := range tc.keys {
						id := fmt.Sprintf("VM_%02d", k)
						tx.CountSale("machine", id, at, 2, 150)
						tx.CountSale("machine", id, at.Add(time.Minute), 1, 50)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if got, want := count(t, w, `SELECT COUNT(*) FROM sales_agg`), int64(4*tc.keys); got != want {
				t.Fatalf("%d aggregate rows, want %d", got, want)
			}
			for _, q := range []struct {
				sql  string
				want int64
			}{
				{`SELECT COUNT(*) FROM sales_agg WHERE tx_count = 4 AND quantity = 6 AND revenue_cents = 400`, int64(4 * tc.keys)},
				{`SELECT COUNT(DISTINCT win) FROM sales_agg`, 4},
			} {
				if got := count(t, w, q.sql); got != q.want {
					t.Fatalf("%s = %d, want %d", q.sql, got, q.want)
				}
			}
		})
	}
}
