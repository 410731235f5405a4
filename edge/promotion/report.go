package promotion

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

// ReportRow is one promotion's redemptions over a range.
type ReportRow struct {
	PromotionID string
	Name        string // "" when the promotion no longer exists
	// Redemptions counts sales (baskets) it discounted, Lines the sale
	// lines.
	Redemptions int64
	Lines       int64
	Discount    wire.Money
}

// Report is the promotions report over a range: net revenue (what was
// charged), the discount given, and each promotion's share.
type Report struct {
	Net        wire.Money
	Discount   wire.Money
	Promotions []ReportRow
}

// Report reads the promotions report over the naive-local range [from, to)
// (hour precision), largest discount first.
func (r *Rules) Report(ctx context.Context, from, to time.Time) (Report, error) {
	db := r.w.Store().DB.R
	var rep Report
	for _, sp := range bucket.Cover(from, to) {
		var net, disc int64
		err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(revenue_cents), 0), COALESCE(SUM(discount_cents), 0) FROM sales_agg
			WHERE dim = 'machine' AND win = ?1 AND bucket >= ?2 AND bucket < ?3`,
			string(sp.Window), sp.From, sp.To).Scan(&net, &disc)
		if err != nil {
			return Report{}, fmt.Errorf("promotions report: %w", err)
		}
		rep.Net += wire.Money(net)
		rep.Discount += wire.Money(disc)
	}
	rows, err := db.QueryContext(ctx, `SELECT sp.promotion_id, COALESCE(json_extract(p.body, '$.name'), ''), COUNT(DISTINCT sp.machine_id || ' ' || sp.basket_id),
			COUNT(*), SUM(sp.discount_cents)
		FROM sale_promotions sp LEFT JOIN promotions p ON p.promotion_id = sp.promotion_id
		WHERE sp.local_hour >= ? AND sp.local_hour < ? GROUP BY sp.promotion_id`,
		bucket.Start(bucket.Hour, from).Unix(), bucket.Start(bucket.Hour, to).Unix())
	if err != nil {
		return Report{}, fmt.Errorf("promotions report: %w", err)
	}
	defer rows.Close()
	rep.Promotions = []ReportRow{}
	for rows.Next() {
		var x ReportRow
		if err := rows.Scan(&x.PromotionID, &x.Name, &x.Redemptions, &x.Lines, &x.Discount); err != nil {
			return Report{}, fmt.Errorf("promotions report: %w", err)
		}
		rep.Promotions = append(rep.Promotions, x)
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("promotions report: %w", err)
	}
	sort.SliceStable(rep.Promotions, func(i, j int) bool {
		a, b := rep.Promotions[i], rep.Promotions[j]
		return a.Discount > b.Discount || a.Discount == b.Discount && a.PromotionID < b.PromotionID
	})
	return rep, nil
}

// DiscountKey is one aggregate row: a bucket label and a dimension key.
type DiscountKey struct{ Bucket, Key string }

// Discounts reads the discount aggregates of dim in window w over the
// naive-local range [from, to), as GET /aggregations/sales reads sales_agg.
func (r *Rules) Discounts(ctx context.Context, dim string, w bucket.Window, from, to time.Time) (map[DiscountKey]wire.Money, error) {
	rows, err := r.w.Store().DB.Query(ctx, `SELECT key, bucket, discount_cents FROM sales_agg
		WHERE dim = ? AND win = ? AND bucket >= ? AND bucket < ? AND discount_cents != 0`, dim, string(w), bucket.Start(w, from).Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("read discounts: %w", err)
	}
	defer rows.Close()
	out := map[DiscountKey]wire.Money{}
	for rows.Next() {
		var k string
		var b int64
		var d wire.Money
		if err := rows.Scan(&k, &b, &d); err != nil {
			return nil, fmt.Errorf("read discounts: %w", err)
		}
		out[DiscountKey{bucket.Label(b), k}] = d
	}
	return out, rows.Err()
}
