package payment_test

import (
	"fmt"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
)

// TestPaymentTotals_KeptTotalsMatchTheLedger checks that the totals the
// triggers keep per day and method (read by GET /reports/payments) equal
// the sums over the ledger itself after sales and refunds.
func TestPaymentTotals_KeptTotalsMatchTheLedger(t *testing.T) {
	s := site(t, "", "CASH", "CARD", "UPI")
	m := s.Token(auth.RoleMachine, "M1")
	for i, method := range []string{"CASH", "CASH", "CARD", "UPI", "CARD", "CASH"} {
		if r := s.Do("POST", "/events/sales", m, sale(s, fmt.Sprintf("t-%d", i), method, nil)); r.Status != 201 {
			t.Fatalf("sale %d: %d %s", i, r.Status, r.Body)
		}
	}
	for _, p := range payments(t, s, "?method=CASH")[:2] {
		must(t, s, "POST", fmt.Sprintf("/payments/%d/refund", p.PaymentID), map[string]any{"reason": "test"}, 200)
	}
	const ledger = `SELECT day, method, COUNT(*),
		SUM(status IN ('CAPTURED', 'REFUNDED')),
		COALESCE(SUM(CASE WHEN status IN ('CAPTURED', 'REFUNDED') THEN amount_cents END), 0),
		SUM(status = 'REFUNDED'),
		COALESCE(SUM(CASE WHEN status IN ('CAPTURED', 'REFUNDED') THEN refunded_cents END), 0),
		SUM(status = 'FAILED')
		FROM payments GROUP BY day, method ORDER BY day, method`
	const kept = `SELECT day, method, n, taken, gross, refunds, refunded, failed FROM payment_totals WHERE n > 0 ORDER BY day, method`
	read := func(q string) []string {
		rows, err := s.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var day, method string
			var n, taken, gross, refunds, refunded, failed int64
			if err := rows.Scan(&day, &method, &n, &taken, &gross, &refunds, &refunded, &failed); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(day, method, n, taken, gross, refunds, refunded, failed))
		}
		return out
	}
	want, got := read(ledger), read(kept)
	if len(want) != 3 {
		t.Fatalf("ledger groups = %v, want CARD, CASH and MOBILE", want)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kept totals = %v\nledger says  %v", got, want)
	}
}
