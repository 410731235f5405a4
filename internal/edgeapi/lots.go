package edgeapi

import (
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// Lot is a lot of a machine's product at a site (GET /lots): units with one
// expiry date and unit cost. Status is SELLABLE or HOLD (temperature
// lockout); Expired says the expiry date has passed on the site's date.
type Lot struct {
	LotID      int64       `json:"lotId"`
	MachineID  string      `json:"machineId"`
	ProductID  string      `json:"productId"`
	LotCode    string      `json:"lotCode,omitempty"`
	ExpiryDate string      `json:"expiryDate,omitempty"`
	UnitCost   *wire.Money `json:"unitCost,omitempty"`
	Quantity   int64       `json:"quantity"`
	Status     string      `json:"status"`
	Expired    bool        `json:"expired"`
	ReceivedAt time.Time   `json:"receivedAt"`
}

// LotList is the answer to GET /lots.
type LotList struct {
	Lots []Lot `json:"lots"`
}

// LotQuery filters GET /lots: a machine, a product, lots expiring before a
// date (YYYY-MM-DD, exclusive), a status (SELLABLE, HOLD, EXPIRED, or
// EMPTY for lots with no units left; default: every lot holding units).
type LotQuery struct {
	MachineID, ProductID, ExpiringBefore, Status string
}

// LotRelease is the body of POST /machines/{id}/lots/release: a driver's
// check of a machine after a temperature lockout. Action is RELEASE (the
// held lots are fit to sell) or DISCARD (they are removed as spoiled);
// LotIDs limits it to some held lots (default: all of the machine's).
type LotRelease struct {
	Action string  `json:"action"`
	LotIDs []int64 `json:"lotIds,omitempty"`
	Notes  string  `json:"notes,omitempty"`
}

// ReleasedLot is one lot a release or discard changed.
type ReleasedLot struct {
	LotID     int64  `json:"lotId"`
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
	Action    string `json:"action"`
}

// LotReleaseResult is the answer to POST /machines/{id}/lots/release.
type LotReleaseResult struct {
	MachineID string        `json:"machineId"`
	Lots      []ReleasedLot `json:"lots"`
}
