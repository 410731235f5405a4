package hqapi

import "github.com/vendsync/vendsync/sync/wire"

// Lot is a lot of a product in a machine, as central last heard of it from
// its site (GET /lots): units with one expiry date and unit cost (nil when
// unknown). Status is SELLABLE or HOLD (temperature lockout).
type Lot struct {
	SiteID     string      `json:"siteId"`
	MachineID  string      `json:"machineId"`
	ProductID  string      `json:"productId"`
	LotID      int64       `json:"lotId"`
	LotCode    string      `json:"lotCode,omitempty"`
	ExpiryDate string      `json:"expiryDate,omitempty"`
	UnitCost   *wire.Money `json:"unitCost,omitempty"`
	Quantity   int64       `json:"quantity"`
	Status     string      `json:"status"`
}

// LotList is the answer to GET /lots.
type LotList struct {
	Lots []Lot `json:"lots"`
}

// LotQuery filters GET /lots: a site, machine, product, lots expiring
// before a date (YYYY-MM-DD, exclusive), a status; empty fields match all.
type LotQuery struct {
	SiteID, MachineID, ProductID, ExpiringBefore, Status string
}

// SlotLot is one lot of a route candidate's slot: what the pick list needs
// to count only the units still good at the next visit.
type SlotLot struct {
	ExpiryDate string `json:"expiryDate,omitempty"`
	Quantity   int64  `json:"quantity"`
	Status     string `json:"status"`
}
