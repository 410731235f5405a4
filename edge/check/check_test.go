package check_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/internal/errs"
)

func TestID(t *testing.T) {
	tests := []struct {
		name, v string
		ok      bool
	}{
		{"plain", "VM-0001", true},
		{"longest", strings.Repeat("x", check.MaxIDLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("x", check.MaxIDLen+1), false},
		{"space", "VM 1", false},
		{"control", "VM\x01", false},
		{"delete", "VM\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check.ID("machineId", tt.v)
			if got := err == nil; got != tt.ok {
				t.Fatalf("ID(%q) = %v, want ok %v", tt.v, err, tt.ok)
			}
			if err != nil {
				if e, _ := errs.As(err); e == nil || e.Kind != errs.Invalid || e.Code != errs.CodeValidation || e.Field != "machineId" {
					t.Fatalf("ID(%q) = %#v, want an Invalid VALIDATION_FAILED error naming machineId", tt.v, err)
				}
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, v string
		ok      bool
	}{
		{"utc", "2025-03-10T11:59:00Z", true},
		{"offset and fraction", "2025-03-10T17:29:00.123+05:30", true},
		{"within the skew", "2025-03-10T12:04:59Z", true},
		{"beyond the skew", "2025-03-10T12:05:01Z", false},
		{"before 2000", "1999-12-31T23:59:59Z", false},
		{"not RFC 3339", "10/03/2025 12:00", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := check.Timestamp("timestamp", tt.v, now, 5*time.Minute)
			if got := err == nil; got != tt.ok {
				t.Fatalf("Timestamp(%q) = %v, want ok %v", tt.v, err, tt.ok)
			}
			if err != nil && errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Timestamp(%q) kind = %q, want invalid", tt.v, errs.KindOf(err))
			}
		})
	}
}

func TestFirst(t *testing.T) {
	n, big := int64(3), int64(5000)
	if err := check.First(check.Count("quantity", &n, 10), check.Date("expiryDate", "")); err != nil {
		t.Fatalf("First of passing checks = %v, want nil", err)
	}
	err := check.First(check.Count("quantity", &n, 10), check.Count("parLevel", &big, 1000), check.Date("expiryDate", "bad"))
	if e, _ := errs.As(err); e == nil || e.Field != "parLevel" {
		t.Fatalf("First = %v, want the parLevel error (the first that failed)", err)
	}
}
