package wire

import "fmt"

// AlertType is an alert condition, as it travels between edge, central and
// their clients.
type AlertType string

// The alert types.
const (
	LowStock          AlertType = "LOW_STOCK"
	OutOfStock        AlertType = "OUT_OF_STOCK"
	Expired           AlertType = "EXPIRED"
	ExpiringSoon      AlertType = "EXPIRING_SOON"
	InventoryMismatch AlertType = "INVENTORY_MISMATCH"
	TemperatureHigh   AlertType = "TEMPERATURE_HIGH"
	PowerOff          AlertType = "POWER_OFF"
	DoorOpen          AlertType = "DOOR_OPEN"
	MachineOffline    AlertType = "MACHINE_OFFLINE"
	// DEXUnreportedSales: a DEX audit counted more sales than the ledger
	// holds, beyond the site's threshold (edge/dex/audit).
	DEXUnreportedSales AlertType = "DEX_UNREPORTED_SALES"
	// SoldExpired: a machine sold units past their expiry date (edge/lot).
	SoldExpired AlertType = "SOLD_EXPIRED"
	// TemperatureLockout: a machine was above its temperature limit longer
	// than the food-safety window; its perishable lots are on hold until a
	// driver releases or discards them (edge/lot).
	TemperatureLockout AlertType = "TEMPERATURE_LOCKOUT"
)

// AlertTypes lists every alert type.
var AlertTypes = []AlertType{LowStock, OutOfStock, Expired, ExpiringSoon, InventoryMismatch, TemperatureHigh, PowerOff, DoorOpen, MachineOffline,
	DEXUnreportedSales, SoldExpired, TemperatureLockout}

// ParseAlertType accepts an alert type name; an unknown one is an error
// naming it.
func ParseAlertType(s string) (AlertType, error) {
	for _, t := range AlertTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("alert type %q is unknown", s)
}
