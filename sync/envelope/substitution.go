package envelope

import "time"

// Substitutes for pre-orders (seed 001: "the system should use alternative
// products to ensure sales instead of abandoning the customer"). When a
// line of an order can't be reserved at its site and a configured
// substitute can, the site reserves the substitute and moves the order to
// SUBSTITUTION_OFFERED with a Substitution in its OrderEvent. The customer
// answers at central; central sends the answer down as a
// SubstitutionDecision under substitution.<orderId>, and the site accepts
// (the substitute replaces the missing units, given at the price already
// paid) or refuses (the missing units are dropped and refunded). An offer
// not answered by its ExpiresAt is refused by the site.
const (
	// DownlinkSubstitution is the kind of substitution.<orderId>: a
	// SubstitutionDecision.
	DownlinkSubstitution = "substitution"
	// OrderSubstitutionOffered: the site holds a substitute for a missing
	// line and waits for the customer's answer.
	OrderSubstitutionOffered = "SUBSTITUTION_OFFERED"
)

// States of a Substitution.
const (
	SubstitutionOffered  = "OFFERED"
	SubstitutionAccepted = "ACCEPTED"
	SubstitutionRefused  = "REFUSED"
)

// Substitution is a site's offer of substitutes for an order's missing
// units, and what became of it.
type Substitution struct {
	// State is OFFERED, ACCEPTED or REFUSED.
	State string            `json:"state"`
	Lines []SubstituteOffer `json:"lines"`
	// OfferedAt and ExpiresAt bound the customer's answer; none by
	// ExpiresAt is a refusal.
	OfferedAt time.Time `json:"offeredAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Then is the status the order takes when the offer is accepted
	// (ACCEPTED, or PENDING when the operator still has to accept it), and
	// when it is refused with lines left.
	Then string `json:"then"`
	// RefundCents is, once REFUSED, what the dropped units were paid: the
	// amount central refunds (the whole payment if no line is left and the
	// order is REJECTED).
	RefundCents int64 `json:"refundCents,omitempty"`
	// Reason says why it was refused (the customer, or no answer in time).
	Reason string `json:"reason,omitempty"`
	// By is who answered.
	By string `json:"by,omitempty"`
}

// SubstituteOffer is the substitute offered for one line's missing units.
type SubstituteOffer struct {
	// Line is the index of the line in the order as placed.
	Line      int    `json:"line"`
	ProductID string `json:"productId"`
	// SubstituteID is the product offered instead.
	SubstituteID string `json:"substituteId"`
	// Quantity is the units substituted; KeptQuantity the units of the
	// line's own product still reserved (a partial shortage).
	Quantity     int64 `json:"quantity"`
	KeptQuantity int64 `json:"keptQuantity"`
	// AmountCents is what the customer paid for the substituted units: the
	// substitute is given for it, never for more (nor is a cheaper
	// substitute's difference refunded). It is refunded if refused.
	AmountCents int64 `json:"amountCents"`
	// ListPriceCents is the substitute's list price for Quantity units at
	// the site, for information.
	ListPriceCents int64 `json:"listPriceCents"`
}

// SubstitutionDecision is the customer's answer to an offer, from central.
type SubstitutionDecision struct {
	Accept    bool      `json:"accept"`
	By        string    `json:"by"`
	DecidedAt time.Time `json:"decidedAt"`
}

// SubstitutionKeyOf is the downlink key of the answer to an order's offer.
func SubstitutionKeyOf(orderID string) string { return DownlinkSubstitution + "." + orderID }
