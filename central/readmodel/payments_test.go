package readmodel

import (
	"context"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// TestApply_PaymentTotals: each sale counts once as a payment taken on its
// site-local day under its method (UPI under MOBILE), refunds and failures
// count once however often their batch comes and whatever arrives after
// them, and the report nets refunds out per day and method.
func TestApply_PaymentTotals(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	// 20:30 UTC is the next day in Kolkata (+05:30).
	late := time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC)
	early := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cash := func(id int64, status string, refunded int64) envelope.Payment {
		return envelope.Payment{PaymentID: id, TransactionID: "t1", MachineID: "M1", ProductID: "P1", Quantity: 1, Method: "CASH",
			MethodName: "CASH", AmountCents: 300, RefundedCents: refunded, Status: status, Day: "2026-12-01", SoldAt: early, Change: status}
	}
	sale := func(tx, method string, cents int64, at time.Time) ev {
		e := saleEv(tx, "M1", "P1", "Pune", 1, cents, at)
		d := e.data.(envelope.Sale)
		d.PaymentMethod = method
		e.data = d
		return e
	}
	b1 := mkBatch(t, "s1", "Asia/Kolkata", 1,
		sale("t1", "CASH", 300, early),
		sale("t2", "UPI", 200, early),
		sale("t3", "CARD", 500, late),
		ev{envelope.KindPayment, early, cash(1, "REFUNDED", 300)},
		ev{envelope.KindPayment, early, envelope.Payment{PaymentID: 9, TransactionID: "g1", MachineID: "M1", ProductID: "P1", Quantity: 1,
			Method: "GATEWAY", MethodName: "GATEWAY", AmountCents: 450, Status: "FAILED", Day: "2026-12-01", SoldAt: early, Change: "FAILED"}},
	)
	mustApply(t, s, 1, b1)
	mustApply(t, s, 2, b1) // redelivered: nothing changes
	// The same sale again (another sequence) and an older state of the
	// refunded payment change nothing either.
	b2 := mkBatch(t, "s1", "Asia/Kolkata", 6, sale("t1", "CASH", 300, early))
	mustApply(t, s, 3, b2)

	res, err := s.PaymentReport(ctx, PaymentQuery{From: "2026-12-01", To: "2026-12-02"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]PaymentDay{}
	for _, r := range res.Rows {
		got[r.Day+" "+r.Method] = r
	}
	want := map[string]PaymentDay{
		"2026-12-01 CASH":    {Day: "2026-12-01", Method: "CASH", Payments: 1, Gross: 300, Refunds: 1, Refunded: 300},
		"2026-12-01 MOBILE":  {Day: "2026-12-01", Method: "MOBILE", Payments: 1, Gross: 200},
		"2026-12-01 GATEWAY": {Day: "2026-12-01", Method: "GATEWAY", Failed: 1},
		"2026-12-02 CARD":    {Day: "2026-12-02", Method: "CARD", Payments: 1, Gross: 500},
	}
	if len(got) != len(want) {
		t.Fatalf("rows = %+v, want %+v", res.Rows, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("%s = %+v, want %+v", k, got[k], w)
		}
	}
	if len(res.Freshness) == 0 {
		t.Fatal("no freshness")
	}
	// One site, one day.
	res, err = s.PaymentReport(ctx, PaymentQuery{Site: "s2", From: "2026-12-01", To: "2026-12-01"})
	if err != nil || len(res.Rows) != 0 {
		t.Fatalf("other site: %+v %v", res.Rows, err)
	}
}
