package edgeapi

import (
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// SubstitutesIn is the body of PUT /products/{id}/substitutes: the
// product's substitutes in the order they are offered ([] for none).
type SubstitutesIn struct {
	Substitutes []string `json:"substitutes"`
}

// Substitutes are a product's substitutes (PUT and GET
// /products/{id}/substitutes).
type Substitutes struct {
	ProductID   string   `json:"productId"`
	Substitutes []string `json:"substitutes"`
}

// SubstitutesList is the answer of GET /substitutes.
type SubstitutesList struct {
	Products []Substitutes `json:"products"`
}

// Substitution is a site's offer of substitutes for an order's missing
// units and what became of it (state OFFERED, ACCEPTED or REFUSED).
type Substitution struct {
	State     string           `json:"state"`
	Lines     []SubstituteLine `json:"lines"`
	OfferedAt time.Time        `json:"offeredAt"`
	ExpiresAt time.Time        `json:"answerBy"`
	// Then is the order's status once accepted.
	Then string `json:"then"`
	// Refund is, once REFUSED, what the dropped units were paid.
	Refund wire.Money `json:"refund,omitempty"`
	Reason string     `json:"reason,omitempty"`
	By     string     `json:"by,omitempty"`
}

// SubstituteLine is the substitute offered for one line's missing units,
// given for the amount paid for them.
type SubstituteLine struct {
	Line         int        `json:"line"`
	ProductID    string     `json:"productId"`
	SubstituteID string     `json:"substituteId"`
	Quantity     int64      `json:"quantity"`
	KeptQuantity int64      `json:"keptQuantity"`
	Amount       wire.Money `json:"amount"`
	ListPrice    wire.Money `json:"listPrice"`
}
