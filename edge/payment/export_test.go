package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/vendsync/vendsync/edge/ingest"
	gw "github.com/vendsync/vendsync/internal/payment"
)

// DeclineForTest fails payment id as a gateway that declined it does
// (failed), with the row read beforehand, as Charge holds it.
func (r *Rules) DeclineForTest(ctx context.Context, id int64) error {
	cur, err := r.read(ctx, id)
	if err != nil {
		return err
	}
	return r.failed(ctx, &cur, fmt.Errorf("card declined: %w", gw.ErrDeclined))
}

// MoveForTest moves payment id to st in a transaction of its own, as the
// gateway steps do (an AUTHORIZED payment is what a void undoes).
func (r *Rules) MoveForTest(ctx context.Context, id int64, st gw.Status) error {
	cur, err := r.read(ctx, id)
	if err != nil {
		return err
	}
	return r.w.Do(ctx, func(t *ingest.Tx) error {
		return r.move(t, &cur, st, cur.amount, "test", "", "test", 0)
	})
}

// errRolledBack fails a transaction (an internal error rolls it back).
var errRolledBack = errors.New("rolled back on purpose")

// PaidThenFailForTest records s's payment and then fails the transaction,
// so that nothing of it may stay.
func (r *Rules) PaidThenFailForTest(ctx context.Context, s Sale) error {
	err := r.w.Do(ctx, func(t *ingest.Tx) error {
		if err := r.Paid(t, s, "test"); err != nil {
			return err
		}
		return errRolledBack
	})
	if !errors.Is(err, errRolledBack) {
		return fmt.Errorf("transaction: %v, want it rolled back", err)
	}
	return nil
}

// UnfoldAllForTest moves every payment kept on its sale's row to payments,
// with its first history row: the layout before migration 0022, where
// every sale's payment was a payments row.
func (r *Rules) UnfoldAllForTest(ctx context.Context) error {
	rows, err := r.w.Store().DB.R.QueryContext(ctx, `SELECT payment_id FROM sales_events WHERE payment_id IS NOT NULL`)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return r.w.Do(ctx, func(t *ingest.Tx) error {
		for _, id := range ids {
			if err := r.unfoldIfFolded(t, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListInSQLForTest is List with the whole order and the limit in SQL, as
// it was before wave 14: ORDER BY sold_at DESC, payment_id DESC LIMIT.
func (r *Rules) ListInSQLForTest(ctx context.Context, q Query) ([]Payment, error) {
	if q.Limit <= 0 || q.Limit > MaxList {
		q.Limit = min(max(q.Limit, 100), MaxList)
	}
	query, args, merged := listAllQuery(q, r.w.Store().Site.Loc)
	if merged {
		query, args = query+`, 1 DESC LIMIT ?`, append(args, q.Limit)
	}
	rows, err := r.w.Store().DB.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p.out())
	}
	return out, rows.Err()
}
