package readmodel

import (
	"context"
	"fmt"
	"time"
)

const (
	selectFreshVersions = `SELECT site, binary, envelope FROM site_version`
	upsertVersion       = `INSERT INTO site_version (site, binary, envelope, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (site) DO UPDATE SET binary = excluded.binary, envelope = excluded.envelope, at = excluded.at`
)

// SetVersion records the binary and envelope versions site reported in its
// heartbeat at at: in the site_version table and in every answer's
// freshness from now on. Callers record changes, not every heartbeat.
func (s *Store) SetVersion(ctx context.Context, site, binary string, envelope int, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.stmt(ctx, upsertVersion)
	if err != nil {
		return fmt.Errorf("record version of %s: %w", site, err)
	}
	if _, err := st.ExecContext(ctx, site, binary, envelope, ms(at)); err != nil {
		return fmt.Errorf("record version of %s: %w", site, err)
	}
	s.fresh.update(site, func(f *Freshness) { f.Binary, f.Envelope = binary, envelope })
	return nil
}

// loadVersions adds the recorded versions to t.
func (t *freshTable) loadVersions(ctx context.Context, s *Store) error {
	rows, err := s.db.Query(ctx, selectFreshVersions)
	if err != nil {
		return fmt.Errorf("load versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var site, binary string
		var env int
		if err := rows.Scan(&site, &binary, &env); err != nil {
			return fmt.Errorf("load versions: %w", err)
		}
		t.update(site, func(f *Freshness) { f.Binary, f.Envelope = binary, env })
	}
	return rows.Err()
}
