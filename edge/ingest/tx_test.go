package ingest

import (
	"bytes"
	"encoding/json"
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
