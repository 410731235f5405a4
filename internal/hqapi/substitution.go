package hqapi

import (
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// SubstitutionAnswer is the body of POST /orders/{id}/substitution: the
// customer's answer to its site's substitute offer.
type SubstitutionAnswer struct {
	// Accept is required: true takes the substitutes, false drops the
	// missing units and refunds them.
	Accept *bool `json:"accept"`
}

// OrderSubstitution is a site's offer of substitutes for an order's
// missing units: state OFFERED (answer by AnswerBy), ACCEPTED or REFUSED
// (Refund is what the dropped units were paid, refunded through RefundID).
type OrderSubstitution struct {
	State    string           `json:"state"`
	Lines    []SubstituteLine `json:"lines"`
	AnswerBy time.Time        `json:"answerBy"`
	// Answer is the customer's answer recorded at central (accept or
	// refuse), before the site applies it; "" for none yet.
	Answer   string     `json:"answer,omitempty"`
	Refund   wire.Money `json:"refund,omitempty"`
	RefundID string     `json:"refundId,omitempty"`
	Reason   string     `json:"reason,omitempty"`
}

// SubstituteLine is the substitute offered for one line's missing units,
// given for the amount paid for them (never more): the same line the
// order's site answers.
type SubstituteLine = edgeapi.SubstituteLine
