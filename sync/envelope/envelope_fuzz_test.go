package envelope

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzBatch decodes arbitrary bytes the way central's aggregator does
// (json.Unmarshal into a Batch, then Validate) and checks that a batch
// Validate accepts is what the contract says: one valid site, events
// First..Last in order, all of that site, and that it survives a round trip
// through JSON unchanged. Every event's data is decoded into its kind's type
// too: nothing may panic.
func FuzzBatch(f *testing.F) {
	ev := func(seq uint64, kind Kind, data string) Event {
		return Event{V: Version, Site: "blr", Seq: seq, Kind: kind, Time: time.Unix(1_700_000_000, 0).UTC(), Data: json.RawMessage(data)}
	}
	good := Batch{V: Version, Site: "blr", TZ: "Asia/Kolkata", First: 7, Last: 8, Events: []Event{
		ev(7, KindSale, `{"transactionId":"T1","machineId":"VM_1","productId":"P1","quantity":1,"amountCents":150,"paymentMethod":"CASH","city":"Bangalore","location":"A"}`),
		ev(8, KindTelemetry, `{"machineId":"VM_1","temperature":4.5,"reason":"SUMMARY"}`),
	}}
	b, err := json.Marshal(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"v":1,"site":"x","first":1,"last":18446744073709551615,"events":[]}`))
	f.Add([]byte(`{"v":99,"site":"hub","first":0,"last":0,"events":null}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Batch
		if json.Unmarshal(data, &b) != nil {
			return
		}
		for _, e := range b.Events {
			decodeData(e)
		}
		if b.Validate() != nil {
			return
		}
		if ValidateSiteID(b.Site) != nil || b.V > Version || b.First == 0 || b.Last < b.First {
			t.Fatalf("Validate accepted %+v", b)
		}
		for i, e := range b.Events {
			if e.Site != b.Site || e.Seq != b.First+uint64(i) {
				t.Fatalf("Validate accepted event %d = %s/%d in batch %s", i, e.Site, e.Seq, b.MsgID())
			}
		}
		if id := b.MsgID(); !strings.HasPrefix(id, b.Site+":") || strings.Count(id, ":") != 1 {
			t.Fatalf("MsgID %q of a valid batch is not <site>:<first>-<last>", id)
		}
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("re-encode a valid batch: %v", err)
		}
		var b2 Batch
		if err := json.Unmarshal(again, &b2); err != nil {
			t.Fatalf("decode a re-encoded batch: %v", err)
		}
		if err := b2.Validate(); err != nil {
			t.Fatalf("a valid batch is invalid after a round trip: %v", err)
		}
		if b2.MsgID() != b.MsgID() || len(b2.Events) != len(b.Events) {
			t.Fatalf("round trip changed the batch: %s → %s", b.MsgID(), b2.MsgID())
		}
	})
}

// decodeData decodes an event's data into its kind's type, ignoring errors.
func decodeData(e Event) {
	var v any
	switch e.Kind {
	case KindSale:
		v = &Sale{}
	case KindMachine:
		v = &Machine{}
	case KindInventory:
		v = &Inventory{}
	case KindStock:
		v = &StockMovement{}
	case KindFault:
		v = &Fault{}
	case KindAlert:
		v = &Alert{}
	case KindTelemetry:
		v = &Telemetry{}
	default:
		return
	}
	_ = json.Unmarshal(e.Data, v)
}

// FuzzParseDownlinkKey checks that a key ParseDownlinkKey accepts has the
// documented shape and is rebuilt exactly by the key constructors.
func FuzzParseDownlinkKey(f *testing.F) {
	for _, k := range []string{ProductKey("VM_1", "P1"), MachineKey("VM_1"), FaultKey(42), PromotionKey("a:b.c"), LeaseKey("q"), "promotion.x:y", "product.a", "x.y.z", "", "...", "fault."} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		kind, ids, err := ParseDownlinkKey(key)
		if err != nil {
			return
		}
		var rebuilt string
		switch kind {
		case DownlinkProduct:
			if len(ids) != 2 {
				t.Fatalf("%q: product with %d ids", key, len(ids))
			}
			rebuilt = ProductKey(ids[0], ids[1])
		case DownlinkMachine:
			rebuilt = MachineKey(ids[0])
		case DownlinkFault:
			rebuilt = DownlinkFault + "." + ids[0]
		case DownlinkDriver:
			rebuilt = DriverKey(ids[0])
		case DownlinkPromotion:
			rebuilt = PromotionKey(ids[0])
		case DownlinkLease:
			rebuilt = LeaseKey(ids[0])
		default:
			t.Fatalf("%q: unknown kind %q", key, kind)
		}
		if rebuilt != key {
			t.Fatalf("%q parsed to %s %v, which builds %q", key, kind, ids, rebuilt)
		}
	})
}

// FuzzParseFrame reads arbitrary bytes the way central's aggregator does
// (ParseFrame, Validate, then DecodeEvent for each event) and checks that
// nothing panics and that a frame Validate accepts covers exactly
// First..Last of one valid site and survives Append → ParseFrame unchanged.
func FuzzParseFrame(f *testing.F) {
	ev := Event{V: Version, Site: "blr", Seq: 7, Kind: KindSale, Time: time.Unix(1_700_000_000, 0).UTC(),
		Data: json.RawMessage(`{"transactionId":"T1","machineId":"VM_1","productId":"P1","quantity":1,"amountCents":150}`)}
	b := Batch{V: Version, Site: "blr", TZ: "Asia/Kolkata", First: 7, Last: 7, Events: []Event{ev}}
	fr, err := b.Frame()
	if err != nil {
		f.Fatal(err)
	}
	v2, err := fr.Append(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v2)
	if v1, err := json.Marshal(b); err == nil {
		f.Add(v1)
	}
	f.Add([]byte("{\"v\":2,\"site\":\"x\",\"first\":1,\"last\":1}\n\n"))
	f.Add([]byte("{\"v\":2,\"site\":\"x\",\"first\":1,\"last\":18446744073709551615}\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := ParseFrame(data)
		if err != nil {
			return
		}
		for _, raw := range fr.Events {
			if e, err := DecodeEvent(raw); err == nil {
				decodeData(e)
			}
		}
		if fr.Validate() != nil {
			return
		}
		if ValidateSiteID(fr.Site) != nil || fr.First == 0 || fr.Last < fr.First || uint64(len(fr.Events)) != fr.Last-fr.First+1 {
			t.Fatalf("Validate accepted %s with %d events", fr.MsgID(), len(fr.Events))
		}
		if !strings.HasPrefix(fr.MsgID(), fr.Site+":") {
			t.Fatalf("MsgID %q does not start with the site", fr.MsgID())
		}
		if fr.V < 2 {
			return // a v1 object is re-framed as v2 only by a v2 writer
		}
		out, err := fr.Append(nil)
		if err != nil {
			return // an event that is not JSON: refused when decoded
		}
		again, err := ParseFrame(out)
		if err != nil {
			t.Fatalf("a valid frame does not parse after Append: %v", err)
		}
		if again.MsgID() != fr.MsgID() || len(again.Events) != len(fr.Events) {
			t.Fatalf("Append → ParseFrame changed %s (%d events) into %s (%d)", fr.MsgID(), len(fr.Events), again.MsgID(), len(again.Events))
		}
	})
}
