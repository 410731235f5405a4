// Package alert owns the site's alert rules: from a slot's or a machine's
// current state it decides which conditions hold (Stock, Expiry, Held, pure
// functions) and opens or closes the alerts to match in the writer's
// transaction (CheckStock, CheckExpiry, CheckMachine, Oversold, Counted).
// The rule packages that change stock or machine state call it; the engine
// (edge/ingest) only records the alerts and sends them up.
package alert

import (
	"fmt"
	"time"
)

// Thresholds configure the rules. DefaultThresholds gives the defaults.
type Thresholds struct {
	// TempMaxC is the default maximum cabinet temperature; a machine may override it.
	TempMaxC float64
	// TempGrace is how long the temperature must stay above the maximum.
	TempGrace time.Duration
	// DoorGrace is how long a door may stay open.
	DoorGrace time.Duration
	// Offline is how long without telemetry before a machine is offline.
	Offline time.Duration
	// ExpiringSoonDays: an item expiring within this many days (today included) is EXPIRING_SOON.
	ExpiringSoonDays int
}

// DefaultThresholds are sensible defaults for chilled vending machines.
func DefaultThresholds() Thresholds {
	return Thresholds{TempMaxC: 8, TempGrace: 10 * time.Minute, DoorGrace: 5 * time.Minute, Offline: 15 * time.Minute, ExpiringSoonDays: 2}
}

// Validate names the first bad threshold.
func (t Thresholds) Validate() error {
	switch {
	case t.TempGrace < 0:
		return fmt.Errorf("temperature grace must not be negative")
	case t.DoorGrace < 0:
		return fmt.Errorf("door grace must not be negative")
	case t.Offline <= 0:
		return fmt.Errorf("offline timeout must be positive")
	case t.ExpiringSoonDays < 0:
		return fmt.Errorf("expiring-soon days must not be negative")
	}
	return nil
}

// Stock returns which of LOW_STOCK and OUT_OF_STOCK hold for a quantity. They
// are exclusive: an empty slot is out of stock, not low.
func Stock(qty, lowLimit int64) (low, out bool) {
	return qty > 0 && qty <= lowLimit, qty <= 0
}

// Expiry returns which of EXPIRED and EXPIRING_SOON hold for an item with
// expiry date expiry ("YYYY-MM-DD", "" for none) on the local date today. An
// item is good through its expiry date. An empty slot has nothing to expire.
func Expiry(expiry, today string, qty int64, soonDays int) (expired, soon bool) {
	if expiry == "" || qty <= 0 {
		return false, false
	}
	if expiry < today {
		return true, false
	}
	t, err := time.Parse(time.DateOnly, today)
	if err != nil {
		return false, false
	}
	limit := t.AddDate(0, 0, soonDays).Format(time.DateOnly)
	return false, expiry <= limit
}

// Held reports whether a condition that began at since (zero: not holding)
// has held for at least grace at now.
func Held(since, now time.Time, grace time.Duration) bool {
	return !since.IsZero() && now.Sub(since) >= grace
}
