package hqapi

import (
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/wire"
)

// NearSite is one site of GET /sites/nearest.
type NearSite struct {
	SiteID string `json:"siteId"`
	// DistanceKm is the great-circle distance to the site's nearest machine
	// holding the product.
	DistanceKm float64 `json:"distanceKm"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	// UnitsAvailable is the stock of the site's machines within the radius
	// less the units reserved for pre-orders.
	UnitsAvailable int64 `json:"unitsAvailable"`
	Reserved       int64 `json:"reserved"`
	Machines       int   `json:"machines"`
	// AgeSeconds is how old the site's data is at this node (time since
	// its last contact; null if never heard from). Stale repeats the
	// freshness's verdict so a client need not dig for it.
	AgeSeconds *int64    `json:"ageSeconds"`
	Stale      bool      `json:"stale"`
	Freshness  Freshness `json:"freshness"`
}

// NearestAnswer is the body of GET /sites/nearest.
type NearestAnswer struct {
	Lat       float64    `json:"lat"`
	Lng       float64    `json:"lng"`
	ProductID string     `json:"productId"`
	RadiusKm  float64    `json:"radiusKm"`
	Sites     []NearSite `json:"sites"`
}

// MenuMachine is one machine's stock of a menu item.
type MenuMachine struct {
	MachineID string     `json:"machineId"`
	Units     int64      `json:"units"`
	ListPrice wire.Money `json:"listPrice"`
}

// MenuItem is one product on a site's menu: its list price (the lowest of
// the machines holding it), its price for one unit after the promotions
// that apply now without a code or customer, and the units available.
type MenuItem struct {
	ProductID      string          `json:"productId"`
	Name           string          `json:"name"`
	ListPrice      wire.Money      `json:"listPrice"`
	Price          wire.Money      `json:"price"`
	Discount       wire.Money      `json:"discount"`
	Promotions     []promo.Applied `json:"promotions"`
	UnitsAvailable int64           `json:"unitsAvailable"`
	Reserved       int64           `json:"reserved"`
	Machines       []MenuMachine   `json:"machines"`
}

// Menu is the body of GET /sites/{siteId}/menu.
type Menu struct {
	SiteID    string     `json:"siteId"`
	Items     []MenuItem `json:"items"`
	Freshness Freshness  `json:"freshness"`
}

// PromotionList is the body of GET /promotions at central.
type PromotionList struct {
	Promotions []Promotion `json:"promotions"`
}

// Promotion is a central-authored promotion and, for one with a quota,
// where its redemptions stand.
type Promotion struct {
	promo.Promotion
	CreatedBy string `json:"createdBy,omitempty"`
	// Quota is present for a promotion with a quota.
	QuotaState *QuotaState `json:"quotaState,omitempty"`
}

// QuotaState is a quota's ledger: Total = Unleased + Σ outstanding leases
// + Redeemed, where a site's outstanding lease is granted − used − returned
// as central last heard.
type QuotaState struct {
	Total    int64        `json:"total"`
	Unleased int64        `json:"unleased"`
	Redeemed int64        `json:"redeemed"`
	Leases   []QuotaLease `json:"leases"`
}

// QuotaLease is one site's lease of a quota as central knows it.
type QuotaLease struct {
	SiteID   string `json:"siteId"`
	Granted  int64  `json:"granted"`
	Used     int64  `json:"used"`
	Returned int64  `json:"returned"`
	Epoch    int64  `json:"epoch"`
}
