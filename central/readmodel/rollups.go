package readmodel

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/sync/bucket"
)

// Rollups kept on apply for the fleet-wide reports (issue 14).
//
// promo_days holds each promotion's sale lines per naive-local day of one
// site (lvl 2), one city (lvl 1) and the fleet (lvl 0): distinct baskets,
// lines, discount and, on city and fleet rows, the set of sites as a
// bitmap of their promo_site_ords numbers. The promotions report sums the
// whole days of its range from the rows of its filter's level and reads the
// raw sale_promotions lines only for the hours at the range's edges. Baskets
// sum across days exactly because a basket's lines share one time (the
// edge posts them together), so a basket belongs to one day.

// Promotion rollup levels (promo_days.lvl).
const (
	promoFleet = 0
	promoCity  = 1
	promoSite  = 2
)

const (
	selectPromoOrd = `SELECT ord FROM promo_site_ords WHERE site = ?`
	insertPromoOrd = `INSERT INTO promo_site_ords (site, ord) SELECT ?, COALESCE(MAX(ord) + 1, 0) FROM promo_site_ords`
	// selectBasketsSeen* (a multi-row statement, one row of site, machine,
	// basket and promotion per basket) read the local days in which the
	// baskets already have a line of the promotion.
	selectBasketsSeenHead = `SELECT DISTINCT sp.machine_id, sp.basket_id, sp.promotion_id, sp.local_hour - sp.local_hour % 86400 FROM (`
	selectBasketsSeenRow  = `(?, ?, ?, ?)`
	selectBasketsSeenTail = `) v JOIN sale_promotions sp ON sp.site = v.column1 AND sp.machine_id = v.column2 AND sp.basket_id = v.column3
		AND sp.promotion_id = v.column4`
	upsertPromoSiteDay = `INSERT INTO promo_days (lvl, site, city, day, promotion_id, baskets, lines, discount_cents) VALUES (2, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (lvl, site, city, day, promotion_id) DO UPDATE SET baskets = baskets + excluded.baskets,
			lines = lines + excluded.lines, discount_cents = discount_cents + excluded.discount_cents`
	selectPromoSites = `SELECT sites FROM promo_days WHERE lvl = ? AND site = '' AND city = ? AND day = ? AND promotion_id = ?`
	upsertPromoDay   = `INSERT INTO promo_days (lvl, site, city, day, promotion_id, baskets, lines, discount_cents, sites) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (lvl, site, city, day, promotion_id) DO UPDATE SET baskets = baskets + excluded.baskets,
			lines = lines + excluded.lines, discount_cents = discount_cents + excluded.discount_cents, sites = excluded.sites`
)

// promoDaySink is what a Sink implements to keep promo_days on apply.
type promoDaySink interface {
	addPromoDays(ctx context.Context, site string, sales []aggregate.SaleRow, isNew []bool, loc *time.Location) error
}

var _ promoDaySink = (*sqliteSink)(nil)

// addRollups adds the new sales of one batch to the rollups the sink
// keeps. It runs before AddDiscounts records the sales' promotion lines,
// so the lines it looks up are those of earlier batches.
func addRollups(ctx context.Context, sink Sink, site string, sales []aggregate.SaleRow, isNew []bool, loc *time.Location) error {
	if ps, ok := sink.(promoDaySink); ok {
		if err := ps.addPromoDays(ctx, site, sales, isNew, loc); err != nil {
			return fmt.Errorf("add promotion rollups: %w", err)
		}
	}
	return nil
}

type promoDayKey struct {
	city  string
	day   int64
	promo string
}

// promoBasket is a basket's lines of one promotion in one local day.
type promoBasket struct {
	machine, basket, promo string
	day                    int64
}

type promoSums struct{ baskets, lines, discount int64 }

func (p *promoSums) add(o promoSums) {
	p.baskets, p.lines, p.discount = p.baskets+o.baskets, p.lines+o.lines, p.discount+o.discount
}

