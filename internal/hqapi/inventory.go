package hqapi

import "time"

// Depot is a warehouse (GET/POST /depots).
type Depot struct {
	DepotID   string    `json:"depotId"`
	Name      string    `json:"name"`
	City      string    `json:"city,omitempty"`
	Address   string    `json:"address,omitempty"`
	CreatedBy string    `json:"createdBy,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// NewDepot is the body of POST /depots.
type NewDepot struct {
	DepotID string `json:"depotId"`
	Name    string `json:"name"`
	City    string `json:"city,omitempty"`
	Address string `json:"address,omitempty"`
}

// DepotList is the answer of GET /depots.
type DepotList struct {
	Depots []Depot `json:"depots"`
}

// Van is a driver's van based at a depot (GET/POST /vans).
type Van struct {
	VanID     string    `json:"vanId"`
	Name      string    `json:"name"`
	DepotID   string    `json:"depotId"`
	Driver    string    `json:"driver,omitempty"`
	CreatedBy string    `json:"createdBy,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// NewVan is the body of POST /vans.
type NewVan struct {
	VanID   string `json:"vanId"`
	Name    string `json:"name"`
	DepotID string `json:"depotId"`
	Driver  string `json:"driver,omitempty"`
}

// VanList is the answer of GET /vans.
type VanList struct {
	Vans []Van `json:"vans"`
}

// SKU is a product variant with an optional barcode (GET/POST /skus).
type SKU struct {
	SKU       string     `json:"sku"`
	ProductID string     `json:"productId"`
	Variant   string     `json:"variant,omitempty"`
	Barcode   string     `json:"barcode,omitempty"`
	Name      string     `json:"name,omitempty"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
}

// SKUList is the answer of GET /skus.
type SKUList struct {
	SKUs []SKU `json:"skus"`
}

// Movement is one stock movement of the ledger. Quantity is signed:
// positive adds stock at the location, negative removes it.
type Movement struct {
	MovementID    int64     `json:"movementId,omitempty"` // 0 for a machine sale (read from the sales)
	Key           string    `json:"key"`
	LocationKind  string    `json:"locationKind"` // depot, van, machine
	LocationID    string    `json:"locationId"`
	SiteID        string    `json:"siteId,omitempty"`
	City          string    `json:"city,omitempty"`
	ProductID     string    `json:"productId"`
	SKU           string    `json:"sku,omitempty"`
	Type          string    `json:"type"`
	Quantity      int64     `json:"quantity"`
	UnitCostCents *int64    `json:"unitCostCents,omitempty"`
	LotID         string    `json:"lotId,omitempty"`
	Ref           string    `json:"ref,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	PerformedBy   string    `json:"performedBy"`
	PerformedAt   time.Time `json:"performedAt"`
}

// MovementList is the answer of GET /stock-movements; NextOffset is set
// when more rows follow.
type MovementList struct {
	Movements  []Movement `json:"movements"`
	NextOffset *int       `json:"nextOffset,omitempty"`
}

// MovementQuery filters GET /stock-movements and GET
// /reports/stock-movement; empty fields match everything. From and To are
// RFC 3339 or YYYY-MM-DD (UTC).
type MovementQuery struct {
	LocationKind, LocationID, SiteID, City, ProductID, Type, From, To string
	Limit, Offset                                                     int
}

// StockLevel is the stock of a product at a depot or van.
type StockLevel struct {
	LocationKind string    `json:"locationKind"`
	LocationID   string    `json:"locationId"`
	ProductID    string    `json:"productId"`
	Quantity     int64     `json:"quantity"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// StockList is the answer of GET /inventory/stock.
type StockList struct {
	Stock []StockLevel `json:"stock"`
}

// MovementReportRow is one location's movements of one product in the
// report's period: opening, the sum per movement type, units in and out,
// closing (= opening + in - out).
type MovementReportRow struct {
	LocationKind string           `json:"locationKind"`
	LocationID   string           `json:"locationId"`
	SiteID       string           `json:"siteId,omitempty"`
	ProductID    string           `json:"productId"`
	Opening      int64            `json:"opening"`
	ByType       map[string]int64 `json:"byType"`
	In           int64            `json:"in"`
	Out          int64            `json:"out"`
	Closing      int64            `json:"closing"`
}

// MovementReport is the answer of GET /reports/stock-movement.
type MovementReport struct {
	From string              `json:"from,omitempty"`
	To   string              `json:"to,omitempty"`
	Rows []MovementReportRow `json:"rows"`
}

// StockLocation names a depot or van.
type StockLocation struct {
	Kind string `json:"kind"` // depot, van
	ID   string `json:"id"`
}

// TransferLineIn is one product of POST /transfers: what the pick list
// planned (nil: as picked) and what was picked.
type TransferLineIn struct {
	ProductID string `json:"productId"`
	Planned   *int64 `json:"planned,omitempty"`
	Picked    int64  `json:"picked"`
}

// TransferIn is the body of POST /transfers. TransferID is its
// idempotency key.
type TransferIn struct {
	TransferID string           `json:"transferId"`
	From       StockLocation    `json:"from"`
	To         StockLocation    `json:"to"`
	Lines      []TransferLineIn `json:"lines"`
	Reason     string           `json:"reason,omitempty"`
}

// TransferLine is a recorded line; Shortfall is planned - picked.
type TransferLine struct {
	Line      int    `json:"line"`
	ProductID string `json:"productId"`
	Planned   int64  `json:"planned"`
	Picked    int64  `json:"picked"`
	Shortfall int64  `json:"shortfall"`
}

// Transfer is a recorded transfer: load (depot to van), return (van to
// depot) or move.
type Transfer struct {
	TransferID string         `json:"transferId"`
	Kind       string         `json:"kind"`
	From       StockLocation  `json:"from"`
	To         StockLocation  `json:"to"`
	Lines      []TransferLine `json:"lines"`
	Shortfall  int64          `json:"shortfall"`
	CreatedBy  string         `json:"createdBy"`
	CreatedAt  time.Time      `json:"createdAt"`
	Replayed   bool           `json:"-"`
}

// TransferList is the answer of GET /transfers.
type TransferList struct {
	Transfers []Transfer `json:"transfers"`
}

// BulkLine is one line of POST /inventory/bulk-update: a movement of
// Quantity of Type, or (Counted set) the counted stock, recorded as a
// count_adjustment of the difference. Lines at machines are refused with
// MACHINE_OWNED_BY_SITE.
type BulkLine struct {
	LocationKind  string `json:"locationKind"`
	LocationID    string `json:"locationId"`
	ProductID     string `json:"productId"`
	SKU           string `json:"sku,omitempty"`
	Type          string `json:"type,omitempty"`
	Quantity      int64  `json:"quantity,omitempty"`
	Counted       *int64 `json:"counted,omitempty"`
	UnitCostCents *int64 `json:"unitCostCents,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// BulkUpdateIn is the body of POST /inventory/bulk-update. RequestKey
// makes it idempotent.
type BulkUpdateIn struct {
	RequestKey string     `json:"requestKey"`
	Lines      []BulkLine `json:"lines"`
}

// LineError is why a line was refused.
type LineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// LineOutcome is what became of one line: ok with its movement (none when
// a count matched) and the balance after it, or error.
type LineOutcome struct {
	Line     int        `json:"line"`
	Status   string     `json:"status"` // ok, error
	Movement *Movement  `json:"movement,omitempty"`
	Balance  int64      `json:"balance"`
	Replayed bool       `json:"replayed,omitempty"`
	Error    *LineError `json:"error,omitempty"`
}

// BulkResult is the answer of POST /inventory/bulk-update and POST
// /integration/sync.
type BulkResult struct {
	RequestKey string        `json:"requestKey,omitempty"`
	OK         int           `json:"ok"`
	Failed     int           `json:"failed"`
	Lines      []LineOutcome `json:"lines"`
	Replayed   bool          `json:"-"`
}

// ChannelChange is a sale or stock change of an external channel;
// ChannelID is the channel's id for it (recorded once).
type ChannelChange struct {
	ChannelID string     `json:"channelId"`
	ProductID string     `json:"productId"`
	Type      string     `json:"type"`
	Quantity  int64      `json:"quantity"`
	At        *time.Time `json:"at,omitempty"`
}

// ChannelStock is the stock level a channel reports.
type ChannelStock struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

// ChannelSyncIn is the body of POST /integration/sync.
type ChannelSyncIn struct {
	Channel  string          `json:"channel"`
	Location StockLocation   `json:"location"`
	Changes  []ChannelChange `json:"changes,omitempty"`
	Stock    []ChannelStock  `json:"stock,omitempty"`
}

// ReconciliationLine compares a channel's stock with ours.
type ReconciliationLine struct {
	LocationKind string    `json:"locationKind"`
	LocationID   string    `json:"locationId"`
	ProductID    string    `json:"productId"`
	Channel      int64     `json:"channel"`
	Ours         int64     `json:"ours"`
	Difference   int64     `json:"difference"`
	ReportedAt   time.Time `json:"reportedAt"`
}

// ChannelReconciliation is the answer of GET
// /integration/reconciliation?channel=.
type ChannelReconciliation struct {
	Channel     string               `json:"channel"`
	Differences int                  `json:"differences"`
	Lines       []ReconciliationLine `json:"lines"`
}
