package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
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

// TestReports_DEXByRoute: groupBy=route folds the per-site figures into
// each driver's route (a site on two routes counts in both, the totals
// once), puts sites on no route under "(no route)", and leaves revoked
// drivers out.
func TestReports_DEXByRoute(t *testing.T) {
	c := newCentral(t)
	ctx := context.Background()
	for _, id := range []string{"ra", "rb", "rc"} {
		if _, _, err := c.Sites.Add(ctx, sitereg.Site{ID: id, City: "Testville", Timezone: "UTC"}, false); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(-time.Hour)
	for i, site := range []string{"ra", "rb", "rc"} {
		unreported := int64(100 * (i + 1)) // ra 100, rb 200, rc 300
		rec, _ := json.Marshal(envelope.Reconciliation{ID: 1, MachineID: "M1", From: at.Add(-time.Hour), To: at,
			MachineCount: 1, MachineValue: unreported, UnreportedCount: 1, UnreportedValue: unreported, By: "drv"})
		cash, _ := json.Marshal(envelope.CashCollection{CollectionID: "c1", MachineID: "M1", CollectedAt: at, AmountCents: 1000 - unreported,
			Driver: "d", ExpectedLedger: 1000})
		b := &envelope.Batch{V: envelope.Version, Site: site, TZ: "UTC", First: 1, Last: 2, Events: []envelope.Event{
			{V: envelope.Version, Site: site, Seq: 1, Kind: envelope.KindReconciliation, Time: at, Data: rec},
			{V: envelope.Version, Site: site, Seq: 2, Kind: envelope.KindCash, Time: at, Data: cash},
		}}
		if _, err := c.Store.Apply(ctx, uint64(i+1), b); err != nil {
			t.Fatal(err)
		}
	}
	admin := c.Token(auth.RoleAdmin)
	driver := func(name string, sites ...string) hqapi.NewDriver {
		r := c.Do("POST", "/drivers", admin, hqapi.NewDriverRequest{Name: name, Sites: sites})
		if r.Status != http.StatusCreated {
			t.Fatalf("create driver %s: %d %s", name, r.Status, r.Body)
		}
		var d hqapi.NewDriver
		r.JSON(t, &d)
		return d
	}
	north := driver("North", "ra", "rb")
	east := driver("East", "rb")
	gone := driver("Gone", "rc")
	if r := c.Do("DELETE", "/clients/"+gone.ClientID, admin, nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	tok := c.Token(auth.RoleFinance)
	r := c.Do("GET", "/reports/reconciliation?groupBy=route", tok, nil)
	var rep hqapi.ReconciliationReport
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &rep) != nil {
		t.Fatalf("reconciliation: %d %s", r.Status, r.Body)
	}
	got := map[string]wire.Money{}
	for _, row := range rep.Rows {
		got[row.Key] = row.UnreportedValue
	}
	want := map[string]wire.Money{"North (" + north.ClientID + ")": 300, "East (" + east.ClientID + ")": 200, "(no route)": 300}
	if rep.GroupBy != "route" || len(got) != len(want) || rep.Totals.UnreportedValue != 600 {
		t.Fatalf("report = %+v, want rows %v and total 600", rep, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("row %q = %v, want %v (rows %v)", k, got[k], v, got)
		}
	}
	if rep.Rows[0].UnreportedValue < rep.Rows[len(rep.Rows)-1].UnreportedValue {
		t.Fatalf("rows not largest unreported first: %+v", rep.Rows)
	}
	r = c.Do("GET", "/reports/cash?groupBy=route", tok, nil)
	var cash hqapi.CashReport
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &cash) != nil {
		t.Fatalf("cash: %d %s", r.Status, r.Body)
	}
	short := map[string]wire.Money{}
	for _, row := range cash.Rows {
		short[row.Key] = row.OverShortLedger
	}
	if short["North ("+north.ClientID+")"] != -300 || short["East ("+east.ClientID+")"] != -200 || short["(no route)"] != -300 || cash.Totals.OverShortLedger != -600 {
		t.Fatalf("cash rows = %v, totals %+v", short, cash.Totals)
	}
}