// addPromoDays adds the promotion lines AddDiscounts will record for the
// batch's new discounted sales: one upsert per site, city, day and
// promotion, and one per city and fleet row with the site's bit set.
func (k *sqliteSink) addPromoDays(ctx context.Context, site string, sales []aggregate.SaleRow, isNew []bool, loc *time.Location) error {
	type lineKey struct{ machine, tx, promo string }
	var (
		sums    map[promoDayKey]*promoSums
		lines   = map[lineKey]bool{}
		baskets = map[promoBasket]*promoSums{} // the row each basket counts in
		args    []any
	)
	for i, sl := range sales {
		if !isNew[i] || sl.DiscountCents <= 0 {
			continue
		}
		basket := cmp.Or(sl.BasketID, sl.TransactionID)
		day := bucket.Keys(sl.Time, loc)[1]
		for _, p := range sl.Promotions {
			// A promotion named twice on one sale is one line (the
			// insert's ON CONFLICT DO NOTHING keeps the first).
			lk := lineKey{sl.MachineID, sl.TransactionID, p.PromotionID}
			if lines[lk] {
				continue
			}
			lines[lk] = true
			if sums == nil {
				sums = map[promoDayKey]*promoSums{}
			}
			key := promoDayKey{sl.City, day, p.PromotionID}
			v := sums[key]
			if v == nil {
				v = &promoSums{}
				sums[key] = v
			}
			v.lines++
			v.discount += p.DiscountCents
			bk := promoBasket{sl.MachineID, basket, p.PromotionID, day}
			if baskets[bk] == nil {
				baskets[bk] = v
				v.baskets++
				args = append(args, site, sl.MachineID, basket, p.PromotionID)
			}
		}
	}
	if len(sums) == 0 {
		return nil
	}
	// A basket whose lines came in an earlier batch is counted already.
	err := k.s.execChunks(ctx, selectBasketsSeenHead, selectBasketsSeenRow, selectBasketsSeenTail, args, func(rows *sql.Rows) error {
		var bk promoBasket
		if err := rows.Scan(&bk.machine, &bk.basket, &bk.promo, &bk.day); err != nil {
			return err
		}
		if v := baskets[bk]; v != nil {
			v.baskets--
			delete(baskets, bk)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("look up baskets: %w", err)
	}
	ord, err := k.siteOrd(ctx, site)
	if err != nil {
		return err
	}
	fleet := map[promoDayKey]*promoSums{}
	for key, v := range sums {
		if err := k.s.exec(ctx, upsertPromoSiteDay, site, key.city, key.day, key.promo, v.baskets, v.lines, v.discount); err != nil {
			return fmt.Errorf("count promotion lines: %w", err)
		}
		if err := k.addPromoDay(ctx, promoCity, key, *v, ord); err != nil {
			return err
		}
		fk := promoDayKey{"", key.day, key.promo}
		f := fleet[fk]
		if f == nil {
			f = &promoSums{}
			fleet[fk] = f
		}
		f.add(*v)
	}
	for key, v := range fleet {
		if err := k.addPromoDay(ctx, promoFleet, key, *v, ord); err != nil {
			return err
		}
	}
	return nil
}

// addPromoDay adds v to the city or fleet row of key and sets the bit ord
// in its sites.
func (k *sqliteSink) addPromoDay(ctx context.Context, lvl int, key promoDayKey, v promoSums, ord int64) error {
	var sites []byte
	err := k.s.queryRow(ctx, selectPromoSites, lvl, key.city, key.day, key.promo).Scan(&sites)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read promotion sites: %w", err)
	}
	if err := k.s.exec(ctx, upsertPromoDay, lvl, key.city, key.day, key.promo, v.baskets, v.lines, v.discount, setBit(sites, ord)); err != nil {
		return fmt.Errorf("count promotion lines: %w", err)
	}
	return nil
}

// siteOrd returns site's number in promo_site_ords, giving it the next one
// when it has none.
func (k *sqliteSink) siteOrd(ctx context.Context, site string) (int64, error) {
	var ord int64
	err := k.s.queryRow(ctx, selectPromoOrd, site).Scan(&ord)
	if errors.Is(err, sql.ErrNoRows) {
		if err := k.s.exec(ctx, insertPromoOrd, site); err != nil {
			return 0, fmt.Errorf("number site: %w", err)
		}
		err = k.s.queryRow(ctx, selectPromoOrd, site).Scan(&ord)
	}
	if err != nil {
		return 0, fmt.Errorf("number site: %w", err)
	}
	return ord, nil
}

// setBit returns b (copied, grown as needed) with bit n set.
func setBit(b []byte, n int64) []byte {
	out := make([]byte, max(len(b), int(n/8)+1))
	copy(out, b)
	out[n/8] |= 1 << (n % 8)
	return out
}

// orBits sets in dst every bit of src, growing dst as needed.
func orBits(dst, src []byte) []byte {
	if len(src) > len(dst) {
		dst = append(dst, make([]byte, len(src)-len(dst))...)
	}
	for i, c := range src {
		dst[i] |= c
	}
	return dst
}

func countBits(b []byte) int64 {
	var n int
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return int64(n)
}

const (
	selectPromoFillPending = `SELECT count(*) FROM promo_days_pending`
	// fillPromoOrds numbers the sites of sale_promotions that have no number.
	fillPromoOrds = `INSERT INTO promo_site_ords (site, ord)
		SELECT site, (SELECT COALESCE(MAX(ord), -1) FROM promo_site_ords) + ROW_NUMBER() OVER (ORDER BY site)
		FROM (SELECT DISTINCT site FROM sale_promotions) WHERE site NOT IN (SELECT site FROM promo_site_ords)`
	fillPromoSiteDays = `INSERT INTO promo_days (lvl, site, city, day, promotion_id, baskets, lines, discount_cents)
		SELECT 2, site, city, local_hour - local_hour % 86400, promotion_id,
			COUNT(DISTINCT machine_id || ' ' || basket_id), COUNT(*), SUM(discount_cents)
		FROM sale_promotions GROUP BY site, city, local_hour - local_hour % 86400, promotion_id`
	selectPromoSiteDays = `SELECT d.city, d.day, d.promotion_id, d.baskets, d.lines, d.discount_cents, o.ord
		FROM promo_days d JOIN promo_site_ords o ON o.site = d.site WHERE d.lvl = 2`
	insertPromoDay = `INSERT INTO promo_days (lvl, site, city, day, promotion_id, baskets, lines, discount_cents, sites) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?)`
)

// fillPromoDaysIfPending fills promo_days when migration 0022 asked for it
// (it leaves a row in promo_days_pending, which the fill deletes).
func (s *Store) fillPromoDaysIfPending(ctx context.Context) error {
	var n int
	if err := s.db.QueryRow(ctx, selectPromoFillPending).Scan(&n); err != nil {
		return fmt.Errorf("read promo_days_pending: %w", err)
	}
	if n == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.fillPromoDays(ctx); err != nil {
		s.rollback()
		return err
	}
	if err := s.commit(ctx); err != nil {
		return err
	}
	s.log.Info().Msg("promotion rollups filled")
	return nil
}

// fillPromoDays recomputes promo_days from sale_promotions: the site rows
// in SQL, the city and fleet rows (with their site bitmaps) in Go from the
// site rows. The caller holds s.mu and a transaction.
func (s *Store) fillPromoDays(ctx context.Context) error {
	for _, q := range []string{`DELETE FROM promo_days`, fillPromoOrds, fillPromoSiteDays, `DELETE FROM promo_days_pending`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("fill promotion rollups: %w", err)
		}
	}
	type row struct {
		sums  promoSums
		sites []byte
	}
	up := [2]map[promoDayKey]*row{{}, {}}
	rows, err := s.w.QueryContext(ctx, selectPromoSiteDays)
	if err != nil {
		return fmt.Errorf("fill promotion rollups: %w", err)
	}
	for rows.Next() {
		var key promoDayKey
		var v promoSums
		var ord int64
		if err := rows.Scan(&key.city, &key.day, &key.promo, &v.baskets, &v.lines, &v.discount, &ord); err != nil {
			rows.Close()
			return fmt.Errorf("fill promotion rollups: %w", err)
		}
		for lvl, k := range []promoDayKey{{"", key.day, key.promo}, key} {
			r := up[lvl][k]
			if r == nil {
				r = &row{}
				up[lvl][k] = r
			}
			r.sums.add(v)
			r.sites = orBits(r.sites, setBit(nil, ord))
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return fmt.Errorf("fill promotion rollups: %w", err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("fill promotion rollups: %w", err)
	}
	st, err := s.w.PrepareContext(ctx, insertPromoDay)
	if err != nil {
		return fmt.Errorf("fill promotion rollups: %w", err)
	}
	defer st.Close()
	for lvl, m := range up {
		for k, r := range m {
			if _, err := st.ExecContext(ctx, lvl, k.city, k.day, k.promo, r.sums.baskets, r.sums.lines, r.sums.discount, r.sites); err != nil {
				return fmt.Errorf("fill promotion rollups: %w", err)
			}
		}
	}
	return nil
}

const (
	// selectPromoDays reads the rows of level ?1, site ?2 and city ?3 in
	// the local days [?4, ?5), with the site's number on site rows.
	selectPromoDays = `SELECT d.promotion_id, d.baskets, d.lines, d.discount_cents, d.sites, o.ord
		FROM promo_days d LEFT JOIN promo_site_ords o ON d.lvl = 2 AND o.site = d.site
		WHERE d.lvl = ?1 AND d.site = ?2 AND d.city = ?3 AND d.day >= ?4 AND d.day < ?5`
	// selectPromoDaysOfSite reads the site rows of site ?1 in every city.
	selectPromoDaysOfSite = `SELECT d.promotion_id, d.baskets, d.lines, d.discount_cents, d.sites, o.ord
		FROM promo_days d LEFT JOIN promo_site_ords o ON o.site = d.site
		WHERE d.lvl = 2 AND d.site = ?1 AND d.day >= ?2 AND d.day < ?3`
	// selectPromoEdge reads the raw lines of the local hours [?1, ?2) of one
	// site ?3 or city ?4 ("": all).
	selectPromoEdge = `SELECT sp.promotion_id, sp.site, sp.machine_id, sp.basket_id, sp.discount_cents, o.ord
		FROM sale_promotions sp LEFT JOIN promo_site_ords o ON o.site = sp.site
		WHERE sp.local_hour >= ?1 AND sp.local_hour < ?2 AND (?3 = '' OR sp.site = ?3) AND (?4 = '' OR sp.city = ?4)`
)

// promoAcc is one promotion's totals as promotionLines reads them.
type promoAcc struct {
	sums    promoSums
	sites   []byte
	unnamed map[string]bool // sites without a number (none once filled)
	baskets map[string]bool // the edge hours' baskets
}

// promotionLines sums each promotion's sale lines over the local hours of
// [from, to) of one site or city ("": all): the whole days from promo_days,
// the hours before the first and after the last midnight from the raw
// lines. It answers what selectPromotionLines does, in its order.
func (s *Store) promotionLines(ctx context.Context, from, to time.Time, site, city string) ([]PromotionTotal, error) {
	from, to = bucket.Start(bucket.Hour, from), bucket.Start(bucket.Hour, to)
	acc := map[string]*promoAcc{}
	get := func(id string) *promoAcc {
		a := acc[id]
		if a == nil {
			a = &promoAcc{unnamed: map[string]bool{}, baskets: map[string]bool{}}
			acc[id] = a
		}
		return a
	}
	dayA := bucket.Start(bucket.Day, from)
	if dayA.Before(from) {
		dayA = dayA.AddDate(0, 0, 1)
	}
	dayB := bucket.Start(bucket.Day, to)
	edges := [][2]time.Time{{from, to}}
	if dayA.Before(dayB) {
		edges = [][2]time.Time{{from, dayA}, {dayB, to}}
		var rows *sqlite.Rows
		var err error
		switch {
		case site != "" && city == "":
			rows, err = s.db.Query(ctx, selectPromoDaysOfSite, site, dayA.Unix(), dayB.Unix())
		case site != "":
			rows, err = s.db.Query(ctx, selectPromoDays, promoSite, site, city, dayA.Unix(), dayB.Unix())
		case city != "":
			rows, err = s.db.Query(ctx, selectPromoDays, promoCity, "", city, dayA.Unix(), dayB.Unix())
		default:
			rows, err = s.db.Query(ctx, selectPromoDays, promoFleet, "", "", dayA.Unix(), dayB.Unix())
		}
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var v promoSums
			var sites []byte
			var ord sql.NullInt64
			if err := rows.Scan(&id, &v.baskets, &v.lines, &v.discount, &sites, &ord); err != nil {
				rows.Close()
				return nil, err
			}
			a := get(id)
			a.sums.add(v)
			a.sites = orBits(a.sites, sites)
			switch {
			case ord.Valid:
				a.sites = orBits(a.sites, setBit(nil, ord.Int64))
			case sites == nil:
				a.unnamed[site] = true
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	for _, e := range edges {
		if !e[0].Before(e[1]) {
			continue
		}
		rows, err := s.db.Query(ctx, selectPromoEdge, e[0].Unix(), e[1].Unix(), site, city)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, st, machine, basket string
			var disc int64
			var ord sql.NullInt64
			if err := rows.Scan(&id, &st, &machine, &basket, &disc, &ord); err != nil {
				rows.Close()
				return nil, err
			}
			a := get(id)
			a.sums.lines++
			a.sums.discount += disc
			a.baskets[st+" "+machine+" "+basket] = true
			if ord.Valid {
				a.sites = orBits(a.sites, setBit(nil, ord.Int64))
			} else {
				a.unnamed[st] = true
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	out := make([]PromotionTotal, 0, len(acc))
	for id, a := range acc {
		out = append(out, PromotionTotal{PromotionID: id, Redemptions: a.sums.baskets + int64(len(a.baskets)), Lines: a.sums.lines,
			Sites: countBits(a.sites) + int64(len(a.unnamed)), DiscountCents: a.sums.discount})
	}
	slices.SortFunc(out, func(a, b PromotionTotal) int {
		return cmp.Or(cmp.Compare(b.DiscountCents, a.DiscountCents), cmp.Compare(a.PromotionID, b.PromotionID))
	})
	return out, nil
}
