package readmodel

import (
	"context"
	"fmt"
	"time"
)

// SiteMachines lists a site's machines that are not decommissioned.
func (s *Store) SiteMachines(ctx context.Context, site string) ([]string, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT machine_id FROM machines WHERE site = ? AND status <> 'DECOMMISSIONED' ORDER BY machine_id`, site)
	if err != nil {
		return nil, fmt.Errorf("machines of %s: %w", site, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("machines of %s: %w", site, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// LastRestocks returns when each machine of a site was last restocked (its
// newest RESTOCK stock movement); machines never restocked are absent.
func (s *Store) LastRestocks(ctx context.Context, site string) (map[string]time.Time, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT json_extract(body, '$.data.machineId'), MAX(event_time) FROM raw_events
		WHERE site = ? AND kind = 'stock' AND json_extract(body, '$.data.reason') = 'RESTOCK' GROUP BY 1`, site)
	if err != nil {
		return nil, fmt.Errorf("last restocks of %s: %w", site, err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var ms int64
		if err := rows.Scan(&id, &ms); err != nil {
			return nil, fmt.Errorf("last restocks of %s: %w", site, err)
		}
		out[id] = time.UnixMilli(ms).UTC()
	}
	return out, rows.Err()
}
