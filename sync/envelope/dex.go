package envelope

import "time"

// The event kinds of DEX audits and driver visits (edge/dex/audit).
const (
	// KindReconciliation: data Reconciliation (a DEX read compared with
	// the previous one and with the sales ledger).
	KindReconciliation Kind = "dex_reconciliation"
	// KindVisit: data Visit (a driver's proof of service at a machine).
	KindVisit Kind = "visit"
	// KindCash: data CashCollection (cash a driver took out of a machine).
	KindCash Kind = "cash_collection"
)

// Reconciliation is the data of a KindReconciliation event: the totals of
// one machine between two DEX reads, as the machine counted them and as
// the site's ledger holds them. Amounts are in cents. ID is unique within
// the site.
type Reconciliation struct {
	ID              int64     `json:"reconciliationId"`
	MachineID       string    `json:"machineId"`
	FromReadID      int64     `json:"fromReadId"`
	ToReadID        int64     `json:"toReadId"`
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	MachineCount    int64     `json:"machineCount"`
	MachineValue    int64     `json:"machineValueCents"`
	LedgerCount     int64     `json:"ledgerCount"`
	LedgerValue     int64     `json:"ledgerValueCents"`
	UnreportedCount int64     `json:"unreportedCount"`
	UnreportedValue int64     `json:"unreportedValueCents"`
	MissingCount    int64     `json:"missingCount"`
	MissingValue    int64     `json:"missingValueCents"`
	PriceMismatches int64     `json:"priceMismatches"`
	TestVends       int64     `json:"testVends"`
	FreeVends       int64     `json:"freeVends"`
	Alerted         bool      `json:"alerted"`
	// By is the client that uploaded the later read (a driver, usually).
	By string `json:"by"`
	// Revision is 0 or 1 for the first reconciliation of a read, higher
	// for each recheck after late sales; the highest revision wins.
	Revision int64 `json:"revision,omitempty"`
}

// Visit is the data of a KindVisit event.
type Visit struct {
	VisitID   string    `json:"visitId"`
	MachineID string    `json:"machineId"`
	ArrivedAt time.Time `json:"arrivedAt"`
	LeftAt    time.Time `json:"leftAt"`
	Driver    string    `json:"driver"`
	Notes     string    `json:"notes,omitempty"`
	Actions   []string  `json:"actions"`
	By        string    `json:"by"`
}

// CashCollection is the data of a KindCash event: what was counted and
// what was expected, in cents. ExpectedDEX is nil when no DEX meters cover
// the period.
type CashCollection struct {
	CollectionID   string     `json:"collectionId"`
	MachineID      string     `json:"machineId"`
	CollectedAt    time.Time  `json:"collectedAt"`
	AmountCents    int64      `json:"amountCents"`
	Currency       string     `json:"currency,omitempty"`
	Driver         string     `json:"driver"`
	Notes          string     `json:"notes,omitempty"`
	Since          *time.Time `json:"since,omitempty"`
	ExpectedLedger int64      `json:"expectedLedgerCents"`
	ExpectedDEX    *int64     `json:"expectedDexCents,omitempty"`
	By             string     `json:"by"`
}
