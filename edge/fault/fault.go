// Package fault records the faults machines and staff report (seed 000 POST
// /events/faults) and their status as they are worked on (PATCH
// /faults/{id}), each change audited and sent up to central.
package fault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Statuses are the states of a fault.
var Statuses = []string{"OPEN", "IN_PROGRESS", "RESOLVED"}

// In is a fault report (seed 000 POST /events/faults).
type In struct {
	MachineID   string `json:"machineId"`
	FaultType   string `json:"faultType"`
	Description string `json:"description"`
	Timestamp   string `json:"timestamp"`
}

// Rules records faults.
type Rules struct {
	w            *ingest.Writer
	machines     *machine.Rules
	maxClockSkew time.Duration

	findByKey, insert, get, update *ingest.Stmt
}

// New returns the fault rules on w (before w.Open). maxClockSkew is how far
// in the future a report's timestamp may be.
func New(w *ingest.Writer, machines *machine.Rules, maxClockSkew time.Duration) *Rules {
	return &Rules{
		w: w, machines: machines, maxClockSkew: maxClockSkew,
		findByKey: w.Prepare(`SELECT fault_id, body_hash FROM fault_events WHERE idempotency_key = ?`),
		insert: w.Prepare(`INSERT INTO fault_events (machine_id, fault_type, description, status, event_time, reported_at, updated_at, idempotency_key, body_hash)
			VALUES (?, ?, ?, 'OPEN', ?, ?, ?, ?, ?) RETURNING fault_id`),
		get:    w.Prepare(`SELECT status, machine_id, fault_type, description, event_time FROM fault_events WHERE fault_id = ?`),
		update: w.Prepare(`UPDATE fault_events SET status = ?, updated_at = ?, resolved_at = ?, resolved_by = ? WHERE fault_id = ?`),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Report opens a fault. With an idempotency key, a retried report answers
// with the first fault (replayed true) instead of opening another.
// machineScope, when not empty, is the only machine the caller may report
// for (a MACHINE token). It returns an *errs.Error for a report it refuses:
// Invalid naming the field, Forbidden for another machine, Unprocessable
// UNKNOWN_MACHINE, Conflict MACHINE_DECOMMISSIONED or IDEMPOTENCY_CONFLICT.
func (r *Rules) Report(ctx context.Context, in In, idemKey, machineScope string) (f store.Fault, replayed bool, err error) {
	if err := check.ID("machineId", in.MachineID); err != nil {
		return f, false, err
	}
	if err := machine.CheckScope(machineScope, in.MachineID); err != nil {
		return f, false, err
	}
	in.FaultType = strings.ToUpper(strings.TrimSpace(in.FaultType))
	if in.FaultType == "" || len(in.FaultType) > 64 || strings.ContainsAny(in.FaultType, " \t\n") {
		return f, false, errs.Invalidf("faultType", "faultType %q: required, one word of at most 64 characters, e.g. PAYMENT_FAILURE", in.FaultType)
	}
	if len(in.Description) > 2000 {
		return f, false, errs.Invalidf("description", "description is longer than 2000 characters")
	}
	if len(idemKey) > 128 {
		return f, false, errs.Invalidf("Idempotency-Key", "Idempotency-Key is longer than 128 characters")
	}
	at, err := check.Timestamp("timestamp", in.Timestamp, r.w.Now(), r.maxClockSkew)
	if err != nil {
		return f, false, err
	}
	h := sha256.Sum256([]byte(in.MachineID + "\x00" + in.FaultType + "\x00" + in.Description + "\x00" + at.UTC().Format(time.RFC3339Nano)))
	id, err := ingest.Submit(ctx, r.w, func(t *ingest.Tx) (int64, error) {
		if idemKey != "" {
			var id int64
			var prev []byte
			err := t.QueryRow(r.findByKey, idemKey).Scan(&id, &prev)
			if err == nil {
				if !bytes.Equal(prev, h[:]) {
					return 0, errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", "Idempotency-Key", "fault %q was already reported with a different body", idemKey)
				}
				replayed = true
				return id, nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("find fault: %w", err)
			}
		}
		if _, err := r.machines.Reporting(in.MachineID); err != nil {
			return 0, err
		}
		var id int64
		now := t.Now().UnixMilli()
		if err := t.QueryRow(r.insert, in.MachineID, in.FaultType, in.Description, at.UnixMilli(), now, now, nullable(idemKey), h[:]).Scan(&id); err != nil {
			return 0, fmt.Errorf("insert fault: %w", err)
		}
		_, err := t.Emit(envelope.KindFault, at, envelope.Fault{FaultID: id, MachineID: in.MachineID, FaultType: in.FaultType,
			Description: in.Description, Status: "OPEN", ReportedAt: at.UTC()})
		return id, err
	})
	if err != nil {
		return f, false, err
	}
	f, err = r.w.Store().Fault(ctx, id)
	return f, replayed, err
}

// Update changes a fault's status (seed 000 PATCH /faults/{id}), audited as
// done by by. It returns an errs.Invalid error for an unknown status or 404
// NOT_FOUND for an unknown fault.
func (r *Rules) Update(ctx context.Context, id int64, status, by string) (store.Fault, error) {
	status = strings.ToUpper(strings.TrimSpace(status))
	if status != "OPEN" && status != "IN_PROGRESS" && status != "RESOLVED" {
		return store.Fault{}, errs.Invalidf("status", "status %q: must be OPEN, IN_PROGRESS or RESOLVED", status)
	}
	err := r.w.Do(ctx, func(t *ingest.Tx) error {
		var cur, machineID, typ, desc string
		var ev int64
		err := t.QueryRow(r.get, id).Scan(&cur, &machineID, &typ, &desc, &ev)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("faultId", "fault %d does not exist", id)
		}
		if err != nil {
			return fmt.Errorf("read fault: %w", err)
		}
		if cur == status {
			return nil // already there: nothing to record
		}
		var resolvedAt *time.Time
		var resolvedMs any
		resolvedBy := ""
		if status == "RESOLVED" {
			now := t.Now().UTC()
			resolvedAt, resolvedMs, resolvedBy = &now, t.Now().UnixMilli(), by
		}
		if _, err := t.Exec(r.update, status, t.Now().UnixMilli(), resolvedMs, nullable(resolvedBy), id); err != nil {
			return fmt.Errorf("update fault: %w", err)
		}
		if err := t.Audit("fault", fmt.Sprint(id), "STATUS_"+status, by, map[string]string{"from": cur, "to": status}); err != nil {
			return err
		}
		_, err = t.Emit(envelope.KindFault, t.Now(), envelope.Fault{FaultID: id, MachineID: machineID, FaultType: typ, Description: desc,
			Status: status, ReportedAt: time.UnixMilli(ev).UTC(), ResolvedAt: resolvedAt, By: by})
		return err
	})
	if err != nil {
		return store.Fault{}, err
	}
	return r.w.Store().Fault(ctx, id)
}
