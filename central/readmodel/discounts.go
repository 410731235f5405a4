package readmodel

import (
	"context"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/bucket"
)

// DiscountSink is what a Sink implements to keep what promotions gave:
// ApplyBatch calls AddDiscounts, when the sink has it, with the sales
// InsertSales just reported (isNew[i]: sales[i] was new). A new sale with a
// discount gets its list amount and discount, one row per promotion, and
// its discount in the rows of the aggregates it counts in.
type DiscountSink interface {
	AddDiscounts(ctx context.Context, site string, sales []aggregate.SaleRow, isNew []bool, loc *time.Location) error
}

var _ DiscountSink = (*sqliteSink)(nil)

const (
	updateSaleDiscount = `UPDATE sales SET list_cents = ?, discount_cents = ?, basket_id = ? WHERE site = ? AND machine_id = ? AND transaction_id = ?`
	insertSalePromo    = `INSERT INTO sale_promotions (site, machine_id, transaction_id, promotion_id, city, basket_id, discount_cents, event_time, local_hour)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	upsertDiscountAgg = `INSERT INTO sales_discount_agg (dim, win, site, city, bucket, key, discount_cents) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dim, win, site, city, bucket, key) DO UPDATE SET discount_cents = discount_cents + excluded.discount_cents`
)

func (k *sqliteSink) AddDiscounts(ctx context.Context, site string, sales []aggregate.SaleRow, isNew []bool, loc *time.Location) error {
	rows := map[aggregate.Row]int64{}
	for i, sl := range sales {
		if !isNew[i] || sl.DiscountCents <= 0 {
			continue
		}
		basket := sl.BasketID
		if basket == "" {
			basket = sl.TransactionID
		}
		if err := k.s.exec(ctx, updateSaleDiscount, sl.ListCents, sl.DiscountCents, basket, site, sl.MachineID, sl.TransactionID); err != nil {
			return fmt.Errorf("record discount: %w", err)
		}
		hour := bucket.Keys(sl.Time, loc)[0]
		for _, p := range sl.Promotions {
			if err := k.s.exec(ctx, insertSalePromo, site, sl.MachineID, sl.TransactionID, p.PromotionID, sl.City, basket,
				p.DiscountCents, ms(sl.Time), hour); err != nil {
				return fmt.Errorf("record promotion: %w", err)
			}
		}
		for _, r := range aggregate.SaleRows(aggregate.SaleOf(site, sl), loc) {
			rows[r] += sl.DiscountCents
		}
	}
	for r, d := range rows {
		if err := k.s.exec(ctx, upsertDiscountAgg, r.Dim, r.Win, r.Site, r.City, r.Bucket, r.Key, d); err != nil {
			return fmt.Errorf("count discount: %w", err)
		}
	}
	// The same discounts go into sales_agg's own rows with their totals
	// (AddTotals, next in applySales): the sales query reads one stream.
	k.disc = rows
	return nil
}

// PromotionQuery selects the promotions report: the naive-local range
// [From, To) (hour precision), optionally one City or Site.
type PromotionQuery struct {
	From, To time.Time
	City     string
	Site     string
}

// PromotionTotal is one promotion's redemptions over a range.
type PromotionTotal struct {
	PromotionID string
	// Redemptions counts the sales (baskets) it discounted, Lines the sale
	// lines; Sites how many sites redeemed it.
	Redemptions   int64
	Lines         int64
	Sites         int64
	DiscountCents int64
}

// PromotionReport is net (charged) and discount totals over a range and
// each promotion's share, with the freshness of the sites covered.
type PromotionReport struct {
	NetCents      int64
	DiscountCents int64
	Promotions    []PromotionTotal
	Freshness     []Freshness
}

// promotionTotalsSQL sums the net and discount of the sales q covers in one
// window's buckets [?4, ?5) (window ?3). It reads the city rows of the
// fewest scopes that hold them (see scopeCTE): a site's own rows, a city's
// row, or every city's row for the fleet, rather than every site's.
func promotionTotalsSQL(q PromotionQuery) string {
	const rows = ` a WHERE a.dim = '` + aggregate.DimCity + `' AND a.win = ?3 AND a.site = sc.site AND a.city = sc.city
				AND a.bucket >= ?4 AND a.bucket < ?5`
	return `WITH ` + scopeCTE(ByCity, q.City, q.Site) + ` SELECT
			COALESCE((SELECT SUM(a.revenue_cents) FROM sc CROSS JOIN sales_agg` + rows + `), 0),
			COALESCE((SELECT SUM(a.discount_cents) FROM sc CROSS JOIN sales_discount_agg` + rows + `), 0)`
}

// Promotions answers the promotions report. It returns an error wrapping
// ErrInvalidQuery when the range is empty.
func (s *Store) Promotions(ctx context.Context, q PromotionQuery) (PromotionReport, error) {
	if !q.From.Before(q.To) {
		return PromotionReport{}, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	var rep PromotionReport
	for _, sp := range bucket.Cover(q.From, q.To) {
		var net, disc int64
		err := s.db.QueryRow(ctx, promotionTotalsSQL(q), q.Site, q.City, string(sp.Window), sp.From, sp.To).Scan(&net, &disc)
		if err != nil {
			return PromotionReport{}, fmt.Errorf("promotions report: %w", err)
		}
		rep.NetCents += net
		rep.DiscountCents += disc
	}
	var err error
	if rep.Promotions, err = s.promotionLines(ctx, q.From, q.To, q.Site, q.City); err != nil {
		return PromotionReport{}, fmt.Errorf("promotions report: %w", err)
	}
	if rep.Freshness, err = s.freshness(ctx, q.City, q.Site); err != nil {
		return PromotionReport{}, err
	}
	return rep, nil
}
