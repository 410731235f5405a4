// Package machine owns a site's machines: registering, changing and
// decommissioning them (seed 000 /machines), and the in-memory view of them
// that every other rule package asks whether a machine exists, takes events
// and where it stands.
package machine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Machine is a registered machine as the rules see it. Read it only inside
// a writer transaction; only this package changes it.
type Machine struct {
	ID, Status, City, Building string
	Lat, Lng                   *float64
	PaymentMethods             []string
	// TempMaxC is the machine's own temperature limit (nil: the site's default).
	TempMaxC   *float64
	Registered time.Time
}

// Decommissioned says the machine is retired: it takes no events.
func (m *Machine) Decommissioned() bool { return m.Status == Decommissioned }

// Location is where the machine stands.
func (m *Machine) Location() store.Location {
	return store.Location{City: m.City, Building: m.Building, Lat: m.Lat, Lng: m.Lng}
}

// Decommissioned is the status of a retired machine (DELETE /machines/{id}).
const Decommissioned = "DECOMMISSIONED"

// Statuses a machine can be set to; DELETE decommissions.
var settableStatus = []string{"ACTIVE", "INACTIVE", "UNDER_MAINTENANCE"}

// LocationIn is a machine's location as posted.
type LocationIn struct {
	City     string   `json:"city"`
	Building string   `json:"building"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
}

// In registers a machine (seed 000 POST /machines).
type In struct {
	MachineID      string      `json:"machineId"`
	Location       *LocationIn `json:"location"`
	PaymentMethods []string    `json:"paymentMethods"`
	Status         string      `json:"status"`
	TemperatureMax *float64    `json:"temperatureMax"`
}

// LocationPatch changes some of a machine's location fields.
type LocationPatch struct {
	City     *string  `json:"city"`
	Building *string  `json:"building"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
}

// Patch changes a machine (seed 000 PATCH /machines/{id}).
type Patch struct {
	Location       *LocationPatch `json:"location"`
	PaymentMethods []string       `json:"paymentMethods"`
	Status         *string        `json:"status"`
	TemperatureMax *float64       `json:"temperatureMax"`
}

// Rules registers and changes machines, and keeps them in memory for the
// other rule packages.
type Rules struct {
	w                           *ingest.Writer
	machines                    map[string]*Machine
	insert, insertState, update *ingest.Stmt
}

// New returns the machine rules, registered on w (before w.Open).
func New(w *ingest.Writer) *Rules {
	r := &Rules{
		w:           w,
		machines:    map[string]*Machine{},
		insert:      w.Prepare(insertMachine),
		insertState: w.Prepare(`INSERT INTO machine_state (machine_id) VALUES (?)`),
		update:      w.Prepare(updateMachine),
	}
	w.Register(r)
	return r
}

