package payment

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/migrations"
	"github.com/vendsync/vendsync/sync/wire"

	gw "github.com/vendsync/vendsync/internal/payment"
)

// TestQueryPlans_PaymentReadsSearchAnIndex checks that every filter of
// GET /payments walks an index in sold_at order (no sort of the ledger)
// and that GET /reports/payments reads the kept totals, not the ledger.
func TestQueryPlans_PaymentReadsSearchAnIndex(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "edge.db"), migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	big := []string{"payments", "payment_totals"}
	tests := []struct {
		name  string
		q     Query
		index string
	}{
		{"all", Query{}, "payments_sold"},
		{"one machine", Query{MachineID: "M1"}, "payments_machine_sold (machine_id=?)"},
		{"one day", Query{Day: "2026-12-01"}, "payments_sold (sold_at>? AND sold_at<?)"},
		{"one machine's day", Query{MachineID: "M1", Day: "2026-12-01"}, "payments_machine_sold (machine_id=? AND sold_at>? AND sold_at<?)"},
		{"refunded", Query{Status: gw.Refunded}, "payments_status_sold (status=?)"},
		{"one machine's refunds", Query{MachineID: "M1", Status: gw.Refunded}, "payments_status_sold (status=?)"},
		{"captured", Query{Status: gw.Captured}, "payments_sold"},
		{"cash", Query{Method: wire.PaymentMethod("CASH")}, "payments_sold"},
		{"everything", Query{MachineID: "M1", Method: wire.PaymentMethod("CARD"), Status: gw.Failed, Day: "2026-12-01"}, "payments_status_sold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 100
			query, args := listQuery(tc.q, time.UTC)
			testkit.CheckPlan(t, db.R, big, query, args...)
			if plan := strings.Join(testkit.QueryPlan(t, db.R, query, args...), " | "); !strings.Contains(plan, "INDEX "+tc.index) {
				t.Fatalf("plan = %s, want it to use %s", plan, tc.index)
			}
		})
	}
	t.Run("totals", func(t *testing.T) {
		testkit.CheckPlan(t, db.R, big, totalsQuery, "2026-11-01", "2026-12-01")
	})
}

// TestQueryPlans_FoldedPaymentsSearchAnIndex checks that GET /payments
// merges the payments and the payments kept on sales' rows in sold_at
// order, each walking an index with no sort (List orders each
// millisecond's payments by id itself), and that a payment is found on its sale's row, and
// the highest id read at start, through sales_events_payment.
func TestQueryPlans_FoldedPaymentsSearchAnIndex(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "edge.db"), migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	big := []string{"payments", "sales_events"}
	tests := []struct {
		name  string
		q     Query
		index string
	}{
		{"all", Query{}, "sales_events_time"},
		{"one machine", Query{MachineID: "M1"}, "sales_events_machine_time (machine_id=?)"},
		{"one day", Query{Day: "2026-12-01"}, "sales_events_time (event_time>? AND event_time<?)"},
		{"one machine's day", Query{MachineID: "M1", Day: "2026-12-01"}, "sales_events_machine_time (machine_id=? AND event_time>? AND event_time<?)"},
		{"captured", Query{Status: gw.Captured}, "sales_events_time"},
		{"cash", Query{Method: wire.PaymentMethod("CASH")}, "sales_events_time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 100
			query, args, merged := listAllQuery(tc.q, time.UTC)
			if !merged {
				t.Fatalf("%+v is not merged", tc.q)
			}
			plan := testkit.QueryPlan(t, db.R, query, args...)
			joined := strings.Join(plan, " | ")
			for _, step := range plan {
				bad := strings.Contains(step, "TEMP B-TREE") // each part walks its index in time order
				for _, tb := range big {
					bad = bad || step == "SCAN "+tb
				}
				if bad {
					t.Errorf("plan step %q: %s", step, joined)
				}
			}
			if !strings.Contains(joined, "MERGE (UNION ALL)") || !strings.Contains(joined, "INDEX "+tc.index) {
				t.Fatalf("plan = %s, want a merge and %s", joined, tc.index)
			}
		})
	}
	t.Run("refunded: payments only", func(t *testing.T) {
		query, _, merged := listAllQuery(Query{Status: gw.Refunded, Limit: 100}, time.UTC)
		if strings.Contains(query, "sales_events") || merged {
			t.Fatalf("query = %s, want payments only", query)
		}
	})
	for _, q := range []string{`SELECT ` + foldedCols + ` FROM sales_events WHERE payment_id = ?`,
		`SELECT COALESCE(MAX(payment_id), 0) FROM sales_events WHERE payment_id IS NOT NULL`} {
		if plan := strings.Join(testkit.QueryPlan(t, db.R, q, 1), " | "); !strings.Contains(plan, "sales_events_payment") {
			t.Errorf("plan of %s = %s, want sales_events_payment", q, plan)
		}
	}
}
