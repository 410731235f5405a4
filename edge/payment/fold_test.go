package payment_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	edgepay "github.com/vendsync/vendsync/edge/payment"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	gw "github.com/vendsync/vendsync/internal/payment"
)

// TestFoldedPayments_AnswerAsPaymentsRows records random plain sales (one
// at a time and in batches, several methods, card details, many sharing a
// second, over several days) and refunds some of them, then reads every
// payments answer; it moves every payment kept on its sale's row to
// payments (the layout before migration 0022) and reads them again: every
// answer must be byte for byte the same, and the kept day totals must
// equal the sums over the ledger.
func TestFoldedPayments_AnswerAsPaymentsRows(t *testing.T) {
	s := site(t, "", "CASH", "CARD", "UPI")
	s.Machine("M2", map[string]any{"paymentMethods": []string{"CASH", "CARD", "UPI"}})
	s.Product("M2", "P1", 250, 1000)
	m1, m2 := s.Token(auth.RoleMachine, "M1"), s.Token(auth.RoleMachine, "M2")
	rnd := rand.New(rand.NewPCG(14, 7))
	methods := []string{"CASH", "CARD", "UPI", "WALLET"}
	body := func(i int) (map[string]any, string) {
		machine, tok := "M1", m1
		if rnd.IntN(3) == 0 {
			machine, tok = "M2", m2
		}
		b := s.Sale(fmt.Sprintf("r-%d", i), machine, "P1", 1, 250)
		b["paymentMethod"] = methods[rnd.IntN(len(methods))]
		if b["paymentMethod"] == "CARD" && rnd.IntN(2) == 0 {
			b["card"] = map[string]any{"reference": fmt.Sprintf("TERM-%d", rnd.IntN(1000)), "last4": "4242"}
		}
		// Seconds only, over three days: many sales share a time.
		b["timestamp"] = s.Now().Add(-time.Duration(rnd.IntN(40)) * 90 * time.Minute).UTC().Format(time.RFC3339)
		return b, tok
	}
	n := 0
	for range 20 {
		b, tok := body(n)
		n++
		if r := s.Do("POST", "/events/sales", tok, b); r.Status != 201 {
			t.Fatalf("sale: %d %s", r.Status, r.Body)
		}
	}
	for range 4 {
		var events []any
		for range 1 + rnd.IntN(30) {
			b, _ := body(n)
			n++
			b["machineId"] = "M1"
			events = append(events, b)
		}
		must(t, s, "POST", "/events/batch", map[string]any{"events": events}, 200)
	}
	all := payments(t, s, "?limit=1000")
	if len(all) != n {
		t.Fatalf("%d payments, want %d", len(all), n)
	}
	for _, p := range all {
		if rnd.IntN(5) == 0 {
			must(t, s, "POST", fmt.Sprintf("/payments/%d/refund", p.PaymentID), map[string]any{"reason": "test", "notDispensed": rnd.IntN(2) == 0}, 200)
		}
	}
	folded := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE payment_id IS NOT NULL`)
	if folded < int64(n)/2 || folded == int64(n) {
		t.Fatalf("%d of %d payments kept on their sales' rows: want most, not all (some refunded)", folded, n)
	}
	checkTotals(t, s, "sales and refunds")

	day := all[len(all)/2].Day
	queries := []string{"", "?limit=1000", "?limit=7", "?machineId=M1&limit=1000", "?machineId=M2", "?method=CASH&limit=1000",
		"?method=MOBILE&limit=1000", "?status=CAPTURED&limit=1000", "?status=REFUNDED", "?day=" + day, "?machineId=M2&day=" + day,
		"?machineId=M1&method=CARD&status=CAPTURED&day=" + day, "?machineId=M1&status=CAPTURED&limit=5"}
	answers := func() map[string]string {
		out := map[string]string{}
		for _, q := range queries {
			out["/payments"+q] = string(must(t, s, "GET", "/payments"+q, nil, 200).Body)
		}
		for id := range int64(n) + 1 {
			r := s.Do("GET", fmt.Sprintf("/payments/%d", id), s.AdminToken(), nil)
			out[fmt.Sprint(id)] = fmt.Sprint(r.Status, string(r.Body))
		}
		from, to := time.Unix(0, 0).UTC().Format(time.DateOnly), s.Now().AddDate(0, 0, 1).UTC().Format(time.DateOnly)
		rep := "/reports/payments?from=" + from + "&to=" + to
		out[rep] = string(s.Do("GET", rep, s.AdminToken(), nil).Body)
		return out
	}
	before := answers()

	if err := s.Node.Payments.UnfoldAllForTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE payment_id IS NOT NULL`); got != 0 {
		t.Fatalf("%d payments still on their sales' rows", got)
	}
	checkTotals(t, s, "moving every payment to payments")
	after := answers()
	for k, want := range after {
		if got := before[k]; got != want {
			t.Errorf("%s:\n folded   %s\n payments %s", k, got, want)
		}
	}
	var p edgeapi.Payment
	must(t, s, "GET", fmt.Sprintf("/payments/%d", all[0].PaymentID), nil, 200).Decode(t, &p)
	if len(p.History) == 0 || p.History[0].Reason != "taken by the machine" {
		t.Fatalf("payment %d history = %+v", p.PaymentID, p.History)
	}
}