const (
	insertMachine = `INSERT INTO vending_machines (machine_id, city, building, latitude, longitude, payment_methods, status, temp_max_c, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateMachine = `UPDATE vending_machines SET city = ?, building = ?, latitude = ?, longitude = ?, payment_methods = ?,
		status = ?, temp_max_c = ?, updated_at = ?, decommissioned_at = COALESCE(decommissioned_at, ?) WHERE machine_id = ?`
)

// Load reads every machine (ingest.View).
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	r.machines = map[string]*Machine{}
	rows, err := db.QueryContext(ctx, `SELECT machine_id, status, city, building, latitude, longitude, payment_methods, temp_max_c, created_at FROM vending_machines`)
	if err != nil {
		return fmt.Errorf("load machines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m := &Machine{}
		var pm string
		var created int64
		if err := rows.Scan(&m.ID, &m.Status, &m.City, &m.Building, &m.Lat, &m.Lng, &pm, &m.TempMaxC, &created); err != nil {
			return fmt.Errorf("load machines: %w", err)
		}
		_ = json.Unmarshal([]byte(pm), &m.PaymentMethods)
		m.Registered = time.UnixMilli(created)
		r.machines[m.ID] = m
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load machines: %w", err)
	}
	return nil
}

// Get returns machine id, nil if it is not registered. Call it only inside
// a writer transaction.
func (r *Rules) Get(id string) *Machine { return r.machines[id] }

// Each calls fn for every machine that is not decommissioned, in the order
// of their ids, until fn returns an error. The order is fixed so that what
// fn writes (a sweep's alerts and their ids) is the same whenever the same
// transaction runs again: the intake log's recovery depends on it. Call it
// only inside a writer transaction.
func (r *Rules) Each(fn func(*Machine) error) error {
	for _, id := range slices.Sorted(maps.Keys(r.machines)) {
		m := r.machines[id]
		if m.Decommissioned() {
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Reporting returns a machine that may report events (sales, readings,
// faults): 422 UNKNOWN_MACHINE if it is not registered, 409
// MACHINE_DECOMMISSIONED if it is retired.
func (r *Rules) Reporting(id string) (*Machine, error) {
	m := r.machines[id]
	if m == nil {
		return nil, errs.Errorf(errs.Unprocessable, "UNKNOWN_MACHINE", "machineId", "machine %q is not registered at this site", id)
	}
	if m.Decommissioned() {
		return nil, ErrDecommissioned(id)
	}
	return m, nil
}

// Find returns a machine an operator changes (itself, its products, its
// stock): 404 NOT_FOUND if it is not registered, 409 MACHINE_DECOMMISSIONED
// if it is retired.
func (r *Rules) Find(id string) (*Machine, error) {
	m := r.machines[id]
	if m == nil {
		return nil, errs.NotFoundf("machineId", "machine %q is not registered", id)
	}
	if m.Decommissioned() {
		return nil, ErrDecommissioned(id)
	}
	return m, nil
}

// CheckScope refuses a MACHINE token, bound to machine scope, posting for
// another machine id: Forbidden FORBIDDEN. scope "" (any other token) may
// post for every machine.
func CheckScope(scope, id string) error {
	if scope != "" && id != scope {
		return errs.Forbiddenf("machineId", "this token belongs to machine %q and cannot post for %q", scope, id)
	}
	return nil
}

// ErrDecommissioned is the 409 MACHINE_DECOMMISSIONED error for machine id.
func ErrDecommissioned(id string) *errs.Error {
	return errs.Errorf(errs.Conflict, "MACHINE_DECOMMISSIONED", "machineId", "machine %q is decommissioned", id)
}

func normStatus(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "MAINTENANCE" {
		s = "UNDER_MAINTENANCE"
	}
	if !slices.Contains(settableStatus, s) {
		return "", errs.Invalidf("status", "status %q: must be ACTIVE, INACTIVE or UNDER_MAINTENANCE (DELETE decommissions)", s)
	}
	return s, nil
}

func checkCoords(lat, lng *float64) error {
	if lat != nil && (math.IsNaN(*lat) || *lat < -90 || *lat > 90) {
		return errs.Invalidf("location.lat", "lat %v: must be between -90 and 90", *lat)
	}
	if lng != nil && (math.IsNaN(*lng) || *lng < -180 || *lng > 180) {
		return errs.Invalidf("location.lng", "lng %v: must be between -180 and 180", *lng)
	}
	return nil
}

func checkPayments(pm []string) ([]string, error) {
	out := make([]string, 0, len(pm))
	for _, p := range pm {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" || len(p) > 32 {
			return nil, errs.Invalidf("paymentMethods", "payment method %q: must be 1 to 32 characters", p)
		}
		if _, err := wire.ParsePaymentMethod(p); err != nil {
			return nil, errs.Invalidf("paymentMethods", "%v", err)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func checkTemp(v *float64) error {
	return check.Temperature("temperatureMax", v, -40, 60)
}

func event(m *Machine, action string) envelope.Machine {
	return envelope.Machine{MachineID: m.ID, City: m.City, Building: m.Building, Lat: m.Lat, Lng: m.Lng,
		PaymentMethods: m.PaymentMethods, Status: m.Status, TempMaxC: m.TempMaxC, Action: action}
}

// Register registers a machine, audited as done by by. It returns an
// errs.Invalid error naming the bad field, or 409 MACHINE_EXISTS for a
// machine id already registered (decommissioned ones included: ids are never
// reused, so history stays unambiguous).
func (r *Rules) Register(ctx context.Context, in In, by string) error {
	if err := check.ID("machineId", in.MachineID); err != nil {
		return err
	}
	if in.Location == nil {
		return errs.Invalidf("location", "location is required")
	}
	if strings.TrimSpace(in.Location.City) == "" {
		return errs.Invalidf("location.city", "location.city is required")
	}
	if err := checkCoords(in.Location.Lat, in.Location.Lng); err != nil {
		return err
	}
	pm, err := checkPayments(in.PaymentMethods)
	if err != nil {
		return err
	}
	status := "ACTIVE"
	if in.Status != "" {
		if status, err = normStatus(in.Status); err != nil {
			return err
		}
	}
	if err := checkTemp(in.TemperatureMax); err != nil {
		return err
	}
	return r.w.Do(ctx, func(t *ingest.Tx) error {
		if _, ok := r.machines[in.MachineID]; ok {
			return errs.Errorf(errs.Conflict, "MACHINE_EXISTS", "machineId", "machine %q is already registered", in.MachineID)
		}
		created := t.Now().UnixMilli()
		m := &Machine{ID: in.MachineID, Status: status, City: strings.TrimSpace(in.Location.City), Building: strings.TrimSpace(in.Location.Building),
			Lat: in.Location.Lat, Lng: in.Location.Lng, PaymentMethods: pm, TempMaxC: in.TemperatureMax, Registered: time.UnixMilli(created)}
		pmJSON, _ := json.Marshal(pm)
		if _, err := t.Exec(r.insert, m.ID, m.City, m.Building, m.Lat, m.Lng, string(pmJSON), m.Status, m.TempMaxC, created, created); err != nil {
			return fmt.Errorf("insert machine: %w", err)
		}
		if _, err := t.Exec(r.insertState, m.ID); err != nil {
			return fmt.Errorf("insert machine state: %w", err)
		}
		r.machines[m.ID] = m
		ev := event(m, "REGISTERED")
		if err := t.Audit("machine", m.ID, "REGISTER", by, ev); err != nil {
			return err
		}
		_, err := t.Emit(envelope.KindMachine, t.Now(), ev)
		return err
	})
}

// Update changes a machine's status, location, payment methods or
// temperature limit, audited as done by by. It returns an errs.Invalid error
// naming the bad field, 404 NOT_FOUND for an unknown machine or 409
// MACHINE_DECOMMISSIONED.
func (r *Rules) Update(ctx context.Context, id string, p Patch, by string) error {
	if p.Location == nil && p.PaymentMethods == nil && p.Status == nil && p.TemperatureMax == nil {
		return errs.Invalidf("", "nothing to change: give status, location, paymentMethods or temperatureMax")
	}
	var status string
	if p.Status != nil {
		var err error
		if status, err = normStatus(*p.Status); err != nil {
			return err
		}
	}
	if p.Location != nil {
		if p.Location.City != nil && strings.TrimSpace(*p.Location.City) == "" {
			return errs.Invalidf("location.city", "location.city must not be empty")
		}
		if err := checkCoords(p.Location.Lat, p.Location.Lng); err != nil {
			return err
		}
	}
	var pm []string
	if p.PaymentMethods != nil {
		var err error
		if pm, err = checkPayments(p.PaymentMethods); err != nil {
			return err
		}
	}
	if err := checkTemp(p.TemperatureMax); err != nil {
		return err
	}
	return r.w.Do(ctx, func(t *ingest.Tx) error {
		m, err := r.Find(id)
		if err != nil {
			return err
		}
		n := *m
		if p.Status != nil {
			n.Status = status
		}
		if l := p.Location; l != nil {
			if l.City != nil {
				n.City = strings.TrimSpace(*l.City)
			}
			if l.Building != nil {
				n.Building = strings.TrimSpace(*l.Building)
			}
			if l.Lat != nil {
				n.Lat = l.Lat
			}
			if l.Lng != nil {
				n.Lng = l.Lng
			}
		}
		if pm != nil {
			n.PaymentMethods = pm
		}
		if p.TemperatureMax != nil {
			n.TempMaxC = p.TemperatureMax
		}
		if err := r.save(t, &n); err != nil {
			return err
		}
		*m = n
		if err := t.Audit("machine", id, "UPDATE", by, p); err != nil {
			return err
		}
		_, err = t.Emit(envelope.KindMachine, t.Now(), event(m, "UPDATED"))
		return err
	})
}

func (r *Rules) save(t *ingest.Tx, m *Machine) error {
	pmJSON, _ := json.Marshal(m.PaymentMethods)
	var decom any
	if m.Decommissioned() {
		decom = t.Now().UnixMilli()
	}
	if _, err := t.Exec(r.update, m.City, m.Building, m.Lat, m.Lng, string(pmJSON), m.Status, m.TempMaxC, t.Now().UnixMilli(), decom, m.ID); err != nil {
		return fmt.Errorf("update machine: %w", err)
	}
	return nil
}

// Decommission retires a machine, audited as done by by: its history stays,
// it takes no new events, and its open alerts (its products' too) close. It
// returns 404 NOT_FOUND for an unknown machine or 409 MACHINE_DECOMMISSIONED.
func (r *Rules) Decommission(ctx context.Context, id, by string) error {
	return r.w.Do(ctx, func(t *ingest.Tx) error {
		m, err := r.Find(id)
		if err != nil {
			return err
		}
		n := *m
		n.Status = Decommissioned
		if err := r.save(t, &n); err != nil {
			return err
		}
		*m = n
		if err := t.CloseAlerts(id, "DECOMMISSIONED"); err != nil {
			return err
		}
		if err := t.Audit("machine", id, "DECOMMISSION", by, map[string]string{}); err != nil {
			return err
		}
		_, err = t.Emit(envelope.KindMachine, t.Now(), event(m, "DECOMMISSIONED"))
		return err
	})
}
