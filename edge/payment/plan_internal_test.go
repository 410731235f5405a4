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
