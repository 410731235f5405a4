package stock

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/migrations"
)

// TestQueryPlans_SoldSinceSearchesTheMachine checks that the sold-since
// check of a late count reads only the machine's sales after the count.
func TestQueryPlans_SoldSinceSearchesTheMachine(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "edge.db"), migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testkit.CheckPlan(t, db.R, []string{"sales_events"}, soldSince, "M1", "P1", 0)
	const want = "INDEX sales_events_machine_time (machine_id=? AND event_time>?)"
	if plan := strings.Join(testkit.QueryPlan(t, db.R, soldSince, "M1", "P1", 0), " | "); !strings.Contains(plan, want) {
		t.Fatalf("plan = %s, want it to search %s", plan, want)
	}
}
