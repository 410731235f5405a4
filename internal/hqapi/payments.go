package hqapi

import "github.com/vendsync/vendsync/sync/wire"

// PaymentTotal is one method's payments on one site-local day, over the
// sites a payment report covers: what was taken, refunded and the net.
// Payments counts the payments taken (sales), Refunds and Failed the
// payments refunded or failed since.
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

// PaymentReport is the answer to GET /reports/payments: totals per day and
// method, the totals per method over the whole range, and the freshness of
// every site in it (a site not yet synced reads as such, not as no sales).
type PaymentReport struct {
	SiteID   string         `json:"siteId,omitempty"`
	From     string         `json:"from"`
	To       string         `json:"to"`
	Totals   []PaymentTotal `json:"totals"`
	ByMethod []PaymentTotal `json:"byMethod"`
	Sites    []Freshness    `json:"sites"`
}
