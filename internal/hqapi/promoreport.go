package hqapi

import "github.com/vendsync/vendsync/sync/wire"

// PromotionTotal is one promotion's redemptions over a report's range.
type PromotionTotal struct {
	PromotionID string `json:"promotionId"`
	// Redemptions counts the sales (baskets) it discounted, Lines the sale
	// lines, Sites the sites that redeemed it.
	Redemptions int64      `json:"redemptions"`
	Lines       int64      `json:"lines"`
	Sites       int64      `json:"sites"`
	Discount    wire.Money `json:"discount"`
}

// PromotionReport is the body of GET /reports/promotions: gross (list),
// discount and net (charged) revenue over the range, each promotion's
// share, and the freshness of every site covered.
type PromotionReport struct {
	From       string           `json:"from"`
	To         string           `json:"to"`
	City       string           `json:"city,omitempty"`
	SiteID     string           `json:"siteId,omitempty"`
	Gross      wire.Money       `json:"grossRevenue"`
	Discount   wire.Money       `json:"discount"`
	Net        wire.Money       `json:"netRevenue"`
	Promotions []PromotionTotal `json:"promotions"`
	Freshness  []Freshness      `json:"freshness"`
}
