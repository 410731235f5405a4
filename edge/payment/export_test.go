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
