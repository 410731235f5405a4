package aggregate

import (
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// SaleRows returns the aggregate rows a sale counts in (the rows AddSale
// adds it to), for totals kept beside them such as discounts.
func SaleRows(s Sale, loc *time.Location) []Row {
	keys := bucket.Keys(s.At, loc)
	out := make([]Row, 0, 7*len(bucket.All))
	for i, w := range bucket.All {
		win, b := string(w), keys[i]
		out = append(out,
			Row{DimMachine, win, s.Site, s.City, b, s.Machine},
			Row{DimSite, win, s.Site, s.City, b, s.Site},
			Row{DimCity, win, s.Site, s.City, b, s.City},
			Row{DimCity, win, ScopeCity, s.City, b, s.City},
			Row{DimProduct, win, s.Site, s.City, b, s.Product},
			Row{DimProduct, win, ScopeCity, s.City, b, s.Product},
			Row{DimProduct, win, ScopeFleet, "", b, s.Product})
	}
	return out
}

// SaleOf is the sale of a site's sale event, as aggregates count it.
func SaleOf(site string, r SaleRow) Sale { return saleOf(site, &r.Sale, r.Time) }
