package readmodel

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/forecast"
)

// The read model is the demand forecast job's storage (central/forecast).
var _ forecast.Store = (*Store)(nil)

const (
	selectForecastSites = `SELECT s.site, s.tz, s.contiguous, coalesce(f.seq, 0), coalesce(f.event_at, 0)
		FROM sites s LEFT JOIN forecast_sites f ON f.site = s.site ORDER BY s.site`
	selectForecastEvents = `SELECT seq, kind, event_time, json_extract(body, '$.data.machineId'), json_extract(body, '$.data.productId'),
			json_extract(body, '$.data.quantity'), json_extract(body, '$.data.stockAfter'), json_extract(body, '$.data.after')
		FROM raw_events WHERE site = ? AND seq > ? AND seq <= ? AND kind IN ('sale', 'stock', 'inventory') ORDER BY seq LIMIT ?`
	selectNewestEvent         = `SELECT coalesce(max(event_time), 0) FROM raw_events WHERE site = ? AND seq > ? AND seq <= ?`
	selectForecastSlots       = `SELECT machine_id, product_id, level, level_at, first_day, day, NULL FROM forecast_slots WHERE site = ?`
	selectForecastSlotsModels = `SELECT machine_id, product_id, level, level_at, first_day, day, state FROM forecast_slots WHERE site = ?`
	selectForecastHours       = `SELECT machine_id, product_id, hour, sold, empty_ms FROM forecast_hours WHERE site = ? AND hour >= ? AND hour < ?`
	upsertForecastSite        = `INSERT INTO forecast_sites (site, seq, event_at) VALUES (?, ?, ?)
		ON CONFLICT (site) DO UPDATE SET seq = excluded.seq, event_at = excluded.event_at`
	upsertForecastSlotHead = `INSERT INTO forecast_slots (site, machine_id, product_id, level, level_at, first_day, day, state)`
	upsertForecastSlotRow  = `(?,?,?,?,?,?,?,?)`
	upsertForecastSlotTail = `ON CONFLICT (site, machine_id, product_id) DO UPDATE SET level = excluded.level, level_at = excluded.level_at,
			day = coalesce(excluded.day, day), state = coalesce(excluded.state, state)`
	addForecastHourHead = `INSERT INTO forecast_hours (site, hour, machine_id, product_id, sold, empty_ms)`
	addForecastHourRow  = `(?,?,?,?,?,?)`
	addForecastHourTail = `ON CONFLICT (site, hour, machine_id, product_id) DO UPDATE SET sold = sold + excluded.sold, empty_ms = empty_ms + excluded.empty_ms`
	pruneForecastHours  = `DELETE FROM forecast_hours WHERE site = ? AND hour < ?`
)

