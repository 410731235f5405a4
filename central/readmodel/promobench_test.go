package readmodel

import (
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// BenchmarkApply_Sales500Promoted is BenchmarkApply_Sales500 with a
// promotion on every other sale, in baskets of two lines: the apply cost of
// the promotion lines and their rollups (promo_days).
func BenchmarkApply_Sales500Promoted(b *testing.B) {
	const per, sites = 500, 100
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	zones := []string{"Europe/Berlin", "Asia/Kolkata", "America/New_York", "UTC", "Asia/Tokyo"}
	batches := make([]*envelope.Frame, b.N)
	next := make([]uint64, sites)
	for i := range batches {
		si := i % sites
		site := fmt.Sprintf("site-%03d", si)
		evs := make([]ev, per)
		for j := range evs {
			k := int(next[si]) + j
			at := start.Add(time.Duration(k/2) * 12 * time.Second)
			e := saleEv(fmt.Sprintf("%s-%d", site, k), fmt.Sprintf("%s-m%d", site, k/2%10), fmt.Sprintf("p%d", (k*7)%30),
				fmt.Sprintf("city-%d", si%10), 1, 150, at)
			if k/2%2 == 0 {
				d := e.data.(envelope.Sale)
				d.ListCents, d.DiscountCents, d.BasketID = 170, 20, fmt.Sprintf("%s-b%d", site, k/2)
				d.Promotions = []envelope.SalePromotion{{PromotionID: fmt.Sprintf("promo-%d", k%3), DiscountCents: 20}}
				e.data = d
			}
			evs[j] = e
		}
		f, err := mkBatch(b, site, zones[si%len(zones)], next[si]+1, evs...).Frame()
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = f
		next[si] += uint64(per)
	}
	s := openStore(b)
	applyEach(b, s, batches, b.N*per)
}
