package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testBatch(t *testing.T, n int) *Batch {
	t.Helper()
	at := time.Date(2026, 5, 1, 10, 0, 0, 123, time.FixedZone("x", 3600))
	b := &Batch{V: Version, Site: "s-1_x", TZ: "Europe/Berlin", First: 7, Last: 7 + uint64(n) - 1}
	for i := range n {
		data, err := json.Marshal(Sale{TransactionID: fmt.Sprintf("t\"%d<&>", i), MachineID: "m1", ProductID: "p1", Quantity: 1, AmountCents: 100, City: "Zürich"})
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, Event{V: Version, Site: b.Site, Seq: b.First + uint64(i), Kind: KindSale, Time: at.Add(time.Duration(i) * time.Second), Data: data})
	}
	return b
}

func TestEvent_AppendJSONMatchesMarshal(t *testing.T) {
	b := testBatch(t, 1)
	tests := []struct {
		name string
		mod  func(e *Event)
	}{
		{"sale", func(*Event) {}},
		{"odd kind", func(e *Event) { e.Kind = "odd\"kind<\n>" }},
		{"odd site", func(e *Event) { e.Site = "Zü\x01" }},
		{"no data", func(e *Event) { e.Data = nil }},
		{"zero time", func(e *Event) { e.Time = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := b.Events[0]
			tt.mod(&e)
			want, err := json.Marshal(&e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("AppendJSON = %s\nwant         %s", got, want)
			}
		})
	}
	e := b.Events[0]
	e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := e.AppendJSON(nil); err == nil {
		t.Fatal("AppendJSON encoded a year json.Marshal refuses")
	}
}

// The stored bytes of each event arrive unchanged, whichever framing carried
// them.
func TestParseFrame_BothVersionsCarryStoredEvents(t *testing.T) {
	b := testBatch(t, 3)
	f, err := b.Frame()
	if err != nil {
		t.Fatal(err)
	}
	v2, err := f.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	old := *b
	old.V = 1
	v1, err := json.Marshal(&old)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		data  []byte
		wantV int
	}{{"version 2", v2, 2}, {"version 1", v1, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFrame(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			if got.V != tt.wantV || got.Site != b.Site || got.TZ != b.TZ || got.First != b.First || got.Last != b.Last {
				t.Fatalf("header = %+v, want v%d of %+v", got.Header, tt.wantV, f.Header)
			}
			if len(got.Events) != len(f.Events) {
				t.Fatalf("%d events, want %d", len(got.Events), len(f.Events))
			}
			for i := range got.Events {
				if string(got.Events[i]) != string(f.Events[i]) {
					t.Fatalf("event %d = %s, want %s", i, got.Events[i], f.Events[i])
				}
				e, err := DecodeEvent(got.Events[i])
				if err != nil {
					t.Fatal(err)
				}
				if e.Seq != b.Events[i].Seq || !e.Time.Equal(b.Events[i].Time) || string(e.Data) != string(b.Events[i].Data) {
					t.Fatalf("decoded event %d = %+v, want %+v", i, e, b.Events[i])
				}
			}
		})
	}
}

func TestFrame_AppendCompactsMultiLineEvent(t *testing.T) {
	f := &Frame{Header: Header{V: Version, Site: "s1", First: 1, Last: 2},
		Events: [][]byte{[]byte("{\"seq\": 1,\n \"kind\": \"sale\"}"), []byte(`{"seq":2}`)}}
	data, err := f.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFrame(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if string(got.Events[0]) != `{"seq":1,"kind":"sale"}` || string(got.Events[1]) != `{"seq":2}` {
		t.Fatalf("events = %q", got.Events)
	}
	f.Events[0] = []byte("{\"seq\":\n")
	if _, err := f.Append(nil); err == nil {
		t.Fatal("Append framed an event that is not JSON")
	}
}

func TestFrame_RefusesMalformed(t *testing.T) {
	good := func() []byte {
		f, err := testBatch(t, 2).Frame()
		if err != nil {
			t.Fatal(err)
		}
		data, err := f.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name string
		data func() []byte
	}{
		{"not json", func() []byte { return []byte("hello") }},
		{"empty line", func() []byte { return []byte(strings.Replace(string(good()), "\n", "\n\n", 1)) }},
		{"missing event", func() []byte {
			d := good()
			return d[:strings.LastIndex(strings.TrimSuffix(string(d), "\n"), "\n")+1]
		}},
		{"newer version", func() []byte { return []byte(strings.Replace(string(good()), `{"v":2,`, `{"v":3,`, 1)) }},
		{"bad site", func() []byte {
			return []byte(strings.Replace(string(good()), `"site":"s-1_x","tz"`, `"site":"a.b","tz"`, 1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFrame(tt.data())
			if err == nil {
				err = f.Validate()
			}
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("err = %v, want ErrBadFrame", err)
			}
		})
	}
}
