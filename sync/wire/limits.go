package wire

// Limits on what a price, a stock count and a case pack may be. The edge
// refuses values outside them and central refuses to author them, so a
// downlink change can never carry one the edge would reject.
const (
	// MaxPriceCents is the highest price, in cents (1,000,000.00).
	MaxPriceCents = 100_000_000
	// MaxQuantity bounds a slot's stock, low-stock limit and par level.
	MaxQuantity = 100_000
	// MaxCasePack bounds a product's case pack.
	MaxCasePack = 10_000
)
