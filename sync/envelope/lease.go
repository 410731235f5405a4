package envelope

import "strings"

// Central-authored promotions and quota leases on the downlink, and the
// sites' lease reports on the uplink.
const (
	// DownlinkPromotion is the kind of promotion.<id>: a promo.Promotion
	// (JSON) authored at central whose scope covers the site. A
	// deactivated promotion arrives with active false.
	DownlinkPromotion = "promotion"
	// DownlinkLease is the kind of lease.<promotionId>: a Lease, the
	// site's share of a quota-limited promotion.
	DownlinkLease = "lease"

	// KindLeaseUsage: data LeaseUsage (a site's use of its lease).
	KindLeaseUsage Kind = "lease_usage"
)

// PromotionKeyID escapes a promotion id for a key token: promotion ids may
// hold ':' (not a KV key character), which becomes '='; ids never hold '='.
func PromotionKeyID(id string) string { return strings.ReplaceAll(id, ":", "=") }

// PromotionIDFromKey undoes PromotionKeyID.
func PromotionIDFromKey(token string) string { return strings.ReplaceAll(token, "=", ":") }

// PromotionKey is the downlink key of a central-authored promotion.
func PromotionKey(id string) string { return DownlinkPromotion + "." + PromotionKeyID(id) }

// LeaseKey is the downlink key of a site's lease of a promotion's quota.
func LeaseKey(promotionID string) string { return DownlinkLease + "." + PromotionKeyID(promotionID) }

// Lease is a site's share of a quota-limited promotion. Every figure is
// cumulative, so a site that missed changes (its mirror keeps only the
// latest) applies the latest and loses nothing: Granted only grows (each
// grant adds Count and bumps Epoch), and Recall grows each time central
// asks the site to give back unused units.
type Lease struct {
	PromotionID string `json:"promotionId"`
	SiteID      string `json:"siteId"`
	// LeaseID names this grant: <promotionId>/<siteId>/<epoch>.
	LeaseID string `json:"leaseId"`
	// Count is this grant's units; Granted the total granted to the site.
	Count   int64 `json:"count"`
	Granted int64 `json:"granted"`
	Epoch   int64 `json:"epoch"`
	// Recall, when above the last recall the site answered, asks it to
	// give back half of what it has not used (see LeaseUsage.RecallSeen).
	Recall int64 `json:"recall,omitempty"`
}

// LeaseUsage is the data of a KindLeaseUsage event: where a site's lease of
// a promotion stands, cumulative, so the latest report is the whole truth
// and a redelivered one changes nothing. Available = Granted − Used −
// Returned; returned units are never redeemed at the site again.
type LeaseUsage struct {
	PromotionID string `json:"promotionId"`
	Granted     int64  `json:"granted"`
	Used        int64  `json:"used"`
	Returned    int64  `json:"returned"`
	Epoch       int64  `json:"epoch"`
	RecallSeen  int64  `json:"recallSeen"`
}
