package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/migrations"
	"github.com/vendsync/vendsync/sync/bucket"
)

// bigTables grow with every sale (stock_movements with every visit): a
// read must never go through one whole.
var bigTables = []string{"sales_events", "payments", "outbox", "sales_agg", "lot_movements", "payment_history", "stock_movements"}

// TestQueryPlans_HotReadsSearchAnIndex checks the plans of the reads
// whose tables grow with every sale: each searches an index or walks one
// in the order it answers, and none sorts.
func TestQueryPlans_HotReadsSearchAnIndex(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "edge.db"), migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name  string
		query string
		args  []any
		index string // what the plan must use
	}{
		{"outbox stats", outboxStatsQuery, nil, "INTEGER PRIMARY KEY (rowid>?)"},
		{"sales aggregates", salesAggQuery, []any{"product", "hour", 0, 1}, "PRIMARY KEY (dim=? AND win=? AND bucket>? AND bucket<?)"},
		{"sale movements", saleMovements(false, false), []any{0, 1, 500}, "INDEX sales_events_time (event_time>? AND event_time<?)"},
		{"one machine's sale movements", saleMovements(true, false), []any{0, 1, "M1", 500}, "INDEX sales_events_machine_time (machine_id=? AND event_time>? AND event_time<?)"},
		{"one product's sale movements", saleMovements(false, true), []any{0, 1, "P1", 500}, "INDEX sales_events_time (event_time>? AND event_time<?)"},
		{"one slot's sale movements", saleMovements(true, true), []any{0, 1, "M1", "P1", 500}, "INDEX sales_events_machine_time (machine_id=? AND event_time>? AND event_time<?)"},
		{"visit movements", visitMovements, []any{"", "", "", 0, 1}, "COVERING INDEX stock_movements_time (performed_at>? AND performed_at<?)"},
		{"one machine's restocks", visitMovements, []any{"M1", "", "restock", 0, 1}, "COVERING INDEX stock_movements_time (performed_at>? AND performed_at<?)"},
	}
	topQuery, topArgs := topProductsQuery([]bucket.Span{{Window: bucket.Hour, From: 0, To: 1}, {Window: bucket.Day, From: 1, To: 2}, {Window: bucket.Month, From: 2, To: 3}})
	tests = append(tests, struct {
		name  string
		query string
		args  []any
		index string
	}{"top products", topQuery, topArgs, "PRIMARY KEY (dim=? AND win=? AND bucket>? AND bucket<?)"})
	for _, f := range []LotFilter{{}, {MachineID: "M1"}, {Status: "HOLD"}} {
		q, args := lotsQuery(f, 1000)
		tests = append(tests, struct {
			name  string
			query string
			args  []any
			index string
		}{fmt.Sprintf("lots %+v", f), q, args, "lots USING INDEX lots_slot"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testkit.CheckPlan(t, db.R, bigTables, tc.query, tc.args...)
			if plan := strings.Join(testkit.QueryPlan(t, db.R, tc.query, tc.args...), " | "); !strings.Contains(plan, tc.index) {
				t.Fatalf("plan = %s, want it to use %s", plan, tc.index)
			}
		})
	}
}
