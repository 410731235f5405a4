package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/edge/dex"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Late sales. A machine cut off from its site keeps selling and sends its
// backlog when the link is back; by then a driver may have uploaded a DEX
// read, and the period's reconciliation counted those vends as unreported.
// Recheck finds the reconciliations whose ledger has changed since and
// reconciles them again: the same id, a higher revision, the alert set
// again when it is the machine's latest, and the revision sent to central,
// which keeps the highest. The check reads on the read pool, off the
// writer; only a changed reconciliation costs a write.

// recheckQueries are the read-pool queries of Recheck.
const (
	recentRecons = `SELECT reconciliation_id, machine_id, from_at, to_at, detail ->> '$.ledgerCount'
		FROM reconciliations WHERE to_at >= ? ORDER BY to_at`
	// The (machine_id, event_time) index answers with the machine's
	// sales in the period; the machine's slots bound product_id.
	ledgerCount = `SELECT COALESCE(SUM(quantity), 0) FROM sales_events
		WHERE machine_id = ?1 AND product_id IN (SELECT product_id FROM machine_inventory WHERE machine_id = ?1)
		AND event_time > ?2 AND event_time <= ?3`
)

// Recheck reconciles again every reconciliation whose period ended within
// window and whose ledger count has changed since, and returns how many it
// revised.
func (r *Rules) Recheck(ctx context.Context, window time.Duration) (int, error) {
	db := r.w.Store().DB.R
	cutoff := r.w.Now().Add(-window).UnixMilli()
	rows, err := db.QueryContext(ctx, recentRecons, cutoff)
	if err != nil {
		return 0, fmt.Errorf("recheck reconciliations: %w", err)
	}
	type recon struct {
		id               int64
		machine          string
		from, to, ledger int64
	}
	var recs []recon
	for rows.Next() {
		var x recon
		if err := rows.Scan(&x.id, &x.machine, &x.from, &x.to, &x.ledger); err != nil {
			rows.Close()
			return 0, fmt.Errorf("recheck reconciliations: %w", err)
		}
		recs = append(recs, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("recheck reconciliations: %w", err)
	}
	revised := 0
	for _, x := range recs {
		var n int64
		if err := db.QueryRowContext(ctx, ledgerCount, x.machine, x.from, x.to).Scan(&n); err != nil {
			return revised, fmt.Errorf("recheck reconciliation %d: %w", x.id, err)
		}
		if n == x.ledger {
			continue
		}
		var changed bool
		if err := r.w.Do(ctx, func(t *ingest.Tx) (err error) {
			changed, err = r.revise(t, x.id)
			return err
		}); err != nil {
			return revised, fmt.Errorf("revise reconciliation %d: %w", x.id, err)
		}
		if changed {
			revised++
		}
	}
	return revised, nil
}

// revise reconciles reconciliation id again inside the writer and stores
// and emits it as the next revision; false when the ledger had not changed
// after all.
func (r *Rules) revise(t *ingest.Tx, id int64) (bool, error) {
	var machineID, detail string
	var fromID, toID, fromAt, toAt int64
	var revision int
	err := t.QueryRow(r.findRecon, id).Scan(&machineID, &fromID, &toID, &fromAt, &toAt, &detail, &revision)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read reconciliation: %w", err)
	}
	prev, _, _, err := r.loadRead(t, fromID)
	if err != nil {
		return false, err
	}
	cur, at, by, err := r.loadRead(t, toID)
	if err != nil {
		return false, err
	}
	var old struct {
		LedgerCount int64 `json:"ledgerCount"`
	}
	if err := json.Unmarshal([]byte(detail), &old); err != nil {
		return false, fmt.Errorf("decode reconciliation %d: %w", id, err)
	}
	rec, ev, err := r.compute(t, machineID, fromID, fromAt, prev, toID, at, cur, by)
	if err != nil {
		return false, err
	}
	if rec.LedgerCount == old.LedgerCount {
		return false, nil
	}
	rec.Revision = revision + 1
	ev.Revision = int64(rec.Revision)
	seq, err := t.Emit(envelope.KindReconciliation, at, ev)
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("encode reconciliation: %w", err)
	}
	if _, err := t.Exec(r.updateRecon, string(b), ev.UnreportedValue, rec.Revision, seq, id); err != nil {
		return false, fmt.Errorf("update reconciliation: %w", err)
	}
	var latest int64
	if err := t.QueryRow(r.latestRecon, machineID).Scan(&latest); err != nil {
		return false, fmt.Errorf("find latest reconciliation: %w", err)
	}
	if latest == id {
		if err := r.alert(t, rec); err != nil {
			return false, err
		}
	}
	if err := t.Audit("reconciliation", machineID, "DEX_RECONCILED_AGAIN", "system", map[string]any{"reconciliationId": id,
		"revision": rec.Revision, "ledgerCountWas": old.LedgerCount, "ledgerCount": rec.LedgerCount}); err != nil {
		return false, err
	}
	return true, nil
}

// loadRead reads a stored DEX read's audit, time and uploader.
func (r *Rules) loadRead(t *ingest.Tx, id int64) (*dex.Audit, time.Time, string, error) {
	var auditJSON, by string
	var at int64
	if err := t.QueryRow(r.findReadByID, id).Scan(&auditJSON, &at, &by); err != nil {
		return nil, time.Time{}, "", fmt.Errorf("read dex read %d: %w", id, err)
	}
	var a dex.Audit
	if err := json.Unmarshal([]byte(auditJSON), &a); err != nil {
		return nil, time.Time{}, "", fmt.Errorf("decode dex read %d: %w", id, err)
	}
	return &a, time.UnixMilli(at).UTC(), by, nil
}

// RunRecheck runs Recheck every cfg.RecheckEvery over cfg.RecheckWindow
// until ctx is done; a failed round is logged by onError and retried at
// the next tick.
func (r *Rules) RunRecheck(ctx context.Context, onError func(error), onRevised func(int)) error {
	t := time.NewTicker(r.cfg.RecheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := r.Recheck(ctx, r.cfg.RecheckWindow)
		if err != nil && ctx.Err() == nil {
			onError(err)
		}
		if n > 0 {
			onRevised(n)
		}
	}
}
