package alert

import (
	"fmt"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/sync/wire"
)

// SoldExpired opens SOLD_EXPIRED on a machine's product: a sale took units
// past their expiry date (or on hold). It stays open until the slot is
// counted or restocked (ExpiredCleared).
func SoldExpired(t *ingest.Tx, machineID, productID, transactionID string, units int64, flag string) error {
	return t.SetAlert(machineID, productID, wire.SoldExpired, true, func() string {
		return fmt.Sprintf("sale %s took %d unit(s) not fit to sell (%s)", transactionID, units, flag)
	}, "")
}

// ExpiredCleared closes SOLD_EXPIRED on a machine's product after a visit
// dealt with its stock (reason says how).
func ExpiredCleared(t *ingest.Tx, machineID, productID, reason string) error {
	return t.SetAlert(machineID, productID, wire.SoldExpired, false, nil, reason)
}

// Lockout opens or closes TEMPERATURE_LOCKOUT on a machine: open while its
// perishable lots are on hold after a temperature excursion.
func Lockout(t *ingest.Tx, machineID string, open bool, describe func() string, reason string) error {
	return t.SetAlert(machineID, "", wire.TemperatureLockout, open, describe, reason)
}
