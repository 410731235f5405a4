package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// TelemetryIn is a machine's health reading (seed 000 POST /events/telemetry).
type TelemetryIn struct {
	MachineID   string   `json:"machineId"`
	Temperature *float64 `json:"temperature"`
	PowerStatus string   `json:"powerStatus"`
	DoorStatus  string   `json:"doorStatus"`
	Timestamp   string   `json:"timestamp"`
}

// RecordTelemetry stores a reading and updates the machine's alerts. Only
// state changes and periodic summaries go up to central.
func (w *Writer) RecordTelemetry(ctx context.Context, in TelemetryIn, machineScope string) error {
	if e := ValidID("machineId", in.MachineID); e != nil {
		return e
	}
	if machineScope != "" && in.MachineID != machineScope {
		return errOtherMachine(machineScope, in.MachineID)
	}
	if in.Temperature == nil && in.PowerStatus == "" && in.DoorStatus == "" {
		return web.Invalid("", "a reading needs at least one of temperature, powerStatus, doorStatus")
	}
	if v := in.Temperature; v != nil && (math.IsNaN(*v) || *v < -50 || *v > 100) {
		return web.Invalid("temperature", "temperature %v: must be between -50 and 100 °C", *v)
	}
	in.PowerStatus = strings.ToUpper(in.PowerStatus)
	in.DoorStatus = strings.ToUpper(in.DoorStatus)
	if in.PowerStatus != "" && in.PowerStatus != "ON" && in.PowerStatus != "OFF" {
		return web.Invalid("powerStatus", "powerStatus %q: must be ON or OFF", in.PowerStatus)
	}
	if in.DoorStatus != "" && in.DoorStatus != "OPEN" && in.DoorStatus != "CLOSED" {
		return web.Invalid("doorStatus", "doorStatus %q: must be OPEN or CLOSED", in.DoorStatus)
	}
	at, e := ParseTimestamp("timestamp", in.Timestamp, w.cfg.Now(), w.cfg.MaxClockSkew)
	if e != nil {
		return e
	}
	_, err := w.Do(ctx, func(t *Tx) (any, error) { return nil, t.telemetry(in, at) })
	return err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *Tx) telemetry(in TelemetryIn, at time.Time) error {
	m := t.w.machines[in.MachineID]
	if m == nil {
		return errUnknownMachine(in.MachineID)
	}
	if m.status == "DECOMMISSIONED" {
		return errDecommissioned(in.MachineID)
	}
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO telemetry_events (machine_id, temperature, power_status, door_status, event_time, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
		in.MachineID, in.Temperature, nullable(in.PowerStatus), nullable(in.DoorStatus), at.UnixMilli(), t.now.UnixMilli()); err != nil {
		return fmt.Errorf("insert telemetry: %w", err)
	}
	st := t.w.states[in.MachineID]
	if st == nil {
		st = &mstate{}
		t.w.states[in.MachineID] = st
	}
	ms := at.UnixMilli()
	if ms < st.lastTel {
		return nil // an older reading arriving late: kept raw, state is newer
	}
	changed := (in.PowerStatus != "" && in.PowerStatus != st.power) || (in.DoorStatus != "" && in.DoorStatus != st.door)
	st.lastTel = ms
	if in.Temperature != nil {
		st.temp = in.Temperature
		if *in.Temperature > t.w.tempMax(m) {
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
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO machine_state (machine_id, last_telemetry_at, temperature, power_status, door_status, temp_high_since, door_open_since)
		VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, 0), NULLIF(?7, 0)) ON CONFLICT (machine_id) DO UPDATE SET last_telemetry_at = ?2, temperature = ?3, power_status = ?4,
		door_status = ?5, temp_high_since = NULLIF(?6, 0), door_open_since = NULLIF(?7, 0)`,
		in.MachineID, st.lastTel, st.temp, nullable(st.power), nullable(st.door), st.tempHighSince, st.doorOpenSince); err != nil {
		return fmt.Errorf("update machine state: %w", err)
	}
	if err := t.machineAlerts(m, st, at, true); err != nil {
		return err
	}
	if changed || ms-st.lastSummary >= t.w.cfg.TelemetrySummaryEvery.Milliseconds() {
		reason := "SUMMARY"
		if changed {
			reason = "CHANGE"
		}
		st.lastSummary = ms
		_, err := t.emit(envelope.KindTelemetry, at, envelope.Telemetry{MachineID: m.id, Temperature: st.temp, PowerStatus: st.power, DoorStatus: st.door, Reason: reason})
		return err
	}
	return nil
}

func (w *Writer) tempMax(m *machine) float64 {
	if m.tempMax != nil {
		return *m.tempMax
	}
	return w.cfg.Thresholds.TempMaxC
}

// machineAlerts brings POWER_OFF, DOOR_OPEN, TEMPERATURE_HIGH and
// MACHINE_OFFLINE in line with a machine's state as of at. fresh says the
// state was just reported (the machine is online).
func (t *Tx) machineAlerts(m *machine, st *mstate, at time.Time, fresh bool) error {
	th := t.w.cfg.Thresholds
	if err := t.setAlert(m.id, "", wire.PowerOff, st.power == "OFF", text("power reported OFF"), "POWER_ON"); err != nil {
		return err
	}
	doorHeld := alert.Held(msTime(st.doorOpenSince), at, th.DoorGrace)
	if err := t.setAlert(m.id, "", wire.DoorOpen, doorHeld, func() string { return fmt.Sprintf("door open longer than %s", th.DoorGrace) }, "DOOR_CLOSED"); err != nil {
		return err
	}
	tempHeld := alert.Held(msTime(st.tempHighSince), at, th.TempGrace)
	detail := func() string {
		return fmt.Sprintf("temperature above %.1f °C for longer than %s", t.w.tempMax(m), th.TempGrace)
	}
	if err := t.setAlert(m.id, "", wire.TemperatureHigh, tempHeld, detail, "TEMPERATURE_NORMAL"); err != nil {
		return err
	}
	offline := false
	if !fresh && m.status == "ACTIVE" {
		last := st.lastTel
		if last == 0 {
			last = m.created
		}
		offline = at.Sub(time.UnixMilli(last)) >= th.Offline
	}
	reason := "TELEMETRY_RECEIVED"
	if !fresh {
		reason = "STATUS_" + m.status // a sweep closes it only because the machine is no longer ACTIVE
	}
	return t.setAlert(m.id, "", wire.MachineOffline, offline, func() string { return fmt.Sprintf("no telemetry for %s", th.Offline) }, reason)
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Sweep evaluates the time-driven alerts as of now: machines offline, doors
// open and temperatures high for too long (with no new reading), and expiry in
// the site's timezone.
func (w *Writer) Sweep(ctx context.Context) error {
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		for _, m := range t.w.machines {
			if m.status == "DECOMMISSIONED" {
				continue
			}
			st := t.w.states[m.id]
			if st == nil {
				st = &mstate{}
				t.w.states[m.id] = st
			}
			if err := t.machineAlerts(m, st, t.now, false); err != nil {
				return nil, err
			}
		}
		for k, it := range t.w.items {
			if m := t.w.machines[k.machine]; m == nil || m.status == "DECOMMISSIONED" {
				continue
			}
			if err := t.expiryAlerts(k, it, "SWEEP"); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	return err
}

// FaultIn is a fault report (seed 000 POST /events/faults).
type FaultIn struct {
	MachineID   string `json:"machineId"`
	FaultType   string `json:"faultType"`
	Description string `json:"description"`
	Timestamp   string `json:"timestamp"`
}

// RecordFault opens a fault. With an idempotency key, a retried report
// answers with the first fault (replayed true) instead of opening another.
func (w *Writer) RecordFault(ctx context.Context, in FaultIn, idemKey, machineScope string) (f store.Fault, replayed bool, err error) {
	if e := ValidID("machineId", in.MachineID); e != nil {
		return f, false, e
	}
	if machineScope != "" && in.MachineID != machineScope {
		return f, false, errOtherMachine(machineScope, in.MachineID)
	}
	in.FaultType = strings.ToUpper(strings.TrimSpace(in.FaultType))
	if in.FaultType == "" || len(in.FaultType) > 64 || strings.ContainsAny(in.FaultType, " \t\n") {
		return f, false, web.Invalid("faultType", "faultType %q: required, one word of at most 64 characters, e.g. PAYMENT_FAILURE", in.FaultType)
	}
	if len(in.Description) > 2000 {
		return f, false, web.Invalid("description", "description is longer than 2000 characters")
	}
	if len(idemKey) > 128 {
		return f, false, web.Invalid("Idempotency-Key", "Idempotency-Key is longer than 128 characters")
	}
	at, e := ParseTimestamp("timestamp", in.Timestamp, w.cfg.Now(), w.cfg.MaxClockSkew)
	if e != nil {
		return f, false, e
	}
	h := sha256.Sum256([]byte(in.MachineID + "\x00" + in.FaultType + "\x00" + in.Description + "\x00" + at.UTC().Format(time.RFC3339Nano)))
	res, err := w.Do(ctx, func(t *Tx) (any, error) {
		if idemKey != "" {
			var id int64
			var prev []byte
			err := t.tx.QueryRowContext(t.ctx, `SELECT fault_id, body_hash FROM fault_events WHERE idempotency_key = ?`, idemKey).Scan(&id, &prev)
			if err == nil {
				if !bytes.Equal(prev, h[:]) {
					return nil, web.Errorf(http.StatusConflict, "IDEMPOTENCY_CONFLICT", "Idempotency-Key", "fault %q was already reported with a different body", idemKey)
				}
				replayed = true
				return id, nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("find fault: %w", err)
			}
		}
		m := t.w.machines[in.MachineID]
		if m == nil {
			return nil, errUnknownMachine(in.MachineID)
		}
		if m.status == "DECOMMISSIONED" {
			return nil, errDecommissioned(in.MachineID)
		}
		var id int64
		if err := t.tx.QueryRowContext(t.ctx, `INSERT INTO fault_events (machine_id, fault_type, description, status, event_time, reported_at, updated_at, idempotency_key, body_hash)
			VALUES (?, ?, ?, 'OPEN', ?, ?, ?, ?, ?) RETURNING fault_id`, in.MachineID, in.FaultType, in.Description, at.UnixMilli(), t.now.UnixMilli(), t.now.UnixMilli(),
			nullable(idemKey), h[:]).Scan(&id); err != nil {
			return nil, fmt.Errorf("insert fault: %w", err)
		}
		_, err := t.emit(envelope.KindFault, at, envelope.Fault{FaultID: id, MachineID: in.MachineID, FaultType: in.FaultType,
			Description: in.Description, Status: "OPEN", ReportedAt: at.UTC()})
		return id, err
	})
	if err != nil {
		return f, false, err
	}
	f, err = w.st.Fault(ctx, res.(int64))
	return f, replayed, err
}

// FaultStatuses are the states of a fault.
var FaultStatuses = []string{"OPEN", "IN_PROGRESS", "RESOLVED"}

// UpdateFault changes a fault's status (seed 000 PATCH /faults/{id}).
func (w *Writer) UpdateFault(ctx context.Context, id int64, status, by string) (store.Fault, error) {
	status = strings.ToUpper(strings.TrimSpace(status))
	if status != "OPEN" && status != "IN_PROGRESS" && status != "RESOLVED" {
		return store.Fault{}, web.Invalid("status", "status %q: must be OPEN, IN_PROGRESS or RESOLVED", status)
	}
	_, err := w.Do(ctx, func(t *Tx) (any, error) {
		var cur, machineID, typ, desc string
		var ev int64
		err := t.tx.QueryRowContext(t.ctx, `SELECT status, machine_id, fault_type, description, event_time FROM fault_events WHERE fault_id = ?`, id).Scan(&cur, &machineID, &typ, &desc, &ev)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, web.NotFound("faultId", "fault %d does not exist", id)
		}
		if err != nil {
			return nil, fmt.Errorf("read fault: %w", err)
		}
		if cur == status {
			return nil, nil // already there: nothing to record
		}
		var resolvedAt *time.Time
		var resolvedMs any
		if status == "RESOLVED" {
			r := t.now.UTC()
			resolvedAt, resolvedMs = &r, t.now.UnixMilli()
		}
		if _, err := t.tx.ExecContext(t.ctx, `UPDATE fault_events SET status = ?, updated_at = ?, resolved_at = ?, resolved_by = ? WHERE fault_id = ?`,
			status, t.now.UnixMilli(), resolvedMs, nullable(map[bool]string{true: by}[status == "RESOLVED"]), id); err != nil {
			return nil, fmt.Errorf("update fault: %w", err)
		}
		if err := t.audit("fault", fmt.Sprint(id), "STATUS_"+status, by, map[string]string{"from": cur, "to": status}); err != nil {
			return nil, err
		}
		_, err = t.emit(envelope.KindFault, t.now, envelope.Fault{FaultID: id, MachineID: machineID, FaultType: typ, Description: desc,
			Status: status, ReportedAt: time.UnixMilli(ev).UTC(), ResolvedAt: resolvedAt, By: by})
		return nil, err
	})
	if err != nil {
		return store.Fault{}, err
	}
	return w.st.Fault(ctx, id)
}
