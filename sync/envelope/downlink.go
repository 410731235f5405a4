package envelope

import (
	"fmt"
	"strings"
)

// Downlink keys, relative to a site (<kind>.<id...>), and their JSON values.
// Central owns prices, limits, thresholds and machine status; the site owns
// its stock counts, so no downlink value ever carries a quantity.
const (
	// DownlinkProduct is the kind of product.<machine>.<product>: a ProductConfig.
	DownlinkProduct = "product"
	// DownlinkMachine is the kind of machine.<machine>: a MachineConfig.
	DownlinkMachine = "machine"
	// DownlinkFault is the kind of fault.<faultId>: a FaultUpdate made at
	// central (HQ resolving a fault); the site applies it to its fault.
	DownlinkFault = "fault"
	// DownlinkDriver is the kind of driver.<clientId>: a DriverCredential,
	// a route driver's credential for this site's edge made at central.
	DownlinkDriver = "driver"
)

// DriverCredential is a DRIVER client of a site's edge made at central for
// a driver whose route includes the site: only the secret's hash travels
// (the secret is shown once, to the HQ admin). Revoked stops it working.
type DriverCredential struct {
	Name       string `json:"name"`
	SecretHash []byte `json:"secretHash"`
	Revoked    bool   `json:"revoked,omitempty"`
}

// DriverClientPrefix starts the id of every driver credential central
// makes for a site; an edge takes from the downlink only clients with it.
const DriverClientPrefix = "hqd"

// DriverKey is the downlink key of a driver credential.
func DriverKey(clientID string) string { return DownlinkDriver + "." + clientID }

// FaultUpdate is a fault status change made at central.
type FaultUpdate struct {
	Status string `json:"status"`
	By     string `json:"by"`
}

// FaultKey is the downlink key of a site's fault.
func FaultKey(faultID int64) string { return fmt.Sprintf("%s.%d", DownlinkFault, faultID) }

// ProductConfig is central's configuration of one product in one machine.
// Nil fields are left as they are at the site.
type ProductConfig struct {
	PriceCents    *int64  `json:"priceCents,omitempty"`
	LowStockLimit *int64  `json:"lowStockLimit,omitempty"`
	ParLevel      *int64  `json:"parLevel,omitempty"`
	CasePack      *int64  `json:"casePack,omitempty"`
	Name          *string `json:"name,omitempty"`
	// Perishable is the product's perishable flag (edge/lot: its lots go
	// on hold in a temperature lockout).
	Perishable *bool `json:"perishable,omitempty"`
	// Capacity is the most units the slot's coil holds.
	Capacity *int64 `json:"capacity,omitempty"`
}

// MachineConfig is central's configuration of one machine. Nil fields are
// left as they are at the site.
type MachineConfig struct {
	Status         *string  `json:"status,omitempty"`
	TemperatureMax *float64 `json:"temperatureMax,omitempty"`
}

// ProductKey is the downlink key of a machine's product.
func ProductKey(machine, product string) string {
	return DownlinkProduct + "." + machine + "." + product
}

// MachineKey is the downlink key of a machine.
func MachineKey(machine string) string { return DownlinkMachine + "." + machine }

// ParseDownlinkKey splits a site-relative key into its kind and ids.
func ParseDownlinkKey(key string) (kind string, ids []string, err error) {
	parts := strings.Split(key, ".")
	switch {
	case len(parts) == 3 && parts[0] == DownlinkProduct:
		return parts[0], parts[1:], nil
	case len(parts) == 2 && (parts[0] == DownlinkMachine || parts[0] == DownlinkFault || parts[0] == DownlinkDriver):
		return parts[0], parts[1:], nil
	case len(parts) == 2 && (parts[0] == DownlinkOrder || parts[0] == DownlinkOrderKey || parts[0] == DownlinkSubstitution):
		return parts[0], parts[1:], nil
	case len(parts) >= 2 && (parts[0] == DownlinkPromotion || parts[0] == DownlinkLease) && !strings.Contains(key, ":"):
		// A promotion id may hold '.': the rest of the key is the id.
		return parts[0], []string{PromotionIDFromKey(strings.Join(parts[1:], "."))}, nil
	}
	return "", nil, fmt.Errorf("downlink key %q: want product.<machine>.<product>, machine.<machine>, fault.<id>, driver.<clientId>, promotion.<id>, lease.<id>, order.<id>, substitution.<orderId> or orderkey.central", key)
}
