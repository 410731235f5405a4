package edgeapi

import (
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// CardPayment is what a card terminal tells about a card sale: its own
// reference for the approval and at most the last 4 digits of the card.
// A full card number is refused and never stored.
type CardPayment struct {
	Reference string `json:"reference,omitempty"`
	Last4     string `json:"last4,omitempty"`
}

// Payment is a sale's payment in the edge's ledger (GET /payments).
type Payment struct {
	PaymentID     int64        `json:"paymentId"`
	TransactionID string       `json:"transactionId"`
	MachineID     string       `json:"machineId"`
	ProductID     string       `json:"productId"`
	Quantity      int64        `json:"quantity"`
	Method        string       `json:"method"`
	MethodName    string       `json:"methodName"`
	Amount        wire.Money   `json:"amount"`
	Refunded      wire.Money   `json:"refunded"`
	Status        string       `json:"status"`
	Card          *CardPayment `json:"card,omitempty"`
	GatewayID     string       `json:"gatewayId,omitempty"`
	Failure       string       `json:"failure,omitempty"`
	Day           string       `json:"day"`
	SoldAt        time.Time    `json:"soldAt"`
	CreatedAt     time.Time    `json:"createdAt"`
	UpdatedAt     time.Time    `json:"updatedAt"`
	// History is every status change, oldest first (GET /payments/{id} only).
	History []PaymentChange `json:"history,omitempty"`
	// Replayed is set on a refund answered again without a change.
	Replayed bool `json:"-"`
}

// PaymentChange is one status change of a payment.
type PaymentChange struct {
	N         int        `json:"n"`
	From      string     `json:"from,omitempty"`
	To        string     `json:"to"`
	Amount    wire.Money `json:"amount"`
	Reason    string     `json:"reason,omitempty"`
	Reference string     `json:"reference,omitempty"`
	By        string     `json:"by"`
	At        time.Time  `json:"at"`
	Sequence  uint64     `json:"sequence,omitempty"`
}

// PaymentList is the answer to GET /payments.
type PaymentList struct {
	Payments []Payment `json:"payments"`
}

// RefundIn refunds a captured payment in full, or voids an authorized one
// (POST /payments/{id}/refund). NotDispensed says the goods never left the
// machine: their units go back into its stock.
type RefundIn struct {
	Reason       string `json:"reason"`
	NotDispensed bool   `json:"notDispensed"`
	// Reference is the terminal's or cashier's reference of the refund.
	Reference string `json:"reference,omitempty"`
}

// PaymentTotal is one method's payments on one site-local day: what was
// taken, what was refunded, and the net. Payments counts those taken
// (captured, whether refunded since or not).
type PaymentTotal struct {
	Day      string     `json:"day"`
	Method   string     `json:"method"`
	Payments int64      `json:"payments"`
	Gross    wire.Money `json:"gross"`
	Refunds  int64      `json:"refunds"`
	Refunded wire.Money `json:"refunded"`
	Net      wire.Money `json:"net"`
	Failed   int64      `json:"failed"`
}

// PaymentReport is the answer to GET /reports/payments.
type PaymentReport struct {
	From   string         `json:"from"`
	To     string         `json:"to"`
	Totals []PaymentTotal `json:"totals"`
}

// WebhookResult is the answer to a gateway confirmation (POST
// /payments/webhook): whether it changed a payment, or was a duplicate.
type WebhookResult struct {
	EventID   string `json:"eventId"`
	PaymentID int64  `json:"paymentId,omitempty"`
	Status    string `json:"status,omitempty"`
	Applied   bool   `json:"applied"`
	Duplicate bool   `json:"duplicate"`
}
