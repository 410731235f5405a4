package hqapi

import (
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// AlertSubscriptionIn is the body of POST /alerts/subscribe. Empty filters
// match everything; an alert is posted when it matches every non-empty one.
type AlertSubscriptionIn struct {
	URL        string   `json:"url"`
	AlertTypes []string `json:"alertTypes,omitempty"`
	SiteIDs    []string `json:"siteIds,omitempty"`
	Cities     []string `json:"cities,omitempty"`
	MachineIDs []string `json:"machineIds,omitempty"`
	ProductIDs []string `json:"productIds,omitempty"`
	// IncludeClosed also posts when an alert closes (default: openings only).
	IncludeClosed bool `json:"includeClosed,omitempty"`
}

// AlertSubscription is a stored subscription. Secret is set only in the
// answer to POST /alerts/subscribe: it is shown once.
type AlertSubscription struct {
	ID            string    `json:"id"`
	Owner         string    `json:"owner"`
	URL           string    `json:"url"`
	AlertTypes    []string  `json:"alertTypes"`
	SiteIDs       []string  `json:"siteIds"`
	Cities        []string  `json:"cities"`
	MachineIDs    []string  `json:"machineIds"`
	ProductIDs    []string  `json:"productIds"`
	IncludeClosed bool      `json:"includeClosed"`
	CreatedAt     time.Time `json:"createdAt"`
	Secret        string    `json:"secret,omitempty"`
	// Signature says how deliveries are signed (with Secret).
	Signature string `json:"signature,omitempty"`
}

// AlertSubscriptionList is GET /alerts/subscriptions.
type AlertSubscriptionList struct {
	Subscriptions []AlertSubscription `json:"subscriptions"`
}

// WebhookAttempt is one attempt of a delivery.
type WebhookAttempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"durationMs"`
}

// WebhookDelivery is one notification and its attempts.
type WebhookDelivery struct {
	ID          string           `json:"id"`
	State       string           `json:"state"` // PENDING, DELIVERED, FAILED
	CreatedAt   time.Time        `json:"createdAt"`
	DeliveredAt *time.Time       `json:"deliveredAt,omitempty"`
	NextAt      *time.Time       `json:"nextAttemptAt,omitempty"`
	LastError   string           `json:"lastError,omitempty"`
	Attempts    []WebhookAttempt `json:"attempts"`
}

// WebhookDeliveryList is GET /alerts/subscriptions/{id}/deliveries.
type WebhookDeliveryList struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
}

// SupplierProduct is what a supplier sells: its case pack and unit cost.
type SupplierProduct struct {
	ProductID string     `json:"productId"`
	CasePack  int64      `json:"casePack"`
	UnitCost  wire.Money `json:"unitCost"`
}

// Supplier is the body of POST /suppliers and an item of GET /suppliers.
type Supplier struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	LeadTimeDays int64             `json:"leadTimeDays"`
	MinOrder     wire.Money        `json:"minOrder"`
	Products     []SupplierProduct `json:"products"`
	CreatedAt    *time.Time        `json:"createdAt,omitempty"`
}

// SupplierList is GET /suppliers.
type SupplierList struct {
	Suppliers []Supplier `json:"suppliers"`
}

// POLineIn is a line of a new purchase order; UnitCost defaults to the
// supplier's.
type POLineIn struct {
	ProductID string      `json:"productId"`
	Quantity  int64       `json:"quantity"`
	UnitCost  *wire.Money `json:"unitCost,omitempty"`
}

// PurchaseOrderIn is the body of POST /purchase-orders (a DRAFT).
type PurchaseOrderIn struct {
	SupplierID string     `json:"supplierId"`
	DepotID    string     `json:"depotId"`
	Note       string     `json:"note,omitempty"`
	Lines      []POLineIn `json:"lines"`
}

// POLine is a line of a purchase order.
type POLine struct {
	Line      int        `json:"line"`
	ProductID string     `json:"productId"`
	Quantity  int64      `json:"quantity"`
	UnitCost  wire.Money `json:"unitCost"`
	Received  int64      `json:"received"`
	Total     wire.Money `json:"total"`
}

// PurchaseOrder is a purchase order and its lines.
type PurchaseOrder struct {
	ID         string     `json:"id"`
	SupplierID string     `json:"supplierId"`
	DepotID    string     `json:"depotId"`
	Status     string     `json:"status"` // DRAFT, SENT, PARTIALLY_RECEIVED, RECEIVED, CANCELLED
	Note       string     `json:"note,omitempty"`
	Total      wire.Money `json:"total"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	Lines      []POLine   `json:"lines"`
}

// PurchaseOrderList is GET /purchase-orders.
type PurchaseOrderList struct {
	PurchaseOrders []PurchaseOrder `json:"purchaseOrders"`
}

// POStatusIn is the body of PATCH /purchase-orders/{id}: "SENT" or
// "CANCELLED".
type POStatusIn struct {
	Status string `json:"status"`
}

// ReceiptLineIn is one line of a receipt: the quantity received of a PO
// line, its lot's expiry date (YYYY-MM-DD, optional) and unit cost
// (default the line's).
type ReceiptLineIn struct {
	Line       int         `json:"line"`
	Quantity   int64       `json:"quantity"`
	ExpiryDate string      `json:"expiryDate,omitempty"`
	UnitCost   *wire.Money `json:"unitCost,omitempty"`
	LotID      string      `json:"lotId,omitempty"`
}

// ReceiptIn is the body of POST /purchase-orders/{id}/receive. ReceiptKey
// makes a retried receipt change nothing (also the Idempotency-Key header).
type ReceiptIn struct {
	ReceiptKey string          `json:"receiptKey"`
	Lines      []ReceiptLineIn `json:"lines"`
}

