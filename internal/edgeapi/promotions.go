package edgeapi

import (
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/wire"
)

// Promotion is a promotion as GET /promotions lists it: the rule, who
// authored it (CENTRAL or SITE) and who changed it last.
type Promotion struct {
	promo.Promotion
	Origin    string `json:"origin"`
	UpdatedBy string `json:"updatedBy"`
}

// PromotionList is the answer of GET /promotions.
type PromotionList struct {
	Site       string      `json:"site"`
	Promotions []Promotion `json:"promotions"`
}

// EvaluateLine is one line of a basket to price.
type EvaluateLine struct {
	ProductID string `json:"productId"`
	Quantity  *int64 `json:"quantity"`
}

// EvaluateRequest is the body of POST /promotions/evaluate.
type EvaluateRequest struct {
	MachineID  string         `json:"machineId"`
	Lines      []EvaluateLine `json:"lines"`
	Code       string         `json:"code,omitempty"`
	CustomerID string         `json:"customerId,omitempty"`
	// At is when to price (RFC 3339; default now), e.g. to preview a window.
	At string `json:"at,omitempty"`
}

// Evaluation is the answer of POST /promotions/evaluate: the basket priced
// with the site's promotions and why each did or did not apply. Nothing is
// recorded.
type Evaluation struct {
	Site      string `json:"site"`
	MachineID string `json:"machineId"`
	At        string `json:"at"`
	promo.Result
}

// SalePricing is how an accepted sale was priced, in a SaleResult.
type SalePricing struct {
	ListAmount wire.Money         `json:"listAmount"`
	Discount   wire.Money         `json:"discount"`
	Amount     wire.Money         `json:"amount"`
	Promotions []AppliedPromotion `json:"promotions"`
}

// AppliedPromotion is one promotion's share of a sale's discount.
type AppliedPromotion struct {
	PromotionID string     `json:"promotionId"`
	Discount    wire.Money `json:"discount"`
}

// PromotionTotal is one promotion's redemptions over a report's range.
type PromotionTotal struct {
	PromotionID string     `json:"promotionId"`
	Name        string     `json:"name"`
	Redemptions int64      `json:"redemptions"`
	Lines       int64      `json:"lines"`
	Discount    wire.Money `json:"discount"`
}

// PromotionReport is the answer of GET /reports/promotions: gross (list),
// discount and net (charged) revenue, and each promotion's share.
type PromotionReport struct {
	Site       string           `json:"site"`
	Timezone   string           `json:"timezone"`
	From       string           `json:"from"`
	To         string           `json:"to"`
	Gross      wire.Money       `json:"grossRevenue"`
	Discount   wire.Money       `json:"discount"`
	Net        wire.Money       `json:"netRevenue"`
	Promotions []PromotionTotal `json:"promotions"`
}
