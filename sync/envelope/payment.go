package envelope

import "time"

// KindPayment: data Payment (a sale's payment after one change of status:
// taken, authorized, captured, failed, refunded, voided).
const KindPayment Kind = "payment"

// Payment is the data of a KindPayment event: the whole state of one
// payment after a change, so the newest event (highest sequence) of a
// payment is its state and a redelivered or older one changes nothing.
// PaymentID is unique within the site. Amounts are in cents; Day is the
// site-local date of the sale, the day finance closes it under.
type Payment struct {
	PaymentID     int64     `json:"paymentId"`
	TransactionID string    `json:"transactionId"`
	MachineID     string    `json:"machineId"`
	ProductID     string    `json:"productId"`
	Quantity      int64     `json:"quantity"`
	Method        string    `json:"method"`
	MethodName    string    `json:"methodName"`
	AmountCents   int64     `json:"amountCents"`
	RefundedCents int64     `json:"refundedCents"`
	Status        string    `json:"status"`
	Day           string    `json:"day"`
	SoldAt        time.Time `json:"soldAt"`
	// Change is what this event records (CAPTURED, REFUNDED, …) and By who
	// did it; Restocked is the units a refund put back into the machine.
	Change    string `json:"change"`
	By        string `json:"by"`
	Restocked int64  `json:"restocked,omitempty"`
}
