package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// SiteMachines lists a site's machines that are not decommissioned.
func (s *Store) SiteMachines(ctx context.Context, site string) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT machine_id FROM machines WHERE site = ? AND status <> 'DECOMMISSIONED' ORDER BY machine_id`, site)
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
	rows, err := s.db.Query(ctx, `SELECT json_extract(body, '$.data.machineId'), MAX(event_time) FROM raw_events
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

// RouteMachines returns every machine of the fleet with its products, keyed
// by site and machine id, in two queries: what a route ranking reads, without
// a query per machine. Telemetry is not loaded.
func (s *Store) RouteMachines(ctx context.Context) (map[string]map[string]Machine, error) {
	rows, err := s.db.Query(ctx, `SELECT site, machine_id, city, building, latitude, longitude, payment_methods,
			status, temp_max_c, action, seq, event_time FROM machines`)
	if err != nil {
		return nil, fmt.Errorf("route machines: %w", err)
	}
	out := map[string]map[string]Machine{}
	for rows.Next() {
		var m Machine
		var pm string
		var seq, at int64
		var lat, lng, tmax sql.NullFloat64
		if err := rows.Scan(&m.Site, &m.MachineID, &m.City, &m.Building, &lat, &lng, &pm,
			&m.Status, &tmax, &m.Action, &seq, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("route machines: %w", err)
		}
		m.Lat, m.Lng, m.TempMaxC = floatPtr(lat), floatPtr(lng), floatPtr(tmax)
		m.Seq, m.EventTime = uint64(seq), fromMS(at)
		if err := json.Unmarshal([]byte(pm), &m.PaymentMethods); err != nil {
			rows.Close()
			return nil, fmt.Errorf("route machines: %s/%s payment methods: %w", m.Site, m.MachineID, err)
		}
		m.Products = []MachineProduct{}
		if out[m.Site] == nil {
			out[m.Site] = map[string]Machine{}
		}
		out[m.Site][m.MachineID] = m
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("route machines: %w", err)
	}
	rows.Close()

	rows, err = s.db.Query(ctx, `SELECT site, machine_id, product_id, name, price_cents, quantity, expiry_date,
			low_stock_limit, par_level, case_pack, updated_at, capacity
		FROM machine_products ORDER BY site, machine_id, product_id`)
	if err != nil {
		return nil, fmt.Errorf("route machine products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var site, id string
		var p MachineProduct
		var par, capacity sql.NullInt64
		var up int64
		if err := rows.Scan(&site, &id, &p.ProductID, &p.Name, &p.PriceCents, &p.Quantity, &p.ExpiryDate,
			&p.LowStockLimit, &par, &p.CasePack, &up, &capacity); err != nil {
			return nil, fmt.Errorf("route machine products: %w", err)
		}
		m, ok := out[site][id]
		if !ok {
			continue // products of a machine central has no row for
		}
		if par.Valid {
			v := par.Int64
			p.ParLevel = &v
		}
		if capacity.Valid {
			v := capacity.Int64
			p.Capacity = &v
		}
		p.UpdatedAt = fromMS(up)
		m.Products = append(m.Products, p)
		out[site][id] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("route machine products: %w", err)
	}
	return out, nil
}

// AllLastRestocks is LastRestocks for every site in one scan, keyed by site
// then machine.
func (s *Store) AllLastRestocks(ctx context.Context) (map[string]map[string]time.Time, error) {
	rows, err := s.db.Query(ctx, `SELECT site, json_extract(body, '$.data.machineId'), MAX(event_time) FROM raw_events
		WHERE kind = 'stock' AND json_extract(body, '$.data.reason') = 'RESTOCK' GROUP BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("last restocks: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]time.Time{}
	for rows.Next() {
		var site, id string
		var ms int64
		if err := rows.Scan(&site, &id, &ms); err != nil {
			return nil, fmt.Errorf("last restocks: %w", err)
		}
		if out[site] == nil {
			out[site] = map[string]time.Time{}
		}
		out[site][id] = time.UnixMilli(ms).UTC()
	}
	return out, rows.Err()
}