// ForecastSites lists every site with the forecast job's progress.
func (s *Store) ForecastSites(ctx context.Context) ([]forecast.Site, error) {
	rows, err := s.db.Query(ctx, selectForecastSites)
	if err != nil {
		return nil, fmt.Errorf("forecast sites: %w", err)
	}
	defer rows.Close()
	var out []forecast.Site
	for rows.Next() {
		var f forecast.Site
		var contiguous, seq, at int64
		if err := rows.Scan(&f.Site, &f.TZ, &contiguous, &seq, &at); err != nil {
			return nil, fmt.Errorf("forecast sites: %w", err)
		}
		f.Contiguous, f.Seq, f.At = uint64(contiguous), uint64(seq), fromMS(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// ForecastEvents returns up to limit of site's sale, stock and inventory
// events with after < seq ≤ upto as forecast events, the last seq read and
// the newest event time of any kind up to it.
func (s *Store) ForecastEvents(ctx context.Context, site string, after, upto uint64, limit int) ([]forecast.Event, uint64, time.Time, error) {
	evs, last, err := s.forecastEvents(ctx, site, after, upto, limit)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	var newest int64
	if err := s.db.QueryRow(ctx, selectNewestEvent, site, int64(after), int64(last)).Scan(&newest); err != nil {
		return nil, 0, time.Time{}, fmt.Errorf("forecast events of %s: %w", site, err)
	}
	return evs, last, fromMS(newest), nil
}

func (s *Store) forecastEvents(ctx context.Context, site string, after, upto uint64, limit int) ([]forecast.Event, uint64, error) {
	rows, err := s.db.Query(ctx, selectForecastEvents, site, int64(after), int64(upto), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("forecast events of %s: %w", site, err)
	}
	defer rows.Close()
	var out []forecast.Event
	n, last := 0, upto
	for rows.Next() {
		var seq, at int64
		var kind string
		var machine, product sql.NullString
		var qty, stockAfter, movedAfter sql.NullInt64
		if err := rows.Scan(&seq, &kind, &at, &machine, &product, &qty, &stockAfter, &movedAfter); err != nil {
			return nil, 0, fmt.Errorf("forecast events of %s: %w", site, err)
		}
		n++
		last = uint64(seq)
		if machine.String == "" || product.String == "" {
			continue
		}
		e := forecast.Event{Slot: forecast.SlotKey{Machine: machine.String, Product: product.String}, At: fromMS(at)}
		switch kind {
		case "sale":
			e.Sold = qty.Int64
			e.After = intPtr(stockAfter)
		case "stock":
			e.After = intPtr(movedAfter)
		case "inventory":
			e.After = intPtr(qty)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("forecast events of %s: %w", site, err)
	}
	if n < limit {
		last = upto
	}
	return out, last, nil
}

func intPtr(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	x := v.Int64
	return &x
}

// ForecastSlots returns every slot of site with its level and last folded
// day, and with its model when models is set.
func (s *Store) ForecastSlots(ctx context.Context, site string, models bool) (map[forecast.SlotKey]forecast.SlotState, error) {
	q := selectForecastSlots
	if models {
		q = selectForecastSlotsModels
	}
	rows, err := s.db.Query(ctx, q, site)
	if err != nil {
		return nil, fmt.Errorf("forecast slots of %s: %w", site, err)
	}
	defer rows.Close()
	out := map[forecast.SlotKey]forecast.SlotState{}
	for rows.Next() {
		var k forecast.SlotKey
		var v forecast.SlotState
		var state []byte
		var day sql.NullInt64
		if err := rows.Scan(&k.Machine, &k.Product, &v.Level.Units, &v.Level.At, &v.Level.First, &day, &state); err != nil {
			return nil, fmt.Errorf("forecast slots of %s: %w", site, err)
		}
		v.Folded, v.Day = day.Valid, day.Int64
		if state != nil {
			v.State = new(forecast.State)
			if err := v.State.UnmarshalBinary(state); err != nil {
				return nil, fmt.Errorf("forecast slot %s/%s/%s: %w", site, k.Machine, k.Product, err)
			}
		}
		out[k] = v
	}
	return out, rows.Err()
}

// ForecastHours returns site's hourly observations with from ≤ hour < to.
func (s *Store) ForecastHours(ctx context.Context, site string, from, to int64) (map[forecast.HourKey]forecast.Hour, error) {
	rows, err := s.db.Query(ctx, selectForecastHours, site, from, to)
	if err != nil {
		return nil, fmt.Errorf("forecast hours of %s: %w", site, err)
	}
	defer rows.Close()
	out := map[forecast.HourKey]forecast.Hour{}
	for rows.Next() {
		var k forecast.HourKey
		var h forecast.Hour
		if err := rows.Scan(&k.Slot.Machine, &k.Slot.Product, &k.Hour, &h.Sold, &h.EmptyMS); err != nil {
			return nil, fmt.Errorf("forecast hours of %s: %w", site, err)
		}
		out[k] = h
	}
	return out, rows.Err()
}

// SaveForecast stores the job's progress for one site in one transaction
// (see forecast.Store).
func (s *Store) SaveForecast(ctx context.Context, site forecast.Site, slots map[forecast.SlotKey]forecast.SlotState,
	hours map[forecast.HourKey]forecast.Hour, pruneBefore int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("save forecast of %s: %w", site.Site, err)
	}
	err := func() error {
		if err := s.exec(ctx, upsertForecastSite, site.Site, int64(site.Seq), ms(site.At)); err != nil {
			return err
		}
		args := make([]any, 0, 8*len(slots))
		for _, k := range sortedSlots(slots) {
			v := slots[k]
			var day any
			var state []byte
			if v.State != nil {
				day = v.State.Day
				state, _ = v.State.MarshalBinary()
			}
			args = append(args, site.Site, k.Machine, k.Product, v.Level.Units, v.Level.At, v.Level.First, day, state)
		}
		if err := s.execChunks(ctx, upsertForecastSlotHead, upsertForecastSlotRow, upsertForecastSlotTail, args, nil); err != nil {
			return err
		}
		keys := make([]forecast.HourKey, 0, len(hours))
		for k := range hours {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b forecast.HourKey) int { // the table's key order
			return cmp.Or(cmp.Compare(a.Hour, b.Hour), cmp.Compare(a.Slot.Machine, b.Slot.Machine), cmp.Compare(a.Slot.Product, b.Slot.Product))
		})
		args = make([]any, 0, 6*len(hours))
		for _, k := range keys {
			h := hours[k]
			args = append(args, site.Site, k.Hour, k.Slot.Machine, k.Slot.Product, h.Sold, h.EmptyMS)
		}
		if err := s.execChunks(ctx, addForecastHourHead, addForecastHourRow, addForecastHourTail, args, nil); err != nil {
			return err
		}
		if pruneBefore > 0 {
			return s.exec(ctx, pruneForecastHours, site.Site, pruneBefore)
		}
		return nil
	}()
	if err != nil {
		s.rollback()
		return fmt.Errorf("save forecast of %s: %w", site.Site, err)
	}
	if err := s.commit(ctx); err != nil {
		return fmt.Errorf("save forecast of %s: %w", site.Site, err)
	}
	return nil
}

// sortedSlots returns the slots' keys in the table's key order.
func sortedSlots(m map[forecast.SlotKey]forecast.SlotState) []forecast.SlotKey {
	keys := make([]forecast.SlotKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b forecast.SlotKey) int {
		return cmp.Or(cmp.Compare(a.Machine, b.Machine), cmp.Compare(a.Product, b.Product))
	})
	return keys
}

// ForecastFilter narrows Forecasts; empty fields match everything.
type ForecastFilter struct {
	Site, Machine, Product, City string
}

// SlotForecast is one machine × product's model with what the read model
// knows of the slot now.
type SlotForecast struct {
	Site, MachineID, ProductID, Name, City string
	// Quantity is the slot's last reported count.
	Quantity int64
	State    forecast.State
}

// Forecasts returns the model of every slot matching f that has one,
// ordered by site, machine and product. A bad stored model is an error.
func (s *Store) Forecasts(ctx context.Context, f ForecastFilter) ([]SlotForecast, error) {
	q := `SELECT fs.site, fs.machine_id, fs.product_id, coalesce(mp.name, ''), coalesce(m.city, ''), coalesce(mp.quantity, fs.level), fs.state
		FROM forecast_slots fs
		LEFT JOIN machine_products mp ON mp.site = fs.site AND mp.machine_id = fs.machine_id AND mp.product_id = fs.product_id
		LEFT JOIN machines m ON m.site = fs.site AND m.machine_id = fs.machine_id
		WHERE fs.state IS NOT NULL`
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"fs.site", f.Site}, {"fs.machine_id", f.Machine}, {"fs.product_id", f.Product}, {"m.city", f.City}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if len(where) > 0 {
		q += " AND " + strings.Join(where, " AND ")
	}
	q += " ORDER BY fs.site, fs.machine_id, fs.product_id"
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("forecasts: %w", err)
	}
	defer rows.Close()
	out := []SlotForecast{}
	for rows.Next() {
		var r SlotForecast
		var state []byte
		if err := rows.Scan(&r.Site, &r.MachineID, &r.ProductID, &r.Name, &r.City, &r.Quantity, &state); err != nil {
			return nil, fmt.Errorf("forecasts: %w", err)
		}
		if err := r.State.UnmarshalBinary(state); err != nil {
			return nil, fmt.Errorf("forecast %s/%s/%s: %w", r.Site, r.MachineID, r.ProductID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DemandPerDay returns the expected sales per day (averaged over the next
// week, forecast.DefaultParams) of every slot that has a forecast, keyed by
// site then slot. The driver's route fills for it.
func (s *Store) DemandPerDay(ctx context.Context) (map[string]map[forecast.SlotKey]float64, error) {
	rows, err := s.Forecasts(ctx, ForecastFilter{})
	if err != nil {
		return nil, err
	}
	p := forecast.DefaultParams()
	out := map[string]map[forecast.SlotKey]float64{}
	for _, r := range rows {
		if out[r.Site] == nil {
			out[r.Site] = map[forecast.SlotKey]float64{}
		}
		out[r.Site][forecast.SlotKey{Machine: r.MachineID, Product: r.ProductID}] = r.State.PerDay(p)
	}
	return out, nil
}

// ProductDemand returns the expected units per day of each product summed
// over the slots matching f (say, the sites a depot serves), from the
// demand forecast; products without a forecast are absent. It is the
// demand a replenishment plan over a lead time multiplies: units over L
// days ≈ ProductDemand × L.
func (s *Store) ProductDemand(ctx context.Context, f ForecastFilter) (map[string]float64, error) {
	rows, err := s.Forecasts(ctx, f)
	if err != nil {
		return nil, err
	}
	p := forecast.DefaultParams()
	out := map[string]float64{}
	for _, r := range rows {
		out[r.ProductID] += r.State.PerDay(p)
	}
	return out, nil
}

// ForecastDemand answers replenishment's demand question (the shape of
// wt-po's purchasing.DemandSource: DailyDemand and Name) from the demand
// forecast instead of a trailing average: expected units per day of each
// product at the machines a depot supplies (its city, through CityOf; the
// whole fleet when CityOf is nil or answers ""). Products without a
// forecast are absent. asOf is not used: a forecast is as of its last
// complete day.
type ForecastDemand struct {
	Store  *Store
	CityOf func(ctx context.Context, depotID string) (string, error)
}

// Name says where the figures come from.
func (f ForecastDemand) Name() string {
	return "demand forecast per day over the next 7 days (sold-out hours censored)"
}

// DailyDemand returns the expected units per day per product for depotID.
// It returns CityOf's error as is (say, the depot is unknown).
func (f ForecastDemand) DailyDemand(ctx context.Context, depotID string, _ time.Time) (map[string]float64, error) {
	var city string
	if f.CityOf != nil {
		c, err := f.CityOf(ctx, depotID)
		if err != nil {
			return nil, err
		}
		city = c
	}
	return f.Store.ProductDemand(ctx, ForecastFilter{City: city})
}
