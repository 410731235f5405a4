package edgeapi

import (
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// Visit actions: what a driver did at a machine (VisitIn.Actions).
const (
	ActionRestock       = "RESTOCK"
	ActionCount         = "COUNT"
	ActionExpiryRemoval = "EXPIRY_REMOVAL"
	ActionFaultResolved = "FAULT_RESOLVED"
	ActionCashCollected = "CASH_COLLECTED"
	ActionDEXRead       = "DEX_READ"
	ActionCleaned       = "CLEANED"
)

// VisitActions lists every valid visit action, in a stable order.
var VisitActions = []string{ActionRestock, ActionCount, ActionExpiryRemoval, ActionFaultResolved,
	ActionCashCollected, ActionDEXRead, ActionCleaned}

// DEXCounter is a count of vends and their value, as a DEX meter keeps it.
type DEXCounter struct {
	Count int64      `json:"count"`
	Value wire.Money `json:"value"`
}

// DEXProduct is one selection of a DEX read (PA1 and PA2 records).
// Selection is the machine's selection id (PA101); the edge matches it to
// the machine's product id (a selection is a slot and a slot holds one
// product), or, when no product has that id, PA103's product identifier.
type DEXProduct struct {
	Selection string `json:"selection"`
	// ProductID is the edge's product this selection maps to ("" when none).
	ProductID string     `json:"productId,omitempty"`
	Price     wire.Money `json:"price"`
	// SinceInit and SinceReset are PA201/PA202 and PA203/PA204; a field the
	// file lacks is 0 and Partial is true.
	SinceInit  DEXCounter `json:"sinceInit"`
	SinceReset DEXCounter `json:"sinceReset"`
	Partial    bool       `json:"partial,omitempty"`
}

// DEXEvent is one EA record: an event the machine logged.
type DEXEvent struct {
	Record string   `json:"record"`
	Code   string   `json:"code"`
	Fields []string `json:"fields,omitempty"`
}

// DEXRead is the answer of POST /machines/{id}/dex: the parsed audit, and
// its reconciliation against the previous read of the machine (nil for a
// machine's first read). Uploading the same file again answers the first
// result with Replayed set.
type DEXRead struct {
	ReadID    int64     `json:"readId"`
	MachineID string    `json:"machineId"`
	ReadAt    time.Time `json:"readAt"`
	// Serial and Model are ID101 and ID102: the machine controller's own.
	Serial string `json:"serial,omitempty"`
	Model  string `json:"model,omitempty"`
	// PaidVends is VA101/VA102 (since init); TestVends VA2; FreeVends VA3.
	PaidVends DEXCounter `json:"paidVends"`
	TestVends DEXCounter `json:"testVends"`
	FreeVends DEXCounter `json:"freeVends"`
	// CashSales is CA201 (value of cash sales since init), CashIn CA301
	// (cash put into the machine since init), Cashless DA201.
	CashSales DEXCounter `json:"cashSales"`
	CashIn    wire.Money `json:"cashIn"`
	Cashless  DEXCounter `json:"cashless"`
	// Products are the PA1/PA2 selections in file order.
	Products []DEXProduct `json:"products"`
	Events   []DEXEvent   `json:"events,omitempty"`
	// Warnings are what the parser tolerated (unknown records, a missing
	// envelope); an error is refused instead.
	Warnings       []string        `json:"warnings,omitempty"`
	Reconciliation *Reconciliation `json:"reconciliation,omitempty"`
	// Replayed is true when the edge answered with the first result of the
	// same file (the Idempotent-Replayed header); not in the body.
	Replayed bool `json:"-"`
}

// ReconciliationLine is one selection's comparison between two DEX reads:
// the machine's own count and value delta against the sales the edge
// recorded for the product in the same period.
type ReconciliationLine struct {
	Selection    string     `json:"selection"`
	ProductID    string     `json:"productId,omitempty"`
	MachineCount int64      `json:"machineCount"`
	MachineValue wire.Money `json:"machineValue"`
	LedgerCount  int64      `json:"ledgerCount"`
	LedgerValue  wire.Money `json:"ledgerValue"`
	// Unreported is what the machine counted beyond the ledger (sales lost
	// or never sent); Missing is what the ledger holds beyond the machine.
	UnreportedCount int64      `json:"unreportedCount"`
	UnreportedValue wire.Money `json:"unreportedValue"`
	MissingCount    int64      `json:"missingCount"`
	MissingValue    wire.Money `json:"missingValue"`
	// MachinePrice is PA102; CatalogPrice the edge's price of the product
	// (nil when the selection maps to no product); PriceMismatch when they differ.
	MachinePrice  wire.Money  `json:"machinePrice"`
	CatalogPrice  *wire.Money `json:"catalogPrice,omitempty"`
	PriceMismatch bool        `json:"priceMismatch,omitempty"`
}

// Reconciliation compares two DEX reads of one machine with the ledger.
type Reconciliation struct {
	ReconciliationID int64      `json:"reconciliationId"`
	MachineID        string     `json:"machineId"`
	FromReadID       int64      `json:"fromReadId"`
	ToReadID         int64      `json:"toReadId"`
	From             time.Time  `json:"from"`
	To               time.Time  `json:"to"`
	MachineCount     int64      `json:"machineCount"`
	MachineValue     wire.Money `json:"machineValue"`
	LedgerCount      int64      `json:"ledgerCount"`
	LedgerValue      wire.Money `json:"ledgerValue"`
	UnreportedCount  int64      `json:"unreportedCount"`
	UnreportedValue  wire.Money `json:"unreportedValue"`
	MissingCount     int64      `json:"missingCount"`
	MissingValue     wire.Money `json:"missingValue"`
	PriceMismatches  int        `json:"priceMismatches"`
	// TestVends and FreeVends are the VA2/VA3 deltas between the reads.
	TestVends DEXCounter `json:"testVends"`
	FreeVends DEXCounter `json:"freeVends"`
	// Alerted is true when the unreported value passed the threshold and
	// the reconciliation raised a DEX_UNREPORTED_SALES alert.
	Alerted   bool                 `json:"alerted"`
	Lines     []ReconciliationLine `json:"lines"`
	CreatedAt time.Time            `json:"createdAt"`
	// Revision is 1, and one more each time sales that reached the edge
	// late (inside the period, after it was reconciled) made the edge
	// reconcile the period again; CreatedAt is then the time of that.
	Revision int `json:"revision"`
}

// ReconciliationList is the answer of GET /reconciliations, newest first.
type ReconciliationList struct {
	Reconciliations []Reconciliation `json:"reconciliations"`
}

// ReconciliationQuery filters GET /reconciliations ("" = any): a machine
// and a range of read times (RFC 3339), From inclusive and To exclusive.
type ReconciliationQuery struct {
	MachineID, From, To string
	Limit               int
}

// VisitIn is the body of POST /machines/{id}/visits: a driver's proof of
// service. VisitID is a client-made idempotency key; times are RFC 3339.
type VisitIn struct {
	VisitID   string   `json:"visitId"`
	ArrivedAt string   `json:"arrivedAt"`
	LeftAt    string   `json:"leftAt"`
	Driver    string   `json:"driver"`
	Notes     string   `json:"notes,omitempty"`
	Actions   []string `json:"actions"`
}

// Visit is a recorded visit: the answer of POST /machines/{id}/visits. A
// replay answers the same, with Replayed set.
type Visit struct {
	VisitID    string    `json:"visitId"`
	MachineID  string    `json:"machineId"`
	ArrivedAt  time.Time `json:"arrivedAt"`
	LeftAt     time.Time `json:"leftAt"`
	Driver     string    `json:"driver"`
	Notes      string    `json:"notes,omitempty"`
	Actions    []string  `json:"actions"`
	RecordedAt time.Time `json:"recordedAt"`
	Sequence   uint64    `json:"sequence"`
	Replayed   bool      `json:"-"`
}

// CashIn is the body of POST /machines/{id}/cash-collections: the cash a
// driver took out of a machine and counted. CollectionID is a client-made
// idempotency key; CollectedAt is RFC 3339; Currency is optional.
type CashIn struct {
	CollectionID string     `json:"collectionId"`
	CollectedAt  string     `json:"collectedAt"`
	Amount       wire.Money `json:"amount"`
	Currency     string     `json:"currency,omitempty"`
	Driver       string     `json:"driver"`
	Notes        string     `json:"notes,omitempty"`
}

// CashCollection is a recorded collection with what was expected: from the
// machine's DEX cash meters (the CA201 delta between the last DEX reads at
// or before this and the previous collection; nil when there are none) and
// from the ledger (cash sales since the previous collection). OverShort is
// counted minus expected: negative is cash short.
type CashCollection struct {
	CollectionID string     `json:"collectionId"`
	MachineID    string     `json:"machineId"`
	CollectedAt  time.Time  `json:"collectedAt"`
	Amount       wire.Money `json:"amount"`
	Currency     string     `json:"currency,omitempty"`
	Driver       string     `json:"driver"`
	Notes        string     `json:"notes,omitempty"`
	// Since is the previous collection's time (nil: the first collection,
	// expected counts from the beginning).
	Since           *time.Time  `json:"since,omitempty"`
	ExpectedLedger  wire.Money  `json:"expectedLedger"`
	OverShortLedger wire.Money  `json:"overShortLedger"`
	ExpectedDEX     *wire.Money `json:"expectedDex,omitempty"`
	OverShortDEX    *wire.Money `json:"overShortDex,omitempty"`
	RecordedAt      time.Time   `json:"recordedAt"`
	Sequence        uint64      `json:"sequence"`
	Replayed        bool        `json:"-"`
}
