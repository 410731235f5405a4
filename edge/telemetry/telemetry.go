// Package telemetry records machines' health readings (seed 000 POST
// /events/telemetry), keeps each machine's latest state (power, door,
// temperature and since when) in memory and in machine_state, and raises the
// machine alerts that follow, from readings and from the periodic sweep
// (decided by edge/alert). Only state changes and periodic summaries go up
// to central, not every reading.
package telemetry

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Config tunes the telemetry rules. DefaultConfig gives the defaults.
type Config struct {
	Thresholds alert.Thresholds
	// MaxClockSkew is how far in the future a reading's timestamp may be.
	MaxClockSkew time.Duration
	// SummaryEvery is how often a machine's telemetry summary goes up to
	// central when nothing changes.
	SummaryEvery time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Thresholds: alert.DefaultThresholds(), MaxClockSkew: 5 * time.Minute, SummaryEvery: 5 * time.Minute}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if err := c.Thresholds.Validate(); err != nil {
		return err
	}
	switch {
	case c.MaxClockSkew < 0:
		return fmt.Errorf("max clock skew must not be negative")
	case c.SummaryEvery <= 0:
		return fmt.Errorf("telemetry summary interval must be positive")
	}
	return nil
}

// In is a machine's health reading (seed 000 POST /events/telemetry).
type In struct {
	MachineID   string   `json:"machineId"`
	Temperature *float64 `json:"temperature"`
	PowerStatus string   `json:"powerStatus"`
	DoorStatus  string   `json:"doorStatus"`
	Timestamp   string   `json:"timestamp"`
}

// state is a machine's latest reported state.
type state struct {
	lastTel       int64 // unix ms of the newest reading, 0 = never
	temp          *float64
	power, door   string
	tempHighSince int64
	doorOpenSince int64
	lastSummary   int64 // not persisted: a restart sends one summary early
}

// Rules records readings and keeps the machines' health alerts.
type Rules struct {
	w        *ingest.Writer
	machines *machine.Rules
	cfg      Config
	states   map[string]*state

	insert, upsertState *ingest.Stmt
	watcher             TemperatureWatcher
}

// TemperatureWatcher is told of every temperature reading of a machine, in
// the reading's transaction: highSince is when the machine went above its
// temperature limit (zero: it is not), at the reading's time. edge/lot
// implements it (the temperature lockout).
type TemperatureWatcher interface {
	Temperature(t *ingest.Tx, machineID string, highSince, at time.Time) error
}

// Watch makes w see every temperature reading (call before the writer opens).
func (r *Rules) Watch(w TemperatureWatcher) { r.watcher = w }

// New returns the telemetry rules, registered on w (before w.Open): a view
// of every machine's state, and a sweep for the time-driven machine alerts.
// It returns an error for a bad cfg.
func New(w *ingest.Writer, machines *machine.Rules, cfg Config) (*Rules, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("telemetry config: %w", err)
	}
	r := &Rules{
		w: w, machines: machines, cfg: cfg, states: map[string]*state{},
		insert: w.Prepare(`INSERT INTO telemetry_events (machine_id, temperature, power_status, door_status, event_time, received_at) VALUES (?, ?, ?, ?, ?, ?)`),
		upsertState: w.Prepare(`INSERT INTO machine_state (machine_id, last_telemetry_at, temperature, power_status, door_status, temp_high_since, door_open_since)
		VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, 0), NULLIF(?7, 0)) ON CONFLICT (machine_id) DO UPDATE SET last_telemetry_at = ?2, temperature = ?3, power_status = ?4,
		door_status = ?5, temp_high_since = NULLIF(?6, 0), door_open_since = NULLIF(?7, 0)`),
	}
	w.Register(r)
	w.OnSweep(r.sweep)
	return r, nil
}

// Load reads every machine's state (ingest.View).
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	r.states = map[string]*state{}
	rows, err := db.QueryContext(ctx, `SELECT machine_id, COALESCE(last_telemetry_at, 0), temperature, COALESCE(power_status, ''), COALESCE(door_status, ''),
		COALESCE(temp_high_since, 0), COALESCE(door_open_since, 0) FROM machine_state`)
	if err != nil {
		return fmt.Errorf("load machine state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		s := &state{}
		var id string
		if err := rows.Scan(&id, &s.lastTel, &s.temp, &s.power, &s.door, &s.tempHighSince, &s.doorOpenSince); err != nil {
			return fmt.Errorf("load machine state: %w", err)
		}
		r.states[id] = s
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load machine state: %w", err)
	}
	return nil
}

