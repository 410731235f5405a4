package audit

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/migrations"
)

// TestQueryPlans_LedgerReadsOnePeriod checks that the ledger's reads of
// sales search one machine's sales in the period (the machine × time
// index), not all of the machine's sales or the whole table. The per-product
// sums group the period's rows (a sort of that range, not of the table).
func TestQueryPlans_LedgerReadsOnePeriod(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "edge.db"), migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const period = "INDEX sales_events_machine_time (machine_id=? AND event_time>? AND event_time<?)"
	tests := []struct {
		name   string
		query  string
		args   []any
		sorted bool // the plan may group in a temporary B-tree
	}{
		{"sales per product", ledgerQuery, []any{"M1", 0, 1}, true},
		{"cash taken", cashLedgerQuery, []any{"M1", 0, 1}, false},
		{"recheck count", ledgerCount, []any{"M1", 0, 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.sorted {
				testkit.CheckPlan(t, db.R, []string{"sales_events"}, tc.query, tc.args...)
			}
			plan := strings.Join(testkit.QueryPlan(t, db.R, tc.query, tc.args...), " | ")
			if !strings.Contains(plan, period) || strings.Contains(plan, "SCAN sales_events") {
				t.Fatalf("plan = %s, want it to search %s", plan, period)
			}
		})
	}
}
