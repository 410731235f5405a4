package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
)

// HQ log entries (central/hqlog) are central's own writes, applied by every
// node in the replicated stream's order. ApplyHQ runs an entry's handler in
// one write transaction together with the entry's outcome and the log
// position, so an entry is applied exactly once however often it is
// delivered, and a crash leaves either all of it or none.

// hqApplyKey marks a context inside ApplyHQ: the write transaction is open
// and s.mu is held, so writers called from the handler (WriteTx) join it.
type hqApplyKey struct{}

// hqApply is what ApplyHQ puts in the context.
type hqApply struct {
	at time.Time
}

// Clock is the time a write records: inside ApplyHQ the entry's time (the
// same on every node), else the store's clock.
func (s *Store) Clock(ctx context.Context) time.Time {
	if a, ok := ctx.Value(hqApplyKey{}).(hqApply); ok {
		return a.at
	}
	return s.now()
}

// WTx is an open write transaction of the read model (WriteTx).
type WTx struct {
	s   *Store
	now time.Time
}

// Now is the time the transaction's writes record (Clock).
func (t *WTx) Now() time.Time { return t.now }

// Exec runs a statement inside the transaction.
func (t *WTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.s.execStmt(ctx, query, args...)
}

// QueryRow runs a one-row query inside the transaction; an error surfaces
// from Scan.
func (t *WTx) QueryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	return t.s.queryRow(ctx, query, args...)
}

// Query runs a query inside the transaction.
func (t *WTx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.s.query(ctx, query, args...)
}

// WriteTx runs fn in one write transaction, committed when fn returns nil
// and rolled back otherwise; fn's error is returned as it is. Inside
// ApplyHQ, fn joins the entry's transaction instead (which ApplyHQ commits
// or rolls back). Writers of central-owned state use it, so the same code
// serves a direct write and an HQ log entry.
func (s *Store) WriteTx(ctx context.Context, fn func(ctx context.Context, tx *WTx) error) error {
	if _, in := ctx.Value(hqApplyKey{}).(hqApply); in {
		return fn(ctx, &WTx{s: s, now: s.Clock(ctx)})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := fn(ctx, &WTx{s: s, now: s.now()}); err != nil {
		s.rollback()
		return err
	}
	return s.commit(ctx)
}

// HQPosition is the sequence of the last HQ log entry applied.
func (s *Store) HQPosition(ctx context.Context) (uint64, error) {
	var seq uint64
	if err := s.db.QueryRow(ctx, `SELECT seq FROM hq_log_position WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read hq log position: %w", err)
	}
	return seq, nil
}

// storedError is an *errs.Error as kept in hq_log_outcomes (with its kind,
// which errs.Error leaves out of JSON).
type storedError struct {
	Kind    errs.Kind `json:"kind"`
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
}

// ApplyHQ applies HQ log entry seq of kind at time at: fn runs inside one
// write transaction; its result (JSON) or its refusal (an *errs.Error) is
// kept as the entry's outcome, and the position moves to seq, in the same
// transaction. A refusal rolls fn's writes back and keeps only the
// outcome. An entry at or below the position is skipped. Any other error
// of fn (a failed write, a bug) is returned and nothing is recorded: the
// entry will be applied again.
func (s *Store) ApplyHQ(ctx context.Context, seq uint64, kind string, at time.Time, fn func(ctx context.Context) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pos uint64
	if err := s.w.QueryRowContext(ctx, `SELECT seq FROM hq_log_position WHERE id = 1`).Scan(&pos); err != nil {
		return fmt.Errorf("read hq log position: %w", err)
	}
	if seq <= pos {
		return nil
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	res, err := fn(context.WithValue(ctx, hqApplyKey{}, hqApply{at: at}))
	var refusal *errs.Error
	switch {
	case err == nil:
	case errors.As(err, &refusal) && refusal.Kind != errs.Internal:
		s.rollback()
		if err := s.begin(ctx); err != nil {
			return err
		}
	default:
		s.rollback()
		return fmt.Errorf("apply hq log entry %d (%s): %w", seq, kind, err)
	}
	var errJSON []byte
	if refusal != nil {
		errJSON, _ = json.Marshal(storedError{Kind: refusal.Kind, Code: refusal.Code, Message: refusal.Message, Field: refusal.Field})
		res = nil
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO hq_log_outcomes (seq, kind, result, error, applied_at) VALUES (?, ?, ?, ?, ?)`,
		seq, kind, res, errJSON, s.now().UnixMilli()); err != nil {
		s.rollback()
		return fmt.Errorf("record hq log outcome %d: %w", seq, err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE hq_log_position SET seq = ? WHERE id = 1`, seq); err != nil {
		s.rollback()
		return fmt.Errorf("move hq log position to %d: %w", seq, err)
	}
	return s.commit(ctx)
}

// HQOutcome is the outcome of applied entry seq: its result (JSON), or its
// refusal as an *errs.Error. It returns sql.ErrNoRows (wrapped) when this
// read model has not applied seq.
func (s *Store) HQOutcome(ctx context.Context, seq uint64) ([]byte, error) {
	var res, errJSON []byte
	err := s.db.QueryRow(ctx, `SELECT result, error FROM hq_log_outcomes WHERE seq = ?`, seq).Scan(&res, &errJSON)
	if err != nil {
		return nil, fmt.Errorf("read hq log outcome %d: %w", seq, err)
	}
	if errJSON != nil {
		var e storedError
		if err := json.Unmarshal(errJSON, &e); err != nil {
			return nil, fmt.Errorf("decode hq log outcome %d: %w", seq, err)
		}
		return nil, &errs.Error{Kind: e.Kind, Code: e.Code, Message: e.Message, Field: e.Field}
	}
	return res, nil
}
