package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vendsync/vendsync/internal/errs"
)

func TestKindOfAndCodeOf(t *testing.T) {
	conflict := errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", "transactionId", "transaction %q was already recorded", "t1")
	tests := []struct {
		name     string
		err      error
		kind     errs.Kind
		code     string
		rejected bool
	}{
		{"nil", nil, "", "", false},
		{"plain error is internal", errors.New("disk full"), errs.Internal, errs.CodeInternal, false},
		{"context error is internal", context.Canceled, errs.Internal, errs.CodeInternal, false},
		{"invalid", errs.Invalidf("quantity", "quantity is required"), errs.Invalid, errs.CodeValidation, true},
		{"not found", errs.NotFoundf("machineId", "machine %q is not registered", "M1"), errs.NotFound, errs.CodeNotFound, true},
		{"forbidden", errs.Forbiddenf("machineId", "not yours"), errs.Forbidden, errs.CodeForbidden, true},
		{"conflict", conflict, errs.Conflict, "IDEMPOTENCY_CONFLICT", true},
		{"wrapped keeps kind and code", fmt.Errorf("record sale: %w", conflict), errs.Conflict, "IDEMPOTENCY_CONFLICT", true},
		{"unavailable is not a rejection", errs.Errorf(errs.Unavailable, "NOT_READY", "", "later"), errs.Unavailable, "NOT_READY", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.KindOf(tt.err); got != tt.kind {
				t.Fatalf("KindOf = %q, want %q", got, tt.kind)
			}
			if got := errs.CodeOf(tt.err); got != tt.code {
				t.Fatalf("CodeOf = %q, want %q", got, tt.code)
			}
			if got := errs.Rejected(tt.err); got != tt.rejected {
				t.Fatalf("Rejected = %v, want %v", got, tt.rejected)
			}
		})
	}
}

func TestError_Message(t *testing.T) {
	e := errs.Errorf(errs.Unprocessable, "AMOUNT_MISMATCH", "amount", "amount %s does not match", "1.00")
	if got, want := e.Error(), "AMOUNT_MISMATCH: amount 1.00 does not match (field amount)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := errs.Invalidf("", "nothing to change").Error(), "VALIDATION_FAILED: nothing to change"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
