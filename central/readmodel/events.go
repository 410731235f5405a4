package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/vendsync/vendsync/sync/envelope"
)

// applyEvent applies one new non-sale event's effect (sales are applied in
// bulk from their Prepared form). ok is false when the event's data cannot
// be decoded or lacks its key: it then has no effect. The caller holds s.mu.
func (s *Store) applyEvent(ctx context.Context, site string, e *envelope.Event) (bool, error) {
	seq, at := int64(e.Seq), ms(e.Time)
	switch e.Kind {
	case envelope.KindMachine:
		var d envelope.Machine
		if json.Unmarshal(e.Data, &d) != nil || d.MachineID == "" {
			return false, nil
		}
		pm, err := json.Marshal(d.PaymentMethods)
		if err != nil {
			return false, nil
		}
		if d.PaymentMethods == nil {
			pm = []byte("[]")
		}
		return true, s.exec(ctx, upsertMachine, site, d.MachineID, d.City, d.Building, d.Lat, d.Lng,
			string(pm), d.Status, d.TempMaxC, d.Action, seq, at)
	case envelope.KindInventory:
		var d envelope.Inventory
		if json.Unmarshal(e.Data, &d) != nil || d.MachineID == "" || d.ProductID == "" {
			return false, nil
		}
		return true, s.exec(ctx, upsertInventory, site, d.MachineID, d.ProductID, d.Name, d.PriceCents,
			d.Quantity, d.ExpiryDate, d.LowStockLimit, d.ParLevel, d.CasePack, seq, seq, at)
	case envelope.KindStock:
		var d envelope.StockMovement
		if json.Unmarshal(e.Data, &d) != nil || d.MachineID == "" || d.ProductID == "" {
			return false, nil
		}
		return true, s.exec(ctx, upsertStock, site, d.MachineID, d.ProductID, d.After, seq, at)
	case envelope.KindFault:
		var d envelope.Fault
		if json.Unmarshal(e.Data, &d) != nil || d.FaultID == 0 {
			return false, nil
		}
		var resolved *int64
		if d.ResolvedAt != nil {
			v := ms(*d.ResolvedAt)
			resolved = &v
		}
		return true, s.exec(ctx, upsertFault, site, d.FaultID, d.MachineID, d.FaultType, d.Description,
			d.Status, ms(d.ReportedAt), resolved, d.By, seq, at)
	case envelope.KindAlert:
		var d envelope.Alert
		if json.Unmarshal(e.Data, &d) != nil || d.AlertID == 0 {
			return false, nil
		}
		var closed *int64
		if d.ClosedAt != nil {
			v := ms(*d.ClosedAt)
			closed = &v
		}
		return true, s.exec(ctx, upsertAlert, site, d.AlertID, d.MachineID, d.ProductID, d.Type,
			d.Status, d.Detail, ms(d.OpenedAt), closed, seq, at)
	case envelope.KindTelemetry:
		var d envelope.Telemetry
		if json.Unmarshal(e.Data, &d) != nil || d.MachineID == "" {
			return false, nil
		}
		return true, s.exec(ctx, upsertTelemetry, site, d.MachineID, d.Temperature, d.PowerStatus,
			d.DoorStatus, seq, at)
	}
	// A kind this binary does not know yet: kept raw, so it is not lost.
	return false, nil
}

// exec runs a prepared writer statement. The caller holds s.mu.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	if _, err := s.execStmt(ctx, query, args...); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// execStmt runs a prepared writer statement. The caller holds s.mu.
func (s *Store) execStmt(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs a prepared query on the writer (inside its transaction). The
// caller holds s.mu.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is query for one row; a prepare error surfaces from Scan.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
