package envelope

import "time"

// Pre-orders (customer orders placed at central, picked up at a site).
//
// Central writes an order to its site's downlink under order.<orderId> (an
// OrderDownlink; a later write of the same key carries the customer's
// decisions, such as a cancel) and its public order key under
// orderkey.central. The site reserves, accepts and redeems the order and
// sends every status change up as a KindOrder event (an OrderEvent).
const (
	// DownlinkOrder is the kind of order.<orderId>: an OrderDownlink.
	DownlinkOrder = "order"
	// DownlinkOrderKey is the kind of orderkey.central: an OrderKey.
	DownlinkOrderKey = "orderkey"
	// KindOrder: data OrderEvent (an order's state after a change at its site).
	KindOrder Kind = "order"
)

// OrderKeyKey is the downlink key of central's order key.
const OrderKeyKey = DownlinkOrderKey + ".central"

// OrderKey is central's public key for pickup tokens (ed25519).
type OrderKey struct {
	PublicKey []byte `json:"publicKey"`
}

// OrderKeyOf is the downlink key of an order.
func OrderKeyOf(orderID string) string { return DownlinkOrder + "." + orderID }

// Order statuses. Central sets PLACED (paid, sent to the site) and
// REFUNDED; the site sets the others.
const (
	OrderPlaced    = "PLACED"
	OrderPending   = "PENDING"  // reserved, waiting for the operator
	OrderAccepted  = "ACCEPTED" // reserved and accepted: ready for pickup
	OrderRejected  = "REJECTED"
	OrderPickedUp  = "PICKED_UP"
	OrderExpired   = "EXPIRED" // not picked up in its window: reservation released
	OrderCancelled = "CANCELLED"
	OrderRefunded  = "REFUNDED"
)

// OrderLine is one product of an order: the units and what was paid for
// them (net of promotions), in cents.
type OrderLine struct {
	ProductID   string `json:"productId"`
	Quantity    int64  `json:"quantity"`
	AmountCents int64  `json:"amountCents"`
}

// OrderDownlink is an order as central sends it to its site.
type OrderDownlink struct {
	OrderID   string      `json:"orderId"`
	MachineID string      `json:"machineId"`
	Customer  string      `json:"customer"`
	Lines     []OrderLine `json:"lines"`
	// Code is the short pickup code (see sync/pickup).
	Code      string    `json:"code"`
	PlacedAt  time.Time `json:"placedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Cancel asks the site to cancel the order if it was not picked up.
	Cancel bool `json:"cancel,omitempty"`
}

// OrderEvent is the data of a KindOrder event: the order's state after a
// change at its site.
type OrderEvent struct {
	OrderID   string      `json:"orderId"`
	MachineID string      `json:"machineId"`
	Customer  string      `json:"customer"`
	Status    string      `json:"status"`
	Lines     []OrderLine `json:"lines"`
	Reason    string      `json:"reason,omitempty"`
	By        string      `json:"by"`
	// Substitution is the order's substitute offer, if it had one.
	Substitution *Substitution `json:"substitution,omitempty"`
}

// MaxOrderLines bounds the lines of one order.
const MaxOrderLines = 50
