package ingest

import (
	"context"
	"errors"
	"testing"

	"github.com/vendsync/vendsync/internal/errs"
)

// TestDo_DownlinkRevisionCommitsWithTheChange: a request applying downlink
// revision N records N in its own transaction when it commits, and not when
// it is rejected or its transaction fails.
func TestDo_DownlinkRevisionCommitsWithTheChange(t *testing.T) {
	tests := []struct {
		name      string
		rev       uint64
		fn        func(*auditView, *Tx) error
		wantErr   bool
		wantRev   uint64
		wantAudit int64
	}{
		{"committed", 7, func(v *auditView, t *Tx) error { _, err := v.note(t, "x"); return err }, false, 7, 1},
		{"rejected", 8, func(*auditView, *Tx) error { return errs.NotFoundf("machineId", "no machine") }, true, 0, 0},
		{"failed after writing", 9, func(v *auditView, t *Tx) error {
			if _, err := v.note(t, "x"); err != nil {
				return err
			}
			return errors.New("disk on fire")
		}, true, 0, 0},
		{"lower than recorded", 3, func(v *auditView, t *Tx) error { _, err := v.note(t, "x"); return err }, false, 5, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, v := openWriter(t)
			if tc.name == "lower than recorded" {
				if err := w.Store().SetApplied(context.Background(), 5); err != nil {
					t.Fatal(err)
				}
			}
			err := w.Do(WithDownlinkRevision(context.Background(), tc.rev), func(t *Tx) error { return tc.fn(v, t) })
			if (err != nil) != tc.wantErr {
				t.Fatalf("Do = %v, want error %v", err, tc.wantErr)
			}
			got, err := w.Store().LastApplied(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.wantRev {
				t.Fatalf("last applied = %d, want %d", got, tc.wantRev)
			}
			if got, want := count(t, w, `SELECT COUNT(*) FROM audit_logs`), tc.wantAudit; got != want {
				t.Fatalf("%d audit rows, want %d", got, want)
			}
			// A request without the mark leaves the revision alone.
			if err := w.Do(context.Background(), func(t *Tx) error { _, err := v.note(t, "plain"); return err }); err != nil {
				t.Fatal(err)
			}
			if got2, _ := w.Store().LastApplied(context.Background()); got2 != got {
				t.Fatalf("last applied moved to %d by an unmarked request", got2)
			}
		})
	}
}
