package readmodel

import (
	"context"
	"fmt"
)

// OpenCount is how many alerts and faults are open at one site in one city
// (the city of the machine they concern, "" when central does not know
// the machine).
type OpenCount struct {
	City, Site     string
	Alerts, Faults int
}

// selectOpenCounts reads the open alerts and faults per city and site
// that open_counts keeps (migration 0029: triggers on alerts, faults and
// machines), in its key's order. Rows that fell to zero are kept there and
// skipped here.
const selectOpenCounts = `SELECT city, site, alerts, faults FROM open_counts
	WHERE alerts <> 0 OR faults <> 0 ORDER BY city, site`

// selectOpenCountsAtReadTime counts them from the open alerts and faults
// themselves (the query before migration 0029, and its fill).
const selectOpenCountsAtReadTime = `SELECT city, site, SUM(alerts), SUM(faults) FROM (
		SELECT coalesce(m.city, '') AS city, a.site AS site, COUNT(*) AS alerts, 0 AS faults
		FROM alerts a INDEXED BY alerts_open LEFT JOIN machines m ON m.site = a.site AND m.machine_id = a.machine_id
		WHERE a.status = 'OPEN' GROUP BY 1, 2
		UNION ALL
		SELECT coalesce(m.city, ''), f.site, 0, COUNT(*)
		FROM faults f INDEXED BY faults_open LEFT JOIN machines m ON m.site = f.site AND m.machine_id = f.machine_id
		WHERE f.status = 'OPEN' GROUP BY 1, 2)
	GROUP BY city, site ORDER BY city, site`

// OpenCounts counts the open alerts and faults per city and site: what
// Alerts and Faults with Status OPEN list, counted, for a report over the
// whole fleet. It returns an error only when the query fails.
func (s *Store) OpenCounts(ctx context.Context) ([]OpenCount, error) {
	return s.openCounts(ctx, selectOpenCounts)
}

// openCounts reads query's counts (selectOpenCounts or
// selectOpenCountsAtReadTime).
func (s *Store) openCounts(ctx context.Context, query string) ([]OpenCount, error) {
	rows, err := s.db.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("count open alerts and faults: %w", err)
	}
	defer rows.Close()
	out := make([]OpenCount, 0, min(4096, s.openHint.Load()))
	var c OpenCount
	dest := []any{&c.City, &c.Site, &c.Alerts, &c.Faults}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("count open alerts and faults: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count open alerts and faults: %w", err)
	}
	s.openHint.Store(int64(len(out)))
	return out, nil
}
