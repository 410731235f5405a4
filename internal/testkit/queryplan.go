package testkit

import (
	"database/sql"
	"strings"
	"testing"
)

// QueryPlan is SQLite's EXPLAIN QUERY PLAN of query with args on db, one
// line per step ("SEARCH payments USING INDEX payments_sold (sold_at<?)",
// "USE TEMP B-TREE FOR ORDER BY", …). It fails t if the query does not
// prepare.
func QueryPlan(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("explain %s: %v", query, err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return out
}

// CheckPlan fails t when the plan of query reads one of the tables in big
// whole (a bare "SCAN big" step) or sorts rows in a temporary B-tree, and
// says which step did. A walk of an index in its order ("SCAN big USING
// INDEX i") is allowed: a LIMIT stops it.
func CheckPlan(t testing.TB, db *sql.DB, big []string, query string, args ...any) {
	t.Helper()
	plan := QueryPlan(t, db, query, args...)
	for _, step := range plan {
		bad := strings.Contains(step, "TEMP B-TREE")
		for _, tb := range big {
			bad = bad || step == "SCAN "+tb
		}
		if bad {
			t.Errorf("plan step %q:\n  query: %s\n  plan:  %s", step, strings.Join(strings.Fields(query), " "), strings.Join(plan, " | "))
		}
	}
}
