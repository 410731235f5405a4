package alert

import (
	"fmt"
	"time"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/sync/wire"
)

// Slot is a product's stock in a machine, as the stock alerts see it.
type Slot struct {
	MachineID, ProductID string
	Qty, Low             int64
	// Expiry is the slot's earliest expiry date (YYYY-MM-DD, "" for none).
	Expiry string
}

// CheckStock brings LOW_STOCK, OUT_OF_STOCK, EXPIRED and EXPIRING_SOON of a
// slot in line with its state; reason is recorded on those it closes.
func (th Thresholds) CheckStock(t *ingest.Tx, s Slot, reason string) error {
	low, out := Stock(s.Qty, s.Low)
	if err := t.SetAlert(s.MachineID, s.ProductID, wire.LowStock, low, func() string {
		return fmt.Sprintf("quantity %d at or below limit %d", s.Qty, s.Low)
	}, reason); err != nil {
		return err
	}
	if err := t.SetAlert(s.MachineID, s.ProductID, wire.OutOfStock, out, outOfStock, reason); err != nil {
		return err
	}
	return th.CheckExpiry(t, s, reason)
}

func outOfStock() string { return "quantity 0" }

// CheckExpiry brings EXPIRED and EXPIRING_SOON of a slot in line with its
// expiry date on the site-local date of the transaction.
func (th Thresholds) CheckExpiry(t *ingest.Tx, s Slot, reason string) error {
	expired, soon := Expiry(s.Expiry, t.Today(), s.Qty, th.ExpiringSoonDays)
	if err := t.SetAlert(s.MachineID, s.ProductID, wire.Expired, expired, func() string { return "expired on " + s.Expiry }, reason); err != nil {
		return err
	}
	return t.SetAlert(s.MachineID, s.ProductID, wire.ExpiringSoon, soon, func() string { return "expires on " + s.Expiry }, reason)
}

// Oversold opens INVENTORY_MISMATCH for a slot that sold more than the edge
// thought it held: the sale is a fact, the count is what is wrong.
func Oversold(t *ingest.Tx, machineID, productID, transactionID string, sold, inStock int64) error {
	return t.SetAlert(machineID, productID, wire.InventoryMismatch, true, func() string {
		return fmt.Sprintf("sale %s of %d with %d in stock", transactionID, sold, inStock)
	}, "")
}

// Counted closes INVENTORY_MISMATCH of a slot whose stock was just counted.
func Counted(t *ingest.Tx, machineID, productID string) error {
	return t.SetAlert(machineID, productID, wire.InventoryMismatch, false, nil, "COUNTED")
}

// Machine is a machine's state as the machine alerts see it.
type Machine struct {
	ID string
	// Status is the machine's status (ACTIVE, INACTIVE, UNDER_MAINTENANCE).
	Status string
	// Registered is when it was registered (it counts as its last reading
	// until it sends one).
	Registered time.Time
	// TempMaxC is its maximum cabinet temperature (see Thresholds.TempMax).
	TempMaxC float64
	// PowerOff says its last reported power status is OFF.
	PowerOff bool
	// DoorOpenSince and TempHighSince are when the door opened and the
	// temperature went above TempMaxC (zero: it is not).
	DoorOpenSince, TempHighSince time.Time
	// LastReading is the time of its newest reading (zero: never).
	LastReading time.Time
}

// TempMax is a machine's maximum temperature: its own limit if it has one,
// else the default.
func (th Thresholds) TempMax(own *float64) float64 {
	if own != nil {
		return *own
	}
	return th.TempMaxC
}

// CheckMachine brings POWER_OFF, DOOR_OPEN, TEMPERATURE_HIGH and
// MACHINE_OFFLINE of m in line with its state as of at. fresh says the state
// was just reported (the machine is online); otherwise this is a sweep.
func (th Thresholds) CheckMachine(t *ingest.Tx, m Machine, at time.Time, fresh bool) error {
	if err := t.SetAlert(m.ID, "", wire.PowerOff, m.PowerOff, powerOff, "POWER_ON"); err != nil {
		return err
	}
	doorHeld := Held(m.DoorOpenSince, at, th.DoorGrace)
	if err := t.SetAlert(m.ID, "", wire.DoorOpen, doorHeld, func() string { return fmt.Sprintf("door open longer than %s", th.DoorGrace) }, "DOOR_CLOSED"); err != nil {
		return err
	}
	tempHeld := Held(m.TempHighSince, at, th.TempGrace)
	if err := t.SetAlert(m.ID, "", wire.TemperatureHigh, tempHeld, func() string {
		return fmt.Sprintf("temperature above %.1f °C for longer than %s", m.TempMaxC, th.TempGrace)
	}, "TEMPERATURE_NORMAL"); err != nil {
		return err
	}
	offline := false
	if !fresh && m.Status == "ACTIVE" {
		last := m.LastReading
		if last.IsZero() {
			last = m.Registered
		}
		offline = at.Sub(last) >= th.Offline
	}
	reason := "TELEMETRY_RECEIVED"
	if !fresh {
		reason = "STATUS_" + m.Status // a sweep closes it only because the machine is no longer ACTIVE
	}
	return t.SetAlert(m.ID, "", wire.MachineOffline, offline, func() string { return fmt.Sprintf("no telemetry for %s", th.Offline) }, reason)
}

func powerOff() string { return "power reported OFF" }
