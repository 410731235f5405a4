package hqapi

import (
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// ReconciliationRow is one group's DEX reconciliation totals: a machine
// (SiteID and MachineID set), a site, a city or a driver (Key).
type ReconciliationRow struct {
	Key             string     `json:"key"`
	SiteID          string     `json:"siteId,omitempty"`
	MachineID       string     `json:"machineId,omitempty"`
	Reconciliations int64      `json:"reconciliations"`
	MachineCount    int64      `json:"machineCount"`
	MachineValue    wire.Money `json:"machineValue"`
	LedgerCount     int64      `json:"ledgerCount"`
	LedgerValue     wire.Money `json:"ledgerValue"`
	UnreportedCount int64      `json:"unreportedCount"`
	UnreportedValue wire.Money `json:"unreportedValue"`
	MissingCount    int64      `json:"missingCount"`
	MissingValue    wire.Money `json:"missingValue"`
	PriceMismatches int64      `json:"priceMismatches"`
	TestVends       int64      `json:"testVends"`
	FreeVends       int64      `json:"freeVends"`
	Alerts          int64      `json:"alerts"`
	LastReadAt      *time.Time `json:"lastReadAt,omitempty"`
}

// ReconciliationReport is the answer of GET /reports/reconciliation: DEX
// reads reconciled against the sales ledger, per group, largest
// unreported value first, with the covered sites' freshness.
type ReconciliationReport struct {
	GroupBy string              `json:"groupBy"`
	From    string              `json:"from,omitempty"`
	To      string              `json:"to,omitempty"`
	Rows    []ReconciliationRow `json:"rows"`
	Totals  ReconciliationRow   `json:"totals"`
	Sites   []Freshness         `json:"sites"`
}

// ReconciliationQuery selects GET /reports/reconciliation: GroupBy is
// machine (default), site, city, driver (the one who uploaded the read) or
// route (a DRIVER client's sites; a site on two routes counts in both);
// From and To (RFC 3339 or YYYY-MM-DD) bound the later read's time.
type ReconciliationQuery struct {
	GroupBy, SiteID, From, To string
}

// CashRow is one group's cash collections: counted against expected.
type CashRow struct {
	Key             string     `json:"key"`
	SiteID          string     `json:"siteId,omitempty"`
	MachineID       string     `json:"machineId,omitempty"`
	Collections     int64      `json:"collections"`
	Counted         wire.Money `json:"counted"`
	ExpectedLedger  wire.Money `json:"expectedLedger"`
	OverShortLedger wire.Money `json:"overShortLedger"`
	// ExpectedDEX and OverShortDEX sum the collections that had DEX meters.
	ExpectedDEX     wire.Money `json:"expectedDex"`
	OverShortDEX    wire.Money `json:"overShortDex"`
	DEXCollections  int64      `json:"dexCollections"`
	LastCollectedAt *time.Time `json:"lastCollectedAt,omitempty"`
}

// CashReport is the answer of GET /reports/cash: over/short per group,
// largest shortage first.
type CashReport struct {
	GroupBy string      `json:"groupBy"`
	From    string      `json:"from,omitempty"`
	To      string      `json:"to,omitempty"`
	Rows    []CashRow   `json:"rows"`
	Totals  CashRow     `json:"totals"`
	Sites   []Freshness `json:"sites"`
}

// CashQuery selects GET /reports/cash: GroupBy is machine (default), site,
// city, driver or route; From and To bound the collection time.
type CashQuery struct {
	GroupBy, SiteID, From, To string
}
