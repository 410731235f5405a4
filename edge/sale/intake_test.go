package sale

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestLogSale_RoundTrips: a sale's intake log record gives back the same
// sale, in the plain form (a machine's usual body) and in JSON (the rest).
func TestLogSale_RoundTrips(t *testing.T) {
	q, a, neg := int64(3), wire.Money(1250), wire.Money(-5)
	now := time.Unix(1767225600, 987654321)
	for _, in := range []In{
		{TransactionID: "tx-1", MachineID: "VM_0001", ProductID: "P001", Quantity: &q, Amount: &a, PaymentMethod: "CARD", Timestamp: "2026-03-01T09:00:00Z"},
		{TransactionID: "", MachineID: "m", ProductID: "ünïcode", Quantity: &q, Amount: &neg, PaymentMethod: "X", Timestamp: ""},
		{TransactionID: "tx-2", MachineID: "VM", Quantity: &q, Amount: &a, PaymentMethod: "CARD", Card: &edgeapi.CardPayment{Reference: "r1", Last4: "4242"}},
		{TransactionID: "tx-3", MachineID: "VM", Amount: &a, PaymentMethod: "CASH", Lines: []LineIn{{ProductID: "P1", Quantity: &q}}, Code: "SPRING"},
		{TransactionID: "tx-4", MachineID: "VM", ProductID: "P1", Amount: &a, PaymentMethod: "CASH"}, // no quantity: JSON
	} {
		data, err := logSale(in, now)
		if err != nil {
			t.Fatal(err)
		}
		if wantPlain := in.plain(); (data[8] == 'P') != wantPlain {
			t.Fatalf("%+v: plain record %v, want %v", in, data[8] == 'P', wantPlain)
		}
		var got In
		if data[8] == 'P' {
			if got, err = parsePlain(data[8:]); err != nil {
				t.Fatal(err)
			}
		} else if err := json.Unmarshal(data[8:], &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
		}
	}
	for _, bad := range [][]byte{nil, []byte("P"), []byte("P\x05ab"), append(appendPlain(nil, In{Quantity: &q, Amount: &a}), 0)} {
		if _, err := parsePlain(bad); err == nil {
			t.Fatalf("parsePlain(%q) took a bad record", bad)
		}
	}
}
