package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Snapshot is what the read model holds of one site: enough to rebuild the
// site's database on a new box. Everything in it is as of Freshness: the
// last event received from the site is Freshness.MaxSeen.
type Snapshot struct {
	Freshness Freshness
	// Machines are the site's machines, each with its products (slots),
	// prices and last reported counts.
	Machines []Machine
	// Faults are the site's faults not resolved; Alerts its open alerts.
	Faults []Fault
	Alerts []Alert
	// MaxFaultID and MaxAlertID are the highest ids received from the site.
	MaxFaultID, MaxAlertID int64
}

// snapshotTries bounds how often SiteSnapshot rereads a site whose batches
// keep arriving while it reads.
const snapshotTries = 5

const (
	selectSnapshotMachines = `SELECT site, machine_id, city, building, latitude, longitude, payment_methods, status, temp_max_c,
			action, seq, event_time
		FROM machines WHERE site = ? ORDER BY machine_id`
	selectSnapshotProducts = `SELECT machine_id, product_id, name, price_cents, quantity, expiry_date, low_stock_limit, par_level,
			case_pack, updated_at
		FROM machine_products WHERE site = ? ORDER BY machine_id, product_id`
	selectSnapshotMaxIDs = `SELECT (SELECT coalesce(max(fault_id), 0) FROM faults WHERE site = ?1),
			(SELECT coalesce(max(alert_id), 0) FROM alerts WHERE site = ?1)`
)

// SiteSnapshot returns what the read model holds of site. The site's state
// is read between two reads of its freshness that agree, so no batch
// applied in between makes the data newer than the watermark it is
// reported with. It returns ErrNotFound for a site no batch came from.
func (s *Store) SiteSnapshot(ctx context.Context, site string) (Snapshot, error) {
	for range snapshotTries {
		before, err := s.Site(ctx, site)
		if err != nil {
			return Snapshot{}, err
		}
		snap, err := s.readSnapshot(ctx, site)
		if err != nil {
			return Snapshot{}, err
		}
		after, err := s.Site(ctx, site)
		if err != nil {
			return Snapshot{}, err
		}
		if before.MaxSeen == after.MaxSeen && before.Contiguous == after.Contiguous {
			snap.Freshness = after
			return snap, nil
		}
	}
	return Snapshot{}, fmt.Errorf("snapshot of site %s: its batches kept arriving while it was read; revoke or rotate the site first", site)
}

func (s *Store) readSnapshot(ctx context.Context, site string) (Snapshot, error) {
	var snap Snapshot
	var err error
	if snap.Machines, err = s.snapshotMachines(ctx, site); err != nil {
		return Snapshot{}, err
	}
	for _, st := range []string{"OPEN", "IN_PROGRESS"} {
		fs, err := s.Faults(ctx, FaultFilter{Site: site, Status: st, Limit: 1 << 30})
		if err != nil {
			return Snapshot{}, fmt.Errorf("snapshot of site %s: %w", site, err)
		}
		snap.Faults = append(snap.Faults, fs...)
	}
	if snap.Alerts, err = s.Alerts(ctx, AlertFilter{Site: site, Status: "OPEN", Limit: 1 << 30}); err != nil {
		return Snapshot{}, fmt.Errorf("snapshot of site %s: %w", site, err)
	}
	if err := s.db.QueryRow(ctx, selectSnapshotMaxIDs, site).Scan(&snap.MaxFaultID, &snap.MaxAlertID); err != nil {
		return Snapshot{}, fmt.Errorf("snapshot of site %s: ids: %w", site, err)
	}
	return snap, nil
}

func (s *Store) snapshotMachines(ctx context.Context, site string) ([]Machine, error) {
	rows, err := s.db.Query(ctx, selectSnapshotMachines, site)
	if err != nil {
		return nil, fmt.Errorf("snapshot machines of %s: %w", site, err)
	}
	var out []Machine
	idx := map[string]int{}
	for rows.Next() {
		var m Machine
		var pm string
		var seq, at int64
		var lat, lng, tmax sql.NullFloat64
		if err := rows.Scan(&m.Site, &m.MachineID, &m.City, &m.Building, &lat, &lng, &pm,
			&m.Status, &tmax, &m.Action, &seq, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("snapshot machines of %s: %w", site, err)
		}
		m.Lat, m.Lng, m.TempMaxC = floatPtr(lat), floatPtr(lng), floatPtr(tmax)
		m.Seq, m.EventTime = uint64(seq), fromMS(at)
		if err := json.Unmarshal([]byte(pm), &m.PaymentMethods); err != nil {
			rows.Close()
			return nil, fmt.Errorf("machine %s: payment methods: %w", m.MachineID, err)
		}
		idx[m.MachineID] = len(out)
		out = append(out, m)
	}
	err = errors.Join(rows.Err(), rows.Close())
	if err != nil {
		return nil, fmt.Errorf("snapshot machines of %s: %w", site, err)
	}
	prows, err := s.db.Query(ctx, selectSnapshotProducts, site)
	if err != nil {
		return nil, fmt.Errorf("snapshot products of %s: %w", site, err)
	}
	defer prows.Close()
	for prows.Next() {
		var machine string
		var p MachineProduct
		var par sql.NullInt64
		var at int64
		if err := prows.Scan(&machine, &p.ProductID, &p.Name, &p.PriceCents, &p.Quantity, &p.ExpiryDate, &p.LowStockLimit,
			&par, &p.CasePack, &at); err != nil {
			return nil, fmt.Errorf("snapshot products of %s: %w", site, err)
		}
		if par.Valid {
			v := par.Int64
			p.ParLevel = &v
		}
		p.UpdatedAt = fromMS(at)
		// A count can arrive (a sale) before its machine's registration
		// (another batch): a product of an unknown machine waits for it.
		if i, ok := idx[machine]; ok {
			out[i].Products = append(out[i].Products, p)
		}
	}
	if err := prows.Err(); err != nil {
		return nil, fmt.Errorf("snapshot products of %s: %w", site, err)
	}
	return out, nil
}
