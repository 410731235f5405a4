package alert

import (
	"testing"
	"time"
)

func TestStock(t *testing.T) {
	tests := []struct {
		name          string
		qty, limit    int64
		wantLow, wOut bool
	}{
		{"plenty", 10, 5, false, false},
		{"at limit is low", 5, 5, true, false},
		{"one left", 1, 5, true, false},
		{"empty is out, not low", 0, 5, false, true},
		{"limit zero never low", 1, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			low, out := Stock(tt.qty, tt.limit)
			if low != tt.wantLow || out != tt.wOut {
				t.Fatalf("Stock(%d,%d) = %v,%v want %v,%v", tt.qty, tt.limit, low, out, tt.wantLow, tt.wOut)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name, expiry, today string
		qty                 int64
		wantExp, wantSoon   bool
	}{
		{"no date", "", "2025-06-01", 3, false, false},
		{"good through its date", "2025-06-01", "2025-06-01", 3, false, true},
		{"expired the day after", "2025-06-01", "2025-06-02", 3, true, false},
		{"soon within two days", "2025-06-03", "2025-06-01", 3, false, true},
		{"not soon at three days", "2025-06-04", "2025-06-01", 3, false, false},
		{"empty slot never expires", "2025-01-01", "2025-06-01", 0, false, false},
		{"across a year end", "2025-12-31", "2026-01-01", 1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, soon := Expiry(tt.expiry, tt.today, tt.qty, 2)
			if exp != tt.wantExp || soon != tt.wantSoon {
				t.Fatalf("Expiry = %v,%v want %v,%v", exp, soon, tt.wantExp, tt.wantSoon)
			}
		})
	}
}

func TestHeld(t *testing.T) {
	t0 := time.Unix(1000, 0)
	if Held(time.Time{}, t0, 0) {
		t.Fatal("zero since held")
	}
	if Held(t0, t0.Add(9*time.Minute), 10*time.Minute) {
		t.Fatal("held before grace")
	}
	if !Held(t0, t0.Add(10*time.Minute), 10*time.Minute) {
		t.Fatal("not held at grace")
	}
}
