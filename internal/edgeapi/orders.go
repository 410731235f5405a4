package edgeapi

import (
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// OrderLine is one product of a pre-order and what was paid for it.
type OrderLine struct {
	ProductID string     `json:"productId"`
	Quantity  int64      `json:"quantity"`
	Amount    wire.Money `json:"amount"`
}

// Order is a pre-order as its site holds it (GET /orders, and the answer
// of POST /orders/{id}/accept|reject|pickup).
type Order struct {
	OrderID    string      `json:"orderId"`
	MachineID  string      `json:"machineId"`
	Customer   string      `json:"customer"`
	Status     string      `json:"status"`
	Reason     string      `json:"reason,omitempty"`
	Lines      []OrderLine `json:"lines"`
	PlacedAt   time.Time   `json:"placedAt"`
	ExpiresAt  time.Time   `json:"expiresAt"`
	UpdatedAt  time.Time   `json:"updatedAt"`
	PickedUpBy string      `json:"pickedUpBy,omitempty"`
	// Sales are the transaction ids of a pickup's PREPAID sales.
	Sales []string `json:"sales,omitempty"`
	// Substitution is the order's substitute offer, if it had one.
	Substitution *Substitution `json:"substitution,omitempty"`
}

// OrderList is the answer of GET /orders.
type OrderList struct {
	Orders []Order `json:"orders"`
}

// Pickup is the body of POST /orders/{id}/pickup: the QR code's content
// (a pickup token) or the short pickup code.
type Pickup struct {
	Code string `json:"code"`
}

// OrderReject is the body of POST /orders/{id}/reject.
type OrderReject struct {
	Reason string `json:"reason,omitempty"`
}
