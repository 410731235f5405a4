package readmodel

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestQueryPlans_LotsReadInListOrder pins the lot list's plans to
// machine_lots_order: the lots read in the list's order from the index
// alone (no sort, not even of one product's lots), the row sought only for
// the lots the index's columns keep, and the fleet's expiring lots not
// from the partial expiry index (which would sort every expiring lot).
func TestQueryPlans_LotsReadInListOrder(t *testing.T) {
	s := openStore(t)
	for _, q := range []LotQuery{{}, {ExpiringBefore: "2026-02-01"}, {Site: "s1"}, {Site: "s1", MachineID: "m1"},
		{Site: "s1", MachineID: "m1", ProductID: "p1"}, {Status: "HOLD"}, {ExpiringBefore: "2026-02-01", WithEmpty: true}} {
		t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) {
			query, args := lotsSQL(q, 1000)
			rows, err := s.db.R.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var lines []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if !strings.Contains(plan, "USING COVERING INDEX machine_lots_order") || !strings.Contains(plan, "SEARCH l USING PRIMARY KEY") ||
				strings.Contains(plan, "TEMP B-TREE") {
				t.Fatalf("plan:\n%s\nwant machine_lots_order read in order (covering), a primary-key seek per kept lot, no temp b-tree", plan)
			}
		})
	}
}