// Receipt answers a receipt: the order after it and the lots it created.
type Receipt struct {
	PurchaseOrder PurchaseOrder `json:"purchaseOrder"`
	Lots          []DepotLot    `json:"lots"`
	Replayed      bool          `json:"replayed,omitempty"`
}

// DepotLot is stock of one product received at one cost (and expiry) at a depot.
type DepotLot struct {
	LotID      string     `json:"lotId"`
	DepotID    string     `json:"depotId"`
	ProductID  string     `json:"productId"`
	Quantity   int64      `json:"quantity"`
	UnitCost   wire.Money `json:"unitCost"`
	ExpiryDate string     `json:"expiryDate,omitempty"`
	ReceivedAt time.Time  `json:"receivedAt"`
}

// ReplenishmentLine is one product's suggested order for a depot.
type ReplenishmentLine struct {
	ProductID       string     `json:"productId"`
	SupplierID      string     `json:"supplierId"`
	DailyDemand     float64    `json:"dailyDemand"`
	LeadTimeDays    int64      `json:"leadTimeDays"`
	LeadTimeDemand  float64    `json:"leadTimeDemand"`
	SafetyStock     float64    `json:"safetyStock"`
	OnHand          int64      `json:"onHand"`
	OnOrder         int64      `json:"onOrder"`
	CasePack        int64      `json:"casePack"`
	SuggestedQty    int64      `json:"suggestedQuantity"`
	UnitCost        wire.Money `json:"unitCost"`
	SuggestedAmount wire.Money `json:"suggestedAmount"`
}

// Replenishment is GET /reports/replenishment?depotId=.
type Replenishment struct {
	DepotID      string              `json:"depotId"`
	DemandSource string              `json:"demandSource"`
	SafetyDays   float64             `json:"safetyDays"`
	Lines        []ReplenishmentLine `json:"lines"`
}

// ValuationRow is one product's stock at one location and its value.
type ValuationRow struct {
	LocationKind string     `json:"locationKind"` // depot, van, machine
	LocationID   string     `json:"locationId"`
	SiteID       string     `json:"siteId,omitempty"`
	City         string     `json:"city,omitempty"`
	ProductID    string     `json:"productId"`
	Quantity     int64      `json:"quantity"`
	Value        wire.Money `json:"value"`
	// LotQuantity is valued at lot cost, StandardQuantity at the standard
	// cost (lowest supplier unit cost), UnvaluedQuantity not at all.
	LotQuantity      int64 `json:"lotQuantity"`
	StandardQuantity int64 `json:"standardQuantity"`
	UnvaluedQuantity int64 `json:"unvaluedQuantity"`
}

// LocationValue is the value of everything at one location.
type LocationValue struct {
	LocationKind string     `json:"locationKind"`
	LocationID   string     `json:"locationId"`
	SiteID       string     `json:"siteId,omitempty"`
	City         string     `json:"city,omitempty"`
	Quantity     int64      `json:"quantity"`
	Value        wire.Money `json:"value"`
}

// ValuationReport is GET /reports/valuation?method=fifo|average.
type ValuationReport struct {
	Method    string          `json:"method"`
	Note      string          `json:"note"`
	Rows      []ValuationRow  `json:"rows"`
	Locations []LocationValue `json:"locations"`
	Total     LocationValue   `json:"total"` // fleet-wide
}

// MarginRow is revenue, COGS and gross margin of one group.
type MarginRow struct {
	Key              string     `json:"key"`
	Quantity         int64      `json:"quantity"`
	Revenue          wire.Money `json:"revenue"`
	COGS             wire.Money `json:"cogs"`
	GrossMargin      wire.Money `json:"grossMargin"`
	MarginPercent    float64    `json:"marginPercent"`
	UncostedQuantity int64      `json:"uncostedQuantity"`
	// LotCostQuantity is units costed from their lots; the rest at
	// standard cost.
	LotCostQuantity int64 `json:"lotCostQuantity"`
}

// MarginReport is GET /reports/margin?groupBy=&from=&to=&siteId=.
type MarginReport struct {
	GroupBy   string      `json:"groupBy"`
	From      string      `json:"from,omitempty"`
	To        string      `json:"to,omitempty"`
	CostBasis string      `json:"costBasis"` // lot, standard or mixed
	Note      string      `json:"note"`
	Rows      []MarginRow `json:"rows"`
	Totals    MarginRow   `json:"totals"`
}

// ShrinkRow is what one group lost, in units and at standard cost.
type ShrinkRow struct {
	Key           string     `json:"key"`
	Spoilage      int64      `json:"spoilage"`
	SpoilageValue wire.Money `json:"spoilageValue"`
	Damage        int64      `json:"damage"`
	DamageValue   wire.Money `json:"damageValue"`
	// CountLoss is units counted short of the ledger, net of overs.
	CountLoss      int64      `json:"countLoss"`
	CountLossValue wire.Money `json:"countLossValue"`
	Total          int64      `json:"total"`
	TotalValue     wire.Money `json:"totalValue"`
}

// ShrinkReport is GET /reports/shrink?groupBy=&from=&to=.
type ShrinkReport struct {
	GroupBy string      `json:"groupBy"`
	From    string      `json:"from,omitempty"`
	To      string      `json:"to,omitempty"`
	Note    string      `json:"note"`
	Rows    []ShrinkRow `json:"rows"`
	Totals  ShrinkRow   `json:"totals"`
}

// StockReportQuery is what the valuation, margin and shrink reports take
// (each reads the fields it knows).
type StockReportQuery struct {
	Method  string // valuation: fifo (default) or average
	GroupBy string
	From    string
	To      string
	SiteID  string
}
