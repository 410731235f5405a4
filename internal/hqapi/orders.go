package hqapi

import (
	"time"

	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/wire"
)

// NewCustomer is the answer of POST /customers: the credentials of a new
// customer (role CUSTOMER). ClientID is the customer's opaque token; the
// secret is shown once. Exchange them at POST /auth/token.
type NewCustomer struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// OrderLineIn is one line of POST /orders.
type OrderLineIn struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

// NewOrder is the body of POST /orders: a cart at one point (machine or
// counter) of a site, an optional promotion code, and the gateway's
// payment-method token (never card data; default pm_card_visa against
// stripe-mock).
type NewOrder struct {
	SiteID        string        `json:"siteId"`
	MachineID     string        `json:"machineId"`
	Lines         []OrderLineIn `json:"lines"`
	PromotionCode string        `json:"promotionCode,omitempty"`
	PaymentMethod string        `json:"paymentMethod,omitempty"`
}

// OrderLine is one priced line of an order.
type OrderLine struct {
	ProductID string     `json:"productId"`
	Quantity  int64      `json:"quantity"`
	Amount    wire.Money `json:"amount"`
}

// OrderPayment is an order's payment at the gateway.
type OrderPayment struct {
	ID       string `json:"id,omitempty"`
	Status   string `json:"status,omitempty"`
	RefundID string `json:"refundId,omitempty"`
}

// Order is a pre-order (POST /orders answers 201 with one; GET /orders and
// GET /orders/{id}). Status is PLACED (paid, on its way to the site), then
// what the site reports: PENDING (waiting for the operator), ACCEPTED
// (ready for pickup), REJECTED, PICKED_UP, EXPIRED, CANCELLED; REFUNDED is
// in Payment.Status. PickupCode, PickupToken (the QR code's content) and
// QRCode (a link to its PNG) are shown to the customer only.
type Order struct {
	OrderID       string          `json:"orderId"`
	SiteID        string          `json:"siteId"`
	MachineID     string          `json:"machineId"`
	Customer      string          `json:"customer"`
	Status        string          `json:"status"`
	Reason        string          `json:"reason,omitempty"`
	Lines         []OrderLine     `json:"lines"`
	Gross         wire.Money      `json:"grossAmount"`
	Discount      wire.Money      `json:"discount"`
	Total         wire.Money      `json:"total"`
	Currency      string          `json:"currency,omitempty"`
	PromotionCode string          `json:"promotionCode,omitempty"`
	Promotions    []promo.Applied `json:"promotions,omitempty"`
	Payment       OrderPayment    `json:"payment"`
	PickupCode    string          `json:"pickupCode,omitempty"`
	PickupToken   string          `json:"pickupToken,omitempty"`
	QRCode        string          `json:"qrCode,omitempty"`
	PlacedAt      time.Time       `json:"placedAt"`
	ReadyAt       *time.Time      `json:"estimatedReadyAt,omitempty"`
	ExpiresAt     *time.Time      `json:"pickupBy,omitempty"`
	UpdatedAt     time.Time       `json:"updatedAt"`
	// Substitution is the site's substitute offer for missing units, if
	// it made one, and its answer.
	Substitution *OrderSubstitution `json:"substitution,omitempty"`
}

// OrderList is the answer of GET /orders.
type OrderList struct {
	Orders []Order `json:"orders"`
}

// OrderStatusEvent is the data of one server-sent event of GET
// /orders/{id}/events (event name "status", id the event's number).
type OrderStatusEvent struct {
	OrderID string    `json:"orderId"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}
