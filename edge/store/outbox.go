package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// ReadAfter returns up to max outbox events with seq > after, ascending,
// as stored: the forwarder sends their JSON without decoding it.
func (s *Store) ReadAfter(ctx context.Context, after uint64, max int) ([]envelope.Record, error) {
	return s.ReadBetween(ctx, after, math.MaxInt64, max)
}

// ReadBetween is ReadAfter bounded above: it returns up to max outbox events
// with after < seq <= upTo. The uplink bounds its reads by the writer's
// durable sequence (ingest.Writer.DurableSeq), so that central never gets
// an event a power cut could still take back.
func (s *Store) ReadBetween(ctx context.Context, after, upTo uint64, max int) ([]envelope.Record, error) {
	if upTo > math.MaxInt64 {
		upTo = math.MaxInt64
	}
	if upTo <= after {
		return nil, nil
	}
	rows, err := s.DB.Query(ctx, `SELECT seq, event_time, payload FROM outbox WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, after, upTo, max)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	out := make([]envelope.Record, 0, min(max, 512))
	for rows.Next() {
		var r envelope.Record
		var at int64
		if err := rows.Scan(&r.Seq, &at, &r.JSON); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		r.Time = time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

// LastSeqQuery reads the highest outbox sequence ever assigned. The writer
// does not write it at each commit (one page less per commit): the outbox
// holds every sequence it assigned, gap-free, until Trim drops them, and
// Trim first raises sync_state.last_seq to the highest it drops, in the
// same transaction. So the highest of the two is exact after any crash: a
// committed sequence is in the outbox or below last_seq, and one that did
// not commit is in neither.
const LastSeqQuery = `SELECT ` + lastSeqExpr + ` FROM sync_state WHERE id = 1`

// lastSeqExpr is LastSeqQuery's column, in a query of sync_state.
const lastSeqExpr = `MAX(sync_state.last_seq, COALESCE((SELECT MAX(seq) FROM outbox), 0))`

// LastSeq returns the highest outbox sequence ever assigned (LastSeqQuery).
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	var v uint64
	if err := s.DB.QueryRow(ctx, LastSeqQuery).Scan(&v); err != nil {
		return 0, fmt.Errorf("read last sequence: %w", err)
	}
	return v, nil
}

// Trim drops outbox rows up to and including upTo and records upTo as
// central's watermark. A watermark never moves backwards. The highest
// sequence it drops is kept in sync_state.last_seq (LastSeqQuery).
func (s *Store) Trim(ctx context.Context, upTo uint64) error {
	tx, err := s.DB.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trim outbox: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE sync_state SET last_seq = MAX(last_seq, COALESCE((SELECT MAX(seq) FROM outbox WHERE seq <= ?), 0)) WHERE id = 1`, upTo); err != nil {
		return fmt.Errorf("trim outbox: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= ?`, upTo); err != nil {
		return fmt.Errorf("trim outbox: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sync_state SET acked_seq = MAX(acked_seq, ?) WHERE id = 1`, upTo); err != nil {
		return fmt.Errorf("trim outbox: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("trim outbox: %w", err)
	}
	// Not made durable (DB.Durable) here: a trim a power cut loses only
	// sends its events again, and central ignores what it already holds.
	return nil
}

// Acked returns central's last reported watermark for this site.
func (s *Store) Acked(ctx context.Context) (uint64, error) {
	var v uint64
	if err := s.DB.QueryRow(ctx, `SELECT acked_seq FROM sync_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read watermark: %w", err)
	}
	return v, nil
}

// OutboxStats describes what has not reached central yet.
type OutboxStats struct {
	LastSeq   uint64        `json:"lastSeq"`
	AckedSeq  uint64        `json:"ackedSeq"`
	Depth     uint64        `json:"depth"`
	OldestAge time.Duration `json:"-"`
	Oldest    *time.Time    `json:"oldestUnsynced,omitempty"`
}

const outboxStatsQuery = `SELECT ` + lastSeqExpr + `, acked_seq,
	(SELECT created_at FROM outbox WHERE seq > sync_state.acked_seq ORDER BY seq LIMIT 1) FROM sync_state WHERE id = 1`

// OutboxStats returns the outbox's depth and the age of its oldest row:
// the first one not acknowledged (the single writer numbers rows in the
// order it writes them), read by key instead of scanning the backlog.
func (s *Store) OutboxStats(ctx context.Context, now time.Time) (OutboxStats, error) {
	var st OutboxStats
	var oldest sql.NullInt64
	err := s.DB.QueryRow(ctx, outboxStatsQuery).Scan(&st.LastSeq, &st.AckedSeq, &oldest)
	if err != nil {
		return st, fmt.Errorf("outbox stats: %w", err)
	}
	if st.LastSeq > st.AckedSeq {
		st.Depth = st.LastSeq - st.AckedSeq
	}
	if oldest.Valid {
		t := time.UnixMilli(oldest.Int64).UTC()
		st.Oldest = &t
		st.OldestAge = now.Sub(t)
	}
	return st, nil
}

// LastApplied returns the last downlink revision applied at this site.
func (s *Store) LastApplied(ctx context.Context) (uint64, error) {
	var v uint64
	if err := s.DB.QueryRow(ctx, `SELECT applied_rev FROM downlink_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read downlink revision: %w", err)
	}
	return v, nil
}

// SetAppliedQuery raises the last applied downlink revision to its
// argument; the writer runs it inside the transaction of the change.
const SetAppliedQuery = `UPDATE downlink_state SET applied_rev = MAX(applied_rev, ?) WHERE id = 1`

// SetApplied records that every downlink change up to rev is applied.
func (s *Store) SetApplied(ctx context.Context, rev uint64) error {
	if _, err := s.DB.W.ExecContext(ctx, SetAppliedQuery, rev); err != nil {
		return fmt.Errorf("record downlink revision: %w", err)
	}
	if err := s.DB.Durable(); err != nil {
		return fmt.Errorf("record downlink revision: %w", err)
	}
	return nil
}
