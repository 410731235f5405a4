package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestReports_DEX: the reconciliation and cash reports answer a finance
// user per group with totals, and refuse a bad query naming its field.
func TestReports_DEX(t *testing.T) {
	c := newCentral(t)
	at := t0.Add(-time.Hour)
	event := func(seq uint64, kind envelope.Kind, data any) envelope.Event {
		b, _ := json.Marshal(data)
		return envelope.Event{V: envelope.Version, Site: "dx", Seq: seq, Kind: kind, Time: at, Data: b}
	}
	b := &envelope.Batch{V: envelope.Version, Site: "dx", TZ: "UTC", First: 1, Last: 3, Events: []envelope.Event{
		event(1, envelope.KindReconciliation, envelope.Reconciliation{ID: 1, MachineID: "M1", From: at.Add(-time.Hour), To: at,
			MachineCount: 5, MachineValue: 750, LedgerCount: 3, LedgerValue: 450, UnreportedCount: 2, UnreportedValue: 300, By: "drv"}),
		event(2, envelope.KindReconciliation, envelope.Reconciliation{ID: 2, MachineID: "M2", From: at.Add(-time.Hour), To: at,
			MachineCount: 1, MachineValue: 100, LedgerCount: 2, LedgerValue: 200, MissingCount: 1, MissingValue: 100, By: "drv"}),
		event(3, envelope.KindCash, envelope.CashCollection{CollectionID: "c1", MachineID: "M1", CollectedAt: at, AmountCents: 400,
			Driver: "Asha", ExpectedLedger: 450}),
	}}
	if _, err := c.Store.Apply(context.Background(), 1, b); err != nil {
		t.Fatal(err)
	}
	tok := c.Token(auth.RoleFinance)
	r := c.Do("GET", "/reports/reconciliation", tok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var rep hqapi.ReconciliationReport
	if err := json.Unmarshal([]byte(r.Body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.GroupBy != "machine" || len(rep.Rows) != 2 || rep.Rows[0].MachineID != "M1" || rep.Totals.UnreportedValue != 300 || rep.Totals.MissingValue != 100 {
		t.Fatalf("report = %+v", rep)
	}
	r = c.Do("GET", "/reports/cash?groupBy=driver&from="+at.Add(-time.Minute).Format(time.RFC3339), tok, nil)
	var cash hqapi.CashReport
	if err := json.Unmarshal([]byte(r.Body), &cash); err != nil || r.Status != http.StatusOK {
		t.Fatalf("cash: %d %s", r.Status, r.Body)
	}
	if len(cash.Rows) != 1 || cash.Rows[0].Key != "Asha" || cash.Rows[0].OverShortLedger != -50 {
		t.Fatalf("cash report = %+v", cash)
	}
	for _, bad := range []struct{ path, field string }{
		{"/reports/reconciliation?groupBy=planet", "groupBy"},
		{"/reports/cash?from=last-week", "from"},
		{"/reports/cash?from=2026-03-02&to=2026-03-01", "from"},
	} {
		r := c.Do("GET", bad.path, tok, nil)
		if r.Status != http.StatusBadRequest || r.Error(t).Field != bad.field {
			t.Fatalf("%s: %d %s, want 400 on %s", bad.path, r.Status, r.Body, bad.field)
		}
	}
}
