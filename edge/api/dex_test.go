package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/dex/dextest"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// dexSite is a site with machine M1 (P1 at 1.50, P2 at 2.00) and M2, and
// typed clients for a driver and for M1 itself.
type dexSite struct {
	*edgetest.Site
	driver, m1 *client.Edge
}

func newDEXSite(t *testing.T) dexSite {
	t.Helper()
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	s.Machine("M1")
	s.Product("M1", "P1", 150, 100)
	s.Product("M1", "P2", 200, 100)
	s.Machine("M2")
	mk := func(role auth.Role, machine string) *client.Edge {
		c := s.Client(role, machine)
		e, err := client.NewEdge(s.URL(), client.Credentials{ClientID: c.ClientID, ClientSecret: c.ClientSecret},
			client.Options{HTTP: s.HTTP, Now: s.Now})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	return dexSite{Site: s, driver: mk(auth.RoleDriver, ""), m1: mk(auth.RoleMachine, "M1")}
}

// sell records a sale of M1 through the API and counts it on the meters.
func (s dexSite) sell(t *testing.T, m *dextest.Machine, tx, product string, amount int64, pay string) {
	t.Helper()
	_, err := s.m1.Sale(context.Background(), edgeapi.Sale{TransactionID: tx, MachineID: "M1", ProductID: product, Quantity: 1,
		Amount: wire.Money(amount), PaymentMethod: pay, Timestamp: s.Now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		t.Fatalf("sale %s: %v", tx, err)
	}
	m.Vend(product, 1, amount, pay == "CASH")
}

func meters() *dextest.Machine {
	m := &dextest.Machine{Serial: "CTRL-M1", Model: "GVC1"}
	m.Add("P1", "", 150)
	m.Add("P2", "", 200)
	return m
}

// TestDEX_UploadReconcilesAgainstTheLedger: the first read has nothing to
// compare; the second, after sales of which some never reached the edge,
// shows them as unreported, opens the alert above the threshold, goes up
// as an event, is listed, and replays when sent again.
func TestDEX_UploadReconcilesAgainstTheLedger(t *testing.T) {
	s := newDEXSite(t)
	ctx := context.Background()
	m := meters()
	m.Vend("P1", 10, 1500, true) // history before the first read
	first, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if first.Reconciliation != nil || first.Serial != "CTRL-M1" || len(first.Products) != 2 {
		t.Fatalf("first read = %+v", first)
	}
	s.Clock.Advance(time.Minute)
	for i := range 3 {
		s.sell(t, m, fmt.Sprintf("c%d", i), "P1", 150, "CASH")
	}
	s.sell(t, m, "k1", "P2", 200, "CARD")
	m.Vend("P2", 4, 800, false) // lost: the machine never sent them
	m.FreeVend(1, 150)
	s.Clock.Advance(time.Minute)
	second, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	rec := second.Reconciliation
	if rec == nil {
		t.Fatal("second read has no reconciliation")
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"machine count", rec.MachineCount, int64(8)},
		{"ledger count", rec.LedgerCount, int64(4)},
		{"ledger value", rec.LedgerValue, wire.Money(650)},
		{"unreported count", rec.UnreportedCount, int64(4)},
		{"unreported value", rec.UnreportedValue, wire.Money(800)},
		{"missing", rec.MissingCount, int64(0)},
		{"free vends", rec.FreeVends.Count, int64(1)},
		{"alerted", rec.Alerted, true},
		{"from read", rec.FromReadID, first.ReadID},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got, want := s.OpenAlerts("M1", ""), string(wire.DEXUnreportedSales); got != want {
		t.Fatalf("open alerts = %q, want %q", got, want)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'dex_reconciliation'`); got != 1 {
		t.Fatalf("%d reconciliation events in the outbox, want 1", got)
	}
	list, err := s.driver.Reconciliations(ctx, edgeapi.ReconciliationQuery{MachineID: "M1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ReconciliationID != rec.ReconciliationID || len(list[0].Lines) != 2 {
		t.Fatalf("reconciliations = %+v", list)
	}
	if other, err := s.driver.Reconciliations(ctx, edgeapi.ReconciliationQuery{MachineID: "M2"}); err != nil || len(other) != 0 {
		t.Fatalf("M2 reconciliations = %+v, %v", other, err)
	}
	if later, err := s.driver.Reconciliations(ctx, edgeapi.ReconciliationQuery{From: s.Now().Add(time.Hour).Format(time.RFC3339)}); err != nil || len(later) != 0 {
		t.Fatalf("reconciliations after an hour from now = %+v, %v", later, err)
	}

	// The same file again: the first answer, nothing new.
	m2 := meters()
	m2.Vend("P1", 10, 1500, true)
	again, err := s.driver.UploadDEX(ctx, "M1", m2.Read(dextest.ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.ReadID != first.ReadID {
		t.Fatalf("replay = read %d replayed %v, want read %d replayed", again.ReadID, again.Replayed, first.ReadID)
	}

	// The next read within the threshold closes the alert.
	s.Clock.Advance(time.Minute)
	s.sell(t, m, "c9", "P1", 150, "CASH")
	third, err := s.m1.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{LF: true}))
	if err != nil {
		t.Fatal(err)
	}
	if third.Reconciliation == nil || third.Reconciliation.UnreportedValue != 0 || third.Reconciliation.Alerted {
		t.Fatalf("third reconciliation = %+v", third.Reconciliation)
	}
	if got := s.OpenAlerts("M1", ""); got != "" {
		t.Fatalf("open alerts after a clean read = %q", got)
	}
}

// TestDEX_PriceMismatch: a machine selling at another price than the
// catalog is flagged per line.
func TestDEX_PriceMismatch(t *testing.T) {
	s := newDEXSite(t)
	ctx := context.Background()
	m := meters()
	m.Selection("P2").Price = 250
	if _, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{})); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(time.Minute)
	got, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	rec := got.Reconciliation
	if rec == nil || rec.PriceMismatches != 1 {
		t.Fatalf("reconciliation = %+v", rec)
	}
	for _, l := range rec.Lines {
		if want := l.Selection == "P2"; l.PriceMismatch != want || l.CatalogPrice == nil {
			t.Fatalf("line %+v: mismatch %v, want %v", l, l.PriceMismatch, want)
		}
	}
}

// TestDEX_Refusals: what the endpoint refuses, and how it says so.
func TestDEX_Refusals(t *testing.T) {
	s := newDEXSite(t)
	good := meters().Read(dextest.ReadOptions{})
	tests := []struct {
		name        string
		path        string
		token       string
		body        any
		ctype       string
		status      int
		code, field string
		msgHas      string
	}{
		{"malformed file names line and field", "/machines/M1/dex", s.AdminToken(), "ID1*S\r\nPA1*7*1x5\r\n", "text/plain", 400, "INVALID_DEX", "body", "line 2: PA102"},
		{"JSON is not DEX", "/machines/M1/dex", s.AdminToken(), `{"a":1}`, "application/json", 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type", "text/plain"},
		{"too large", "/machines/M1/dex", s.AdminToken(), strings.Repeat("X", 1<<20+1), "text/plain", 413, "BODY_TOO_LARGE", "", "bytes"},
		{"unknown machine", "/machines/NOPE/dex", s.AdminToken(), good, "text/plain", 404, "NOT_FOUND", "machineId", "NOPE"},
		{"another machine's token", "/machines/M2/dex", s.Token(auth.RoleMachine, "M1"), good, "text/plain", 403, "FORBIDDEN", "machineId", "M1"},
		{"ops may not upload", "/machines/M1/dex", s.Token(auth.RoleOps, ""), good, "text/plain", 403, "", "", ""},
		{"finance may not upload", "/machines/M1/dex", s.Token(auth.RoleFinance, ""), good, "text/plain", 403, "", "", ""},
		{"readAt in the future", "/machines/M1/dex?readAt=2030-01-01T00:00:00Z", s.AdminToken(), good, "text/plain", 400, "VALIDATION_FAILED", "readAt", "future"},
		{"machine may not list", "/reconciliations", s.Token(auth.RoleMachine, "M1"), nil, "", 403, "", "", ""},
		{"bad range", "/reconciliations?from=yesterday", s.AdminToken(), nil, "", 400, "", "from", "from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			var h []string
			if tc.body == nil {
				method = "GET"
			} else {
				h = []string{"Content-Type", tc.ctype}
			}
			r := s.Do(method, tc.path, tc.token, tc.body, h...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.code == "" && tc.field == "" {
				return
			}
			e := r.Error(t)
			if (tc.code != "" && e.Code != tc.code) || e.Field != tc.field || !strings.Contains(e.Message, tc.msgHas) {
				t.Fatalf("error = %+v, want code %s field %q message with %q", e, tc.code, tc.field, tc.msgHas)
			}
		})
	}
}

// TestVisit_Idempotent: a visit is recorded once; its replay answers the
// same, another body under its id is a conflict, bad input names its field.
func TestVisit_Idempotent(t *testing.T) {
	s := newDEXSite(t)
	ctx := context.Background()
	in := edgeapi.VisitIn{VisitID: "v-1", ArrivedAt: t0.Add(-20 * time.Minute).Format(time.RFC3339), LeftAt: t0.Add(-5 * time.Minute).Format(time.RFC3339),
		Driver: "Asha", Notes: "wiped the glass", Actions: []string{edgeapi.ActionRestock, edgeapi.ActionCleaned, edgeapi.ActionRestock}}
	v, err := s.driver.PostVisit(ctx, "M1", in)
	if err != nil {
		t.Fatal(err)
	}
	if v.Replayed || v.Sequence == 0 || len(v.Actions) != 2 || v.Driver != "Asha" {
		t.Fatalf("visit = %+v", v)
	}
	again, err := s.driver.PostVisit(ctx, "M1", in)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.Sequence != v.Sequence {
		t.Fatalf("replay = %+v, want the first answer", again)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'visit'`); got != 1 {
		t.Fatalf("%d visit events, want 1", got)
	}
	changed := in
	changed.Notes = "something else"
	if _, err := s.driver.PostVisit(ctx, "M1", changed); !client.HasCode(err, "IDEMPOTENCY_CONFLICT") {
		t.Fatalf("changed body: %v, want IDEMPOTENCY_CONFLICT", err)
	}
	if _, err := s.driver.PostVisit(ctx, "M2", in); !client.HasCode(err, "IDEMPOTENCY_CONFLICT") {
		t.Fatalf("same id, other machine: %v, want IDEMPOTENCY_CONFLICT", err)
	}
	bad := []struct {
		name  string
		edit  func(*edgeapi.VisitIn)
		field string
	}{
		{"unknown action", func(v *edgeapi.VisitIn) { v.Actions = []string{"DANCE"} }, "actions[0]"},
		{"left before arriving", func(v *edgeapi.VisitIn) { v.LeftAt = t0.Add(-time.Hour).Format(time.RFC3339) }, "leftAt"},
		{"no id", func(v *edgeapi.VisitIn) { v.VisitID = "" }, "visitId"},
		{"not a time", func(v *edgeapi.VisitIn) { v.ArrivedAt = "noon" }, "arrivedAt"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			x := in
			x.VisitID = "v-bad"
			b.edit(&x)
			_, err := s.driver.PostVisit(ctx, "M1", x)
			var e *client.Error
			if !asError(err, &e) || e.Status != http.StatusBadRequest || e.Field != b.field {
				t.Fatalf("err = %v, want 400 on field %s", err, b.field)
			}
		})
	}
}

func asError(err error, e **client.Error) bool {
	ce, ok := err.(*client.Error)
	if ok {
		*e = ce
	}
	return ok
}

// TestCash_ExpectedFromLedgerAndDEX: the first collection expects the
// ledger's cash sales so far; the next one expects the cash sales since
// it, from the ledger and from the DEX cash meter, and says over/short.
func TestCash_ExpectedFromLedgerAndDEX(t *testing.T) {
	s := newDEXSite(t)
	ctx := context.Background()
	m := meters()
	s.Clock.Advance(time.Minute)
	s.sell(t, m, "a1", "P1", 150, "CASH")
	s.sell(t, m, "a2", "P2", 200, "CARD")
	if _, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{})); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(time.Minute)
	first, err := s.driver.PostCashCollection(ctx, "M1", edgeapi.CashIn{CollectionID: "cc-1", CollectedAt: s.Now().Format(time.RFC3339Nano), Amount: 150, Driver: "Asha"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Since != nil || first.ExpectedLedger != 150 || first.OverShortLedger != 0 || first.ExpectedDEX != nil {
		t.Fatalf("first collection = %+v", first)
	}
	s.Clock.Advance(time.Minute)
	s.sell(t, m, "b1", "P1", 150, "CASH")
	s.sell(t, m, "b2", "P2", 200, "CASH")
	m.Vend("P1", 1, 150, true) // a cash vend the ledger never got
	if _, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{})); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(time.Minute)
	second, err := s.driver.PostCashCollection(ctx, "M1", edgeapi.CashIn{CollectionID: "cc-2", CollectedAt: s.Now().Format(time.RFC3339Nano),
		Amount: 450, Currency: "EUR", Driver: "Asha"})
	if err != nil {
		t.Fatal(err)
	}
	if second.Since == nil || second.ExpectedLedger != 350 || second.OverShortLedger != 100 {
		t.Fatalf("second collection (ledger) = %+v", second)
	}
	if second.ExpectedDEX == nil || *second.ExpectedDEX != 500 || *second.OverShortDEX != -50 {
		t.Fatalf("second collection (DEX) = %+v", second)
	}
	again, err := s.driver.PostCashCollection(ctx, "M1", edgeapi.CashIn{CollectionID: "cc-2", CollectedAt: second.CollectedAt.Format(time.RFC3339Nano),
		Amount: 450, Currency: "EUR", Driver: "Asha"})
	if err != nil || !again.Replayed || again.Sequence != second.Sequence {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	if _, err := s.driver.PostCashCollection(ctx, "M1", edgeapi.CashIn{CollectionID: "cc-2", CollectedAt: second.CollectedAt.Format(time.RFC3339Nano),
		Amount: 440, Currency: "EUR", Driver: "Asha"}); !client.HasCode(err, "IDEMPOTENCY_CONFLICT") {
		t.Fatalf("changed amount: %v, want IDEMPOTENCY_CONFLICT", err)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'cash_collection'`); got != 2 {
		t.Fatalf("%d cash events, want 2", got)
	}
}

// TestDEX_LateSalesReconciledAgain: sales that reach the edge after their
// period was reconciled (a machine's backlog) make the recheck reconcile
// the period again: the same id at revision 2 with the late sales in the
// ledger, the alert closed, and the revision sent up; a second recheck
// changes nothing.
func TestDEX_LateSalesReconciledAgain(t *testing.T) {
	s := newDEXSite(t)
	ctx := context.Background()
	m := meters()
	if _, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{})); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(time.Minute)
	s.sell(t, m, "on-time", "P2", 200, "CARD")
	late := []string{}
	for i := range 4 { // vended and counted, but the machine was cut off from the site
		tx := fmt.Sprintf("late-%d", i)
		late = append(late, tx)
		m.Vend("P2", 1, 200, false)
	}
	soldAt := s.Now()
	s.Clock.Advance(time.Minute)
	second, err := s.driver.UploadDEX(ctx, "M1", m.Read(dextest.ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if rec := second.Reconciliation; rec == nil || rec.UnreportedCount != 4 || !rec.Alerted || rec.Revision != 1 {
		t.Fatalf("reconciliation before the backlog = %+v", rec)
	}
	if n, err := s.Node.Audit.Recheck(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("recheck with nothing late = %d, %v; want 0", n, err)
	}

	// The machine's backlog arrives, stamped inside the reconciled period.
	s.Clock.Advance(time.Minute)
	for _, tx := range late {
		_, err := s.m1.Sale(ctx, edgeapi.Sale{TransactionID: tx, MachineID: "M1", ProductID: "P2", Quantity: 1,
			Amount: 200, PaymentMethod: "CARD", Timestamp: soldAt.UTC().Format(time.RFC3339Nano)})
		if err != nil {
			t.Fatalf("late sale %s: %v", tx, err)
		}
	}
	if n, err := s.Node.Audit.Recheck(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("recheck after the backlog = %d, %v; want 1 revised", n, err)
	}
	list, err := s.driver.Reconciliations(ctx, edgeapi.ReconciliationQuery{MachineID: "M1"})
	if err != nil || len(list) != 1 {
		t.Fatalf("reconciliations = %+v, %v", list, err)
	}
	rec := list[0]
	if rec.ReconciliationID != second.Reconciliation.ReconciliationID || rec.Revision != 2 || rec.LedgerCount != 5 ||
		rec.UnreportedCount != 0 || rec.MissingCount != 0 || rec.Alerted {
		t.Fatalf("revised reconciliation = %+v", rec)
	}
	if got := s.OpenAlerts("M1", ""); got != "" {
		t.Fatalf("open alerts after the revision = %q", got)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'dex_reconciliation' AND payload ->> '$.data.revision' = 2`); got != 1 {
		t.Fatalf("%d revision-2 reconciliation events in the outbox, want 1", got)
	}
	if n, err := s.Node.Audit.Recheck(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("second recheck = %d, %v; want 0", n, err)
	}
	// Out of the window, a period is not looked at again.
	s.Clock.Advance(2 * time.Hour)
	_, err = s.m1.Sale(ctx, edgeapi.Sale{TransactionID: "later-still", MachineID: "M1", ProductID: "P2", Quantity: 1,
		Amount: 200, PaymentMethod: "CARD", Timestamp: soldAt.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Node.Audit.Recheck(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("recheck of a period out of the window = %d, %v; want 0", n, err)
	}
}
