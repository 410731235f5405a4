package edgeapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/jsonappend"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestAppendJSON_ListsSameBytesAsEncodingJSON checks the fault, alert,
// audit and lot list encoders against encoding/json: strings that need
// escaping, optional fields set and unset, nil and empty lists, audit
// details that encoding/json compacts and escapes.
func TestAppendJSON_ListsSameBytesAsEncodingJSON(t *testing.T) {
	odd := []string{"", "VM_0001", `quote " and \ back`, "<b>&amp;</b>", "tab\tnew\nline\x01\x7f", "café ☕", "\u2028\u2029", "bad \xff utf-8", "2026-12-01T10:00:00"}
	at := func(i int) time.Time { return time.Date(2026, 12, 1, 10, i, i, i*1001, time.UTC) }
	ist := time.FixedZone("IST", 5*3600+1800)
	var faults []edgeapi.Fault
	var alerts []edgeapi.Alert
	var lots []edgeapi.Lot
	for i, s := range odd {
		f := edgeapi.Fault{FaultID: int64(i) * 1e15, MachineID: s, FaultType: odd[(i+1)%len(odd)], Description: odd[(i+2)%len(odd)],
			Status: "OPEN", Timestamp: at(i), ReportedAt: at(i + 1).In(ist), UpdatedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
		a := edgeapi.Alert{AlertID: math.MinInt64 + int64(i), MachineID: s, Type: "LOW_STOCK", Status: "OPEN", CreatedAt: at(i)}
		l := edgeapi.Lot{LotID: math.MaxInt64 - int64(i), MachineID: s, ProductID: odd[(i+3)%len(odd)], Quantity: int64(-i), Status: "SELLABLE", ReceivedAt: at(i).In(ist)}
		if i%2 == 0 {
			r := at(i + 2)
			f.ResolvedAt, f.ResolvedBy, f.Status = &r, odd[(i+4)%len(odd)], "RESOLVED"
			a.ProductID, a.Detail, a.ClosedAt, a.CloseReason, a.Status = s, odd[(i+5)%len(odd)], &r, odd[(i+6)%len(odd)], "CLOSED"
			c := wire.Money(int64(i)*37 - 100)
			l.LotCode, l.ExpiryDate, l.UnitCost, l.Expired = s, "2026-12-0"+string(rune('1'+i%9)), &c, true
		}
		if i == 3 {
			f.ResolvedBy = ""
			c := wire.Money(math.MinInt64 + 1)
			l.UnitCost, l.LotCode = &c, ""
		}
		faults, alerts, lots = append(faults, f), append(alerts, a), append(lots, l)
	}
	details := []json.RawMessage{
		nil,
		json.RawMessage(`{}`),
		json.RawMessage(`{"productId":"P1","price":{"from":1.5,"to":2}}`),
		json.RawMessage(" { \"a\" : [ 1 , 2 ,\n\t3 ] , \"b\" : null } "),
		json.RawMessage(`{"html":"<b>&</b>","sep":"` + "\u2028\u2029" + `","esc":"\u003c\"\\"}`),
		json.RawMessage(`"just a string"`),
		json.RawMessage(`[true,false,-1.5e10]`),
		json.RawMessage(`{"€":"\u20ac ok"}`),
	}
	var entries []edgeapi.AuditEntry
	for i, d := range details {
		entries = append(entries, edgeapi.AuditEntry{ID: int64(i) - 1, EntityType: odd[i%len(odd)], EntityID: odd[(i+1)%len(odd)], Action: odd[(i+2)%len(odd)],
			PerformedBy: odd[(i+3)%len(odd)], PerformedAt: at(i).In(ist), Detail: d})
	}
	tests := []struct {
		name string
		v    jsonappend.Appender
	}{
		{"faults", edgeapi.FaultList{Faults: faults}},
		{"no faults", edgeapi.FaultList{}},
		{"empty faults", edgeapi.FaultList{Faults: []edgeapi.Fault{}}},
		{"alerts", edgeapi.AlertList{Alerts: alerts}},
		{"no alerts", edgeapi.AlertList{}},
		{"empty alerts", edgeapi.AlertList{Alerts: []edgeapi.Alert{}}},
		{"audit", edgeapi.AuditList{Entries: entries}},
		{"no audit", edgeapi.AuditList{}},
		{"empty audit", edgeapi.AuditList{Entries: []edgeapi.AuditEntry{}}},
		// FaultsOf and AuditOf are checked against the lists' own bytes below.
		{"lots", edgeapi.LotList{Lots: lots}},
		{"no lots", edgeapi.LotList{}},
		{"empty lots", edgeapi.LotList{Lots: []edgeapi.Lot{}}},
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

// FaultsOf, AuditOf and StockMovementsOf append the bytes of the lists
// they stand for, an empty list as [] (never null), and AuditOf nothing
// when a detail is not JSON.
func TestAppendJSON_ListsOfSameBytesAsLists(t *testing.T) {
	at := func(i int) time.Time { return time.Date(2026, 12, 1, 10, i, i, 0, time.UTC) }
	for _, n := range []int{0, 1, 7} {
		faults := []edgeapi.Fault{}
		entries := []edgeapi.AuditEntry{}
		for i := range n {
			r := at(i + 1)
			faults = append(faults, edgeapi.Fault{FaultID: int64(i), MachineID: fmt.Sprintf("VM_%d\"", i), FaultType: "JAM", Status: "RESOLVED",
				Timestamp: at(i), ResolvedAt: &r, ResolvedBy: "tech <1>"})
			entries = append(entries, edgeapi.AuditEntry{ID: int64(i), EntityType: "machine", EntityID: fmt.Sprint(i), Action: "x\n",
				PerformedAt: at(i), Detail: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
		}
		fo := edgeapi.FaultsOf{Len: n, At: func(i int) edgeapi.Fault { return faults[i] }}
		if got, want := fo.AppendJSON([]byte("x")), (edgeapi.FaultList{Faults: faults}).AppendJSON([]byte("x")); string(got) != string(want) {
			t.Fatalf("%d faults: FaultsOf =\n%s\nFaultList =\n%s", n, got, want)
		}
		ao := edgeapi.AuditOf{Len: n, At: func(i int) edgeapi.AuditEntry { return entries[i] }}
		if got, want := ao.AppendJSON([]byte("x")), (edgeapi.AuditList{Entries: entries}).AppendJSON([]byte("x")); string(got) != string(want) {
			t.Fatalf("%d entries: AuditOf =\n%s\nAuditList =\n%s", n, got, want)
		}
		var ms []edgeapi.StockMovement
		for i := range n {
			after := int64(i)
			ms = append(ms, edgeapi.StockMovement{Key: fmt.Sprintf("V%d:1", i), MachineID: "M\t1", Type: "restock", Quantity: int64(i - 3),
				After: &after, PerformedBy: "drv", PerformedAt: at(i), VanID: "van", Sequence: uint64(i)})
		}
		ms = append([]edgeapi.StockMovement{}, ms...)
		lots := []edgeapi.Lot{}
		for i := range n {
			l := edgeapi.Lot{LotID: int64(i), MachineID: "M1", ProductID: "P\"1", Quantity: int64(i), Status: "SELLABLE", ReceivedAt: at(i)}
			if i%2 == 1 {
				c := wire.Money(int64(i) * 101)
				l.UnitCost, l.LotCode, l.ExpiryDate, l.Expired = &c, "L1", "2026-12-01", true
			}
			lots = append(lots, l)
		}
		lo := edgeapi.LotsOf{Len: n, At: func(i int) edgeapi.Lot { return lots[i] }}
		if got, want := lo.AppendJSON([]byte("x")), (edgeapi.LotList{Lots: lots}).AppendJSON([]byte("x")); string(got) != string(want) {
			t.Fatalf("%d lots: LotsOf =\n%s\nLotList =\n%s", n, got, want)
		}
		for _, next := range []*int{nil, &n} {
			mo := edgeapi.StockMovementsOf{Len: n, At: func(i int) edgeapi.StockMovement { return ms[i] }, NextOffset: next}
			want := (edgeapi.StockMovementList{Movements: ms, NextOffset: next}).AppendJSON([]byte("x"))
			if got := mo.AppendJSON([]byte("x")); string(got) != string(want) {
				t.Fatalf("%d movements: StockMovementsOf =\n%s\nStockMovementList =\n%s", n, got, want)
			}
		}
		if n > 0 {
			entries[n-1].Detail = json.RawMessage("{")
			if got := ao.AppendJSON([]byte("x")); string(got) != "x" {
				t.Fatalf("%d entries, the last detail not JSON: AuditOf = %q, want nothing appended", n, got)
			}
		}
	}
}

// TestAppendJSON_AuditWithInvalidDetailAppendsNothing: encoding/json
// refuses an entry whose detail is not JSON, so the list's encoder appends
// nothing rather than a different answer.
func TestAppendJSON_AuditWithInvalidDetailAppendsNothing(t *testing.T) {
	for _, d := range []string{"", "{", `{"a":1}x`, "nul"} {
		l := edgeapi.AuditList{Entries: []edgeapi.AuditEntry{{ID: 1, Detail: json.RawMessage(`{}`)}, {ID: 2, Detail: json.RawMessage(d)}}}
		if _, err := json.Marshal(l); err == nil {
			t.Fatalf("detail %q: encoding/json accepted it", d)
		}
		if got := l.AppendJSON([]byte("x")); string(got) != "x" {
			t.Fatalf("detail %q: AppendJSON = %q, want nothing appended", d, got)
		}
	}
}