func (r *Rules) state(id string) *state {
	st := r.states[id]
	if st == nil {
		st = &state{}
		r.states[id] = st
	}
	return st
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Record stores a reading and updates the machine's alerts. machineScope,
// when not empty, is the only machine the caller may report for (a MACHINE
// token). It returns an *errs.Error for a reading it refuses: Invalid naming
// the field, Forbidden for another machine, Unprocessable UNKNOWN_MACHINE or
// Conflict MACHINE_DECOMMISSIONED.
func (r *Rules) Record(ctx context.Context, in In, machineScope string) error {
	if err := check.ID("machineId", in.MachineID); err != nil {
		return err
	}
	if err := machine.CheckScope(machineScope, in.MachineID); err != nil {
		return err
	}
	if in.Temperature == nil && in.PowerStatus == "" && in.DoorStatus == "" {
		return errs.Invalidf("", "a reading needs at least one of temperature, powerStatus, doorStatus")
	}
	if v := in.Temperature; v != nil && (math.IsNaN(*v) || *v < -50 || *v > 100) {
		return errs.Invalidf("temperature", "temperature %v: must be between -50 and 100 °C", *v)
	}
	in.PowerStatus = strings.ToUpper(in.PowerStatus)
	in.DoorStatus = strings.ToUpper(in.DoorStatus)
	if in.PowerStatus != "" && in.PowerStatus != "ON" && in.PowerStatus != "OFF" {
		return errs.Invalidf("powerStatus", "powerStatus %q: must be ON or OFF", in.PowerStatus)
	}
	if in.DoorStatus != "" && in.DoorStatus != "OPEN" && in.DoorStatus != "CLOSED" {
		return errs.Invalidf("doorStatus", "doorStatus %q: must be OPEN or CLOSED", in.DoorStatus)
	}
	at, err := check.Timestamp("timestamp", in.Timestamp, r.w.Now(), r.cfg.MaxClockSkew)
	if err != nil {
		return err
	}
	return r.w.Do(ctx, func(t *ingest.Tx) error { return r.record(t, in, at) })
}

func (r *Rules) record(t *ingest.Tx, in In, at time.Time) error {
	m, err := r.machines.Reporting(in.MachineID)
	if err != nil {
		return err
	}
	if _, err := t.Exec(r.insert, in.MachineID, in.Temperature, nullable(in.PowerStatus), nullable(in.DoorStatus), at.UnixMilli(), t.Now().UnixMilli()); err != nil {
		return fmt.Errorf("insert telemetry: %w", err)
	}
	st := r.state(in.MachineID)
	ms := at.UnixMilli()
	if ms < st.lastTel {
		return nil // an older reading arriving late: kept raw, state is newer
	}
	changed := (in.PowerStatus != "" && in.PowerStatus != st.power) || (in.DoorStatus != "" && in.DoorStatus != st.door)
	st.lastTel = ms
	if in.Temperature != nil {
		st.temp = in.Temperature
		if *in.Temperature > r.cfg.Thresholds.TempMax(m.TempMaxC) {
			if st.tempHighSince == 0 {
				st.tempHighSince = ms
				changed = true
			}
		} else if st.tempHighSince != 0 {
			st.tempHighSince = 0
			changed = true
		}
	}
	if in.PowerStatus != "" {
		st.power = in.PowerStatus
	}
	if in.DoorStatus != "" {
		st.door = in.DoorStatus
		if st.door == "OPEN" && st.doorOpenSince == 0 {
			st.doorOpenSince = ms
		} else if st.door == "CLOSED" {
			st.doorOpenSince = 0
		}
	}
	if _, err := t.Exec(r.upsertState, in.MachineID, st.lastTel, st.temp, nullable(st.power), nullable(st.door), st.tempHighSince, st.doorOpenSince); err != nil {
		return fmt.Errorf("update machine state: %w", err)
	}
	if err := r.cfg.Thresholds.CheckMachine(t, r.health(m, st), at, true); err != nil {
		return err
	}
	if r.watcher != nil && in.Temperature != nil {
		var since time.Time
		if st.tempHighSince != 0 {
			since = time.UnixMilli(st.tempHighSince)
		}
		if err := r.watcher.Temperature(t, m.ID, since, at); err != nil {
			return err
		}
	}
	if changed || ms-st.lastSummary >= r.cfg.SummaryEvery.Milliseconds() {
		reason := "SUMMARY"
		if changed {
			reason = "CHANGE"
		}
		st.lastSummary = ms
		_, err := t.Emit(envelope.KindTelemetry, at, envelope.Telemetry{MachineID: m.ID, Temperature: st.temp, PowerStatus: st.power, DoorStatus: st.door, Reason: reason})
		return err
	}
	return nil
}

// health is a machine's state as the machine alerts see it.
func (r *Rules) health(m *machine.Machine, st *state) alert.Machine {
	return alert.Machine{ID: m.ID, Status: m.Status, Registered: m.Registered, TempMaxC: r.cfg.Thresholds.TempMax(m.TempMaxC),
		PowerOff: st.power == "OFF", DoorOpenSince: msTime(st.doorOpenSince), TempHighSince: msTime(st.tempHighSince), LastReading: msTime(st.lastTel)}
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// sweep evaluates the time-driven machine alerts as of the transaction's
// clock: machines offline, doors open and temperatures high for too long
// with no new reading.
func (r *Rules) sweep(t *ingest.Tx) error {
	return r.machines.Each(func(m *machine.Machine) error {
		return r.cfg.Thresholds.CheckMachine(t, r.health(m, r.state(m.ID)), t.Now(), false)
	})
}
