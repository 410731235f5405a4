package envelope

// KindLot is the kind of a lot change at a site (edge/lot): a lot created
// by a restock, units removed (expired, damaged, counted away, spoiled),
// put on hold by a temperature lockout or released. Data: Lot. The units a
// sale takes from lots travel on the sale itself (Sale.Lots).
const KindLot Kind = "lot"

// Lot is the data of a KindLot event: the lot's state after the change
// (Quantity, Status) and the change itself (Delta, Reason). LotID is
// unique within the site; UnitCostCents is nil for a lot of unknown cost.
type Lot struct {
	LotID         int64  `json:"lotId"`
	MachineID     string `json:"machineId"`
	ProductID     string `json:"productId"`
	Code          string `json:"lotCode,omitempty"`
	ExpiryDate    string `json:"expiryDate,omitempty"`
	UnitCostCents *int64 `json:"unitCostCents,omitempty"`
	Quantity      int64  `json:"quantity"`
	Status        string `json:"status"` // SELLABLE, HOLD
	Delta         int64  `json:"delta"`
	// Reason is RESTOCK, EXPIRED, DAMAGED, COUNT, HOLD, RELEASE, SPOILED or
	// RELABEL.
	Reason string `json:"reason"`
	// Ref is the visit's movement id (or another key of the change).
	Ref string `json:"ref,omitempty"`
	By  string `json:"by,omitempty"`
}

// LotUse is the units one sale took from one lot (first expiry, first out):
// After is the lot's quantity after the sale.
type LotUse struct {
	LotID         int64  `json:"lotId"`
	Quantity      int64  `json:"quantity"`
	After         int64  `json:"after"`
	UnitCostCents *int64 `json:"unitCostCents,omitempty"`
}

// Sale flags (Sale.Flags).
const (
	// FlagSoldExpired: the sale took units past their expiry date (the
	// machine held nothing else).
	FlagSoldExpired = "SOLD_EXPIRED"
	// FlagSoldOnHold: the sale took units on hold (temperature lockout).
	FlagSoldOnHold = "SOLD_ON_HOLD"
)
