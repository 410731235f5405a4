// Package edgeapi holds the wire types of a site's edge HTTP API: the JSON
// bodies its clients send and the answers it gives. The edge's HTTP layer
// (edge/api) maps its store rows to these answers, and the client
// (internal/client) decodes them, so the two sides share one definition.
//
// Field order is the JSON order of the answer; answers that were maps
// before they had a type keep their keys in alphabetical order.
package edgeapi

import (
	"encoding/json"
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// Error is the body of every error answer: {"error": {...}}.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// ErrorBody wraps Error as the API sends it.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Location is where a machine stands.
type Location struct {
	City     string   `json:"city"`
	Building string   `json:"building"`
	Lat      *float64 `json:"lat,omitempty"`
	Lng      *float64 `json:"lng,omitempty"`
}

// MachineState is a machine's last reported telemetry.
type MachineState struct {
	LastTelemetryAt *time.Time `json:"lastTelemetryAt,omitempty"`
	Temperature     *float64   `json:"temperature,omitempty"`
	PowerStatus     string     `json:"powerStatus,omitempty"`
	DoorStatus      string     `json:"doorStatus,omitempty"`
}

// Machine is a registered machine: the answer of GET /machines/{id} and of
// every write to a machine.
type Machine struct {
	MachineID        string        `json:"machineId"`
	Location         Location      `json:"location"`
	PaymentMethods   []string      `json:"paymentMethods"`
	Status           string        `json:"status"`
	TemperatureMax   *float64      `json:"temperatureMax,omitempty"`
	CreatedAt        time.Time     `json:"createdAt"`
	UpdatedAt        time.Time     `json:"updatedAt"`
	DecommissionedAt *time.Time    `json:"decommissionedAt,omitempty"`
	State            *MachineState `json:"state,omitempty"`
}

// MachineList is the answer of GET /machines. Site is the edge's site, so
// a client knows which site the machines belong to.
type MachineList struct {
	Machines []Machine `json:"machines"`
	Site     string    `json:"site,omitempty"`
}

// InventoryItem is one product on one machine: an element of GET
// /machines/{id}/inventory and the answer of a write to a product.
type InventoryItem struct {
	ProductID     string     `json:"productId"`
	Name          string     `json:"name"`
	Price         wire.Money `json:"price"`
	Quantity      int64      `json:"quantity"`
	ExpiryDate    string     `json:"expiryDate,omitempty"`
	LowStockLimit int64      `json:"lowStockLimit"`
	ParLevel      int64      `json:"parLevel"`
	CasePack      int64      `json:"casePack,omitempty"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	OpenAlerts    []string   `json:"openAlerts"`
	// Capacity is the most units the slot's coil holds, 0 when not known.
	Capacity int64 `json:"capacity,omitempty"`
}

// Inventory is the answer of GET /machines/{id}/inventory.
type Inventory struct {
	Items     []InventoryItem `json:"items"`
	MachineID string          `json:"machineId"`
}

// Fault is a reported machine fault.
type Fault struct {
	FaultID     int64      `json:"faultId"`
	MachineID   string     `json:"machineId"`
	FaultType   string     `json:"faultType"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	Timestamp   time.Time  `json:"timestamp"`
	ReportedAt  time.Time  `json:"reportedAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	ResolvedAt  *time.Time `json:"resolvedAt,omitempty"`
	ResolvedBy  string     `json:"resolvedBy,omitempty"`
}

// FaultList is the answer of GET /faults.
type FaultList struct {
	Faults []Fault `json:"faults"`
}

// Alert is an alert with its lifecycle.
type Alert struct {
	AlertID     int64      `json:"alertId"`
	MachineID   string     `json:"machineId"`
	ProductID   string     `json:"productId,omitempty"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	Detail      string     `json:"detail,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	ClosedAt    *time.Time `json:"closedAt,omitempty"`
	CloseReason string     `json:"closeReason,omitempty"`
}

// AlertList is the answer of GET /alerts.
type AlertList struct {
	Alerts []Alert `json:"alerts"`
}

// SalesRow is one group's totals in one bucket.
type SalesRow struct {
	Key string `json:"key"`
	// Bucket is the local wall-clock start of the bucket.
	Bucket       string     `json:"bucket"`
	Transactions int64      `json:"transactions"`
	Quantity     int64      `json:"quantity"`
	Revenue      wire.Money `json:"revenue"`
	// Discount is what promotions took off; GrossRevenue = Revenue +
	// Discount (Revenue stays what was charged).
	Discount     wire.Money `json:"discount"`
	GrossRevenue wire.Money `json:"grossRevenue"`
}

// Totals sums an answer's rows.
type Totals struct {
	Transactions int64      `json:"transactions"`
	Quantity     int64      `json:"quantity"`
	Revenue      wire.Money `json:"revenue"`
	Discount     wire.Money `json:"discount"`
	GrossRevenue wire.Money `json:"grossRevenue"`
}

// SalesAnswer is the answer of GET /aggregations/sales. From and To are
// naive local times (the site's wall clock).
type SalesAnswer struct {
	From     string     `json:"from"`
	GroupBy  string     `json:"groupBy"`
	Rows     []SalesRow `json:"rows"`
	Site     string     `json:"site"`
	Timezone string     `json:"timezone"`
	To       string     `json:"to"`
	Totals   Totals     `json:"totals"`
	Window   string     `json:"window"`
}

// SalesQuery selects GET /aggregations/sales (empty fields: the defaults).
type SalesQuery struct {
	GroupBy, Window, From, To string
}

// ProductTotal is one product's totals over a range.
type ProductTotal struct {
	ProductID    string     `json:"productId"`
	Name         string     `json:"name"`
	Transactions int64      `json:"transactions"`
	Quantity     int64      `json:"quantity"`
	Revenue      wire.Money `json:"revenue"`
}

// TopAnswer is the answer of GET /aggregations/products/top.
type TopAnswer struct {
	From     string         `json:"from"`
	Products []ProductTotal `json:"products"`
	Site     string         `json:"site"`
	Timezone string         `json:"timezone"`
	To       string         `json:"to"`
}

// AuditEntry is one audit log row.
type AuditEntry struct {
	ID          int64           `json:"id"`
	EntityType  string          `json:"entityType"`
	EntityID    string          `json:"entityId"`
	Action      string          `json:"action"`
	PerformedBy string          `json:"performedBy"`
	PerformedAt time.Time       `json:"performedAt"`
	Detail      json.RawMessage `json:"detail"`
}

// AuditList is the answer of GET /audit.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
}

// OutboxStats describes what has not reached central yet.
type OutboxStats struct {
	LastSeq  uint64 `json:"lastSeq"`
	AckedSeq uint64 `json:"ackedSeq"`
	Depth    uint64 `json:"depth"`
	// Oldest is when the oldest event central has not confirmed was written.
	Oldest *time.Time `json:"oldestUnsynced,omitempty"`
}

// Watermark is central's last word on the site: every event up to
// Contiguous is in its read model; MaxSeen is the highest it received.
type Watermark struct {
	Site       string    `json:"site"`
	Contiguous uint64    `json:"contiguous"`
	MaxSeen    uint64    `json:"maxSeen"`
	At         time.Time `json:"at"`
}

// Uplink is the state of the site's link to central.
type Uplink struct {
	Configured bool       `json:"configured"`
	Connected  bool       `json:"connected"`
	Watermark  *Watermark `json:"watermark,omitempty"`
	// EnvelopeVersion and BinaryVersion are the site's versions.
	EnvelopeVersion int    `json:"envelopeVersion,omitempty"`
	BinaryVersion   string `json:"binaryVersion,omitempty"`
	// WaitingForCentral is true while the site keeps its outbox because
	// central reads envelope versions only up to CentralReads (0: central
	// not heard from yet): central must be upgraded first.
	WaitingForCentral bool `json:"waitingForCentral,omitempty"`
	CentralReads      int  `json:"centralReads,omitempty"`
}

// SyncState is the answer of GET /sync.
type SyncState struct {
	Outbox OutboxStats `json:"outbox"`
	Site   string      `json:"site"`
	Uplink Uplink      `json:"uplink"`
}

// NewMachine is the body of POST /machines.
type NewMachine struct {
	MachineID      string    `json:"machineId"`
	Location       *Location `json:"location"`
	PaymentMethods []string  `json:"paymentMethods"`
	Status         string    `json:"status,omitempty"`
	TemperatureMax *float64  `json:"temperatureMax,omitempty"`
}

// NewProduct is the body of POST /machines/{id}/products. Nil fields are
// left out (the edge's defaults apply).
type NewProduct struct {
	ProductID     string      `json:"productId"`
	Name          string      `json:"name"`
	Price         *wire.Money `json:"price"`
	Quantity      *int64      `json:"quantity"`
	ExpiryDate    string      `json:"expiryDate,omitempty"`
	LowStockLimit *int64      `json:"lowStockLimit,omitempty"`
	ParLevel      *int64      `json:"parLevel,omitempty"`
	CasePack      *int64      `json:"casePack,omitempty"`
	// Capacity is the most units the slot's coil holds.
	Capacity *int64 `json:"capacity,omitempty"`
}

// ProductPatch is the body of PATCH /machines/{id}/products/{pid}: only the
// fields given change; a quantity is a counted correction of the stock.
type ProductPatch struct {
	Name          *string     `json:"name,omitempty"`
	Price         *wire.Money `json:"price,omitempty"`
	Quantity      *int64      `json:"quantity,omitempty"`
	ExpiryDate    *string     `json:"expiryDate,omitempty"`
	LowStockLimit *int64      `json:"lowStockLimit,omitempty"`
	ParLevel      *int64      `json:"parLevel,omitempty"`
	CasePack      *int64      `json:"casePack,omitempty"`
	// Capacity is the most units the slot's coil holds.
	Capacity *int64 `json:"capacity,omitempty"`
}

// Sale is the body of POST /events/sales and an element of a batch.
type Sale struct {
	TransactionID string     `json:"transactionId"`
	MachineID     string     `json:"machineId"`
	ProductID     string     `json:"productId"`
	Quantity      int64      `json:"quantity"`
	Amount        wire.Money `json:"amount"`
	PaymentMethod string     `json:"paymentMethod"`
	Timestamp     string     `json:"timestamp"`
	// Card is the terminal's approval of a CARD sale (optional).
	Card *CardPayment `json:"card,omitempty"`
	// PaymentToken is the gateway's payment-method token of a GATEWAY sale.
	PaymentToken string `json:"paymentToken,omitempty"`
}

// SaleResult is the answer to an accepted sale; a replay gets the same one.
type SaleResult struct {
	Status        string `json:"status"`
	TransactionID string `json:"transactionId"`
	Sequence      uint64 `json:"sequence"`
	// Replayed is true when the edge answered with the first result of
	// this transaction (the Idempotent-Replayed header); not in the body.
	Replayed bool `json:"-"`
	// Pricing is set for a sale with promotion fields or a discount.
	Pricing *SalePricing `json:"pricing,omitempty"`
	// Flags are SOLD_EXPIRED / SOLD_ON_HOLD when the sale took units not
	// fit to sell (the first answer only).
	Flags []string `json:"flags,omitempty"`
}

// Batch is the body of POST /events/batch.
type Batch struct {
	Events []Sale `json:"events"`
}

// BatchResult is one event's outcome in a batch: ACCEPTED, DUPLICATE or
// REJECTED with its error.
type BatchResult struct {
	Index         int    `json:"index"`
	TransactionID string `json:"transactionId,omitempty"`
	Status        string `json:"status"`
	Sequence      uint64 `json:"sequence,omitempty"`
	Error         *Error `json:"error,omitempty"`
}

// BatchAnswer is the answer of POST /events/batch.
type BatchAnswer struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Rejected   int           `json:"rejected"`
	Results    []BatchResult `json:"results"`
}

// Telemetry is the body of POST /events/telemetry.
type Telemetry struct {
	MachineID   string   `json:"machineId"`
	Temperature *float64 `json:"temperature,omitempty"`
	PowerStatus string   `json:"powerStatus,omitempty"`
	DoorStatus  string   `json:"doorStatus,omitempty"`
	Timestamp   string   `json:"timestamp"`
}

// Accepted is the answer of POST /events/telemetry.
type Accepted struct {
	Status string `json:"status"`
}

// NewFault is the body of POST /events/faults.
type NewFault struct {
	MachineID   string `json:"machineId"`
	FaultType   string `json:"faultType"`
	Description string `json:"description"`
	Timestamp   string `json:"timestamp"`
}

// FaultPatch is the body of PATCH /faults/{id}.
type FaultPatch struct {
	Status string `json:"status"`
}

// RestockItem is what a driver did to one product of a machine. Removals
// apply first, then the units added; CountedQuantity, when given, is the
// shelf count after the visit and corrects the stock last.
type RestockItem struct {
	ProductID       string `json:"productId"`
	Added           int64  `json:"added,omitempty"`
	RemovedExpired  int64  `json:"removedExpired,omitempty"`
	RemovedDamaged  int64  `json:"removedDamaged,omitempty"`
	CountedQuantity *int64 `json:"countedQuantity,omitempty"`
	// ExpiryDate (YYYY-MM-DD) is the expiry of the units added.
	ExpiryDate string `json:"expiryDate,omitempty"`
	// LotCode and UnitCost describe the lot of the units added (optional).
	LotCode  string      `json:"lotCode,omitempty"`
	UnitCost *wire.Money `json:"unitCost,omitempty"`
}

// Restock is the body of POST /machines/{id}/restock: one visit to one
// machine. MovementID is its idempotency key. SiteID, when given, is the
// site the visit was recorded at: another site's edge refuses it (409
// SITE_MISMATCH). PerformedAt (RFC 3339, default: on arrival) is when the
// visit was done; a count is applied as of that time.
type Restock struct {
	MovementID  string        `json:"movementId"`
	SiteID      string        `json:"siteId,omitempty"`
	PerformedAt string        `json:"performedAt,omitempty"`
	Items       []RestockItem `json:"items"`
	// VanID is the driver's van the added units came from (optional):
	// central deducts them from the van when the restock reaches it.
	VanID string `json:"vanId,omitempty"`
}

// StockLine is one stock movement a restock made.
type StockLine struct {
	Line      int    `json:"line"`
	ProductID string `json:"productId"`
	Reason    string `json:"reason"`
	Delta     int64  `json:"delta"`
	After     int64  `json:"after"`
	Sequence  uint64 `json:"sequence"`
}

// RestockResult is the answer to a restock; a replay gets the same one.
type RestockResult struct {
	MovementID string      `json:"movementId"`
	MachineID  string      `json:"machineId"`
	Lines      []StockLine `json:"lines"`
	// Replayed is true when the edge answered with the first result of
	// this movement (the Idempotent-Replayed header); not in the body.
	Replayed bool `json:"-"`
}