// TestList_PagesAsSQLOrderedThem: List reads payments by time alone and
// orders each millisecond's by id itself. Over sales of two machines many
// of which share a millisecond (batches at one timestamp), some refunded
// (payments rows) and most kept on their sales' rows, every page of every
// filter and limit, cut inside a millisecond or not, is the page that
// SQL's ORDER BY sold_at DESC, payment_id DESC LIMIT gives.
func TestList_PagesAsSQLOrderedThem(t *testing.T) {
	ctx := context.Background()
	s := site(t, "", "CASH", "CARD")
	s.Machine("M2", map[string]any{"paymentMethods": []string{"CASH", "CARD"}})
	s.Product("M2", "P1", 250, 1000)
	must(t, s, "PATCH", "/machines/M1/products/P1", map[string]any{"quantity": 1000}, 200)
	rnd := rand.New(rand.NewPCG(15, 8))
	n := 0
	for b := range 12 {
		at := s.Now().Add(-time.Duration(b%5) * time.Hour).UTC().Format(time.RFC3339) // 5 times for 12 batches
		var events []any
		for range 1 + rnd.IntN(9) {
			machine := []string{"M1", "M2"}[rnd.IntN(2)]
			e := s.Sale(fmt.Sprintf("x-%d", n), machine, "P1", 1, 250)
			e["paymentMethod"], e["timestamp"] = []string{"CASH", "CARD"}[rnd.IntN(2)], at
			events = append(events, e)
			n++
		}
		must(t, s, "POST", "/events/batch", map[string]any{"events": events}, 200)
	}
	for _, p := range payments(t, s, "?limit=1000") {
		if rnd.IntN(4) == 0 {
			must(t, s, "POST", fmt.Sprintf("/payments/%d/refund", p.PaymentID), map[string]any{"reason": "test"}, 200)
		}
	}
	day := s.Now().UTC().Format(time.DateOnly)
	compared := 0
	for _, q := range []edgepay.Query{{}, {MachineID: "M2"}, {Method: "CASH"}, {Status: gw.Captured}, {Day: day}, {MachineID: "M1", Day: day}} {
		for limit := 1; limit <= n+1; limit++ {
			q.Limit = limit
			got, err := s.Node.Payments.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.Node.Payments.ListInSQLForTest(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v:\n got  %v\n want %v", q, ids(got), ids(want))
			}
			compared += len(want)
		}
	}
	if compared < 1000 {
		t.Fatalf("only %d payments compared", compared)
	}
}

func ids(ps []edgepay.Payment) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d@%s", p.PaymentID, p.SoldAt.Format(time.TimeOnly)))
	}
	return out
}
