package readmodel

import (
	"context"
	"fmt"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/envelope"
)

// A site's lease report is cumulative: each figure keeps the larger of
// the stored and the reported, so a redelivered or older report changes
// nothing.
const (
	upsertLeaseUsage = `INSERT INTO promo_lease_usage (promo_id, site, granted, used, returned, epoch, recall_seen, seq, event_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (promo_id, site) DO UPDATE SET
		  granted = max(granted, excluded.granted), used = max(used, excluded.used),
		  returned = max(returned, excluded.returned), epoch = max(epoch, excluded.epoch),
		  recall_seen = max(recall_seen, excluded.recall_seen),
		  seq = max(seq, excluded.seq), event_time = max(event_time, excluded.event_time)`
	selectLeaseUsage = `SELECT site, granted, used, returned, epoch, recall_seen FROM promo_lease_usage WHERE promo_id = ?`
)

// upsertLease records f when it is a lease report; ok is false otherwise.
func (k *sqliteSink) upsertLease(ctx context.Context, site string, f aggregate.Fact) (ok bool, err error) {
	d, ok := f.Data.(*envelope.LeaseUsage)
	if !ok {
		return false, nil
	}
	return true, k.s.exec(ctx, upsertLeaseUsage, d.PromotionID, site, d.Granted, d.Used, d.Returned, d.Epoch,
		d.RecallSeen, int64(f.Seq), ms(f.Time))
}

// LeaseUsage returns what each site last reported of its lease of
// promotionID, by site.
func (s *Store) LeaseUsage(ctx context.Context, promotionID string) (map[string]envelope.LeaseUsage, error) {
	rows, err := s.db.Query(ctx, selectLeaseUsage, promotionID)
	if err != nil {
		return nil, fmt.Errorf("lease usage %s: %w", promotionID, err)
	}
	defer rows.Close()
	out := map[string]envelope.LeaseUsage{}
	for rows.Next() {
		var site string
		u := envelope.LeaseUsage{PromotionID: promotionID}
		if err := rows.Scan(&site, &u.Granted, &u.Used, &u.Returned, &u.Epoch, &u.RecallSeen); err != nil {
			return nil, fmt.Errorf("lease usage %s: %w", promotionID, err)
		}
		out[site] = u
	}
	return out, rows.Err()
}

// SiteCities returns the city of every site central knows machines of (the
// city of its first machine by id), by site.
func (s *Store) SiteCities(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Query(ctx, `SELECT site, city FROM machines WHERE city <> '' ORDER BY site, machine_id`)
	if err != nil {
		return nil, fmt.Errorf("site cities: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var site, city string
		if err := rows.Scan(&site, &city); err != nil {
			return nil, fmt.Errorf("site cities: %w", err)
		}
		if _, ok := out[site]; !ok {
			out[site] = city
		}
	}
	return out, rows.Err()
}
