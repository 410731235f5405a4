// Package promotion holds the promotions in force at a site and prices
// sales with them (internal/promo evaluates; this package stores, keeps the
// writer's in-memory view, and records what each sale's promotions gave).
//
// Promotions come from two places: the site's operator (POST /promotions,
// scope SITE for this site only) and central (the downlink calls Apply and
// Delete inside its transaction). A promotion id belongs to its origin: the
// site cannot overwrite one central authored.
//
// Promotions with a fleet-wide quota apply only while Leases grants a
// redemption (central leases the site a share; see UseLeases). With no
// Leases, such a promotion never applies at this site.
package promotion

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/bucket"
)

// Origin says who authored a promotion.
type Origin string

// The origins.
const (
	// FromCentral: authored at central, delivered by the downlink.
	FromCentral Origin = "CENTRAL"
	// FromSite: authored by the site's operator.
	FromSite Origin = "SITE"
)

// Stored is a promotion as the site holds it.
type Stored struct {
	promo.Promotion
	Origin    Origin
	UpdatedBy string
}

// Leases is the site's share of fleet-wide promotion quotas (implemented
// where central's leases arrive). Available (promo.QuotaCheck) is called in
// the writer's goroutine for sales and in HTTP handlers for quotes, so it
// must be safe for concurrent use. Redeem takes one redemption of
// promotionID inside the sale's transaction.
type Leases interface {
	promo.QuotaCheck
	Redeem(t *ingest.Tx, promotionID string) error
}

// Rules stores promotions and prices sales with them.
type Rules struct {
	w    *ingest.Writer
	site store.Site

	// The writer goroutine's view: every promotion by id, and those that
	// concern this site in evaluation order.
	all    map[string]Stored
	active []promo.Promotion
	leases Leases

	upsert, del, count, bump *ingest.Stmt
	// redeemed is sale_promotions, appended at commit (ingest.Tx.Append).
	redeemed *ingest.Rows
}

// New returns the promotion rules on w (before w.Open) and registers their
// view.
func New(w *ingest.Writer) *Rules {
	r := &Rules{
		w: w, site: w.Site(),
		upsert: w.Prepare(`INSERT INTO promotions (promotion_id, origin, body, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (promotion_id) DO UPDATE SET origin = excluded.origin, body = excluded.body, version = excluded.version,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
		del:   w.Prepare(`DELETE FROM promotions WHERE promotion_id = ?`),
		count: w.Prepare(`SELECT purchases FROM customer_purchases WHERE customer_id = ?`),
		bump: w.Prepare(`INSERT INTO customer_purchases (customer_id, purchases, last_at) VALUES (?, 1, ?)
			ON CONFLICT (customer_id) DO UPDATE SET purchases = purchases + 1, last_at = max(last_at, excluded.last_at)`),
		redeemed: w.PrepareRows("sale_promotions", "machine_id", "transaction_id", "promotion_id", "product_id", "discount_cents",
			"basket_id", "event_time", "local_hour"),
	}
	w.Register(r)
	return r
}

// UseLeases sets where quota redemptions come from (before w.Open).
func (r *Rules) UseLeases(l Leases) { r.leases = l }

// Load reads every promotion (ingest.View).
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	all, err := load(ctx, db)
	if err != nil {
		return err
	}
	r.all = map[string]Stored{}
	for _, s := range all {
		r.all[s.ID] = s
	}
	r.reorder()
	return nil
}

const selectAll = `SELECT body, origin, updated_by FROM promotions ORDER BY promotion_id`

func load(ctx context.Context, db ingest.Querier) ([]Stored, error) {
	rows, err := db.QueryContext(ctx, selectAll)
	if err != nil {
		return nil, fmt.Errorf("load promotions: %w", err)
	}
	defer rows.Close()
	out := []Stored{}
	for rows.Next() {
		var body, origin, by string
		if err := rows.Scan(&body, &origin, &by); err != nil {
			return nil, fmt.Errorf("load promotions: %w", err)
		}
		var p promo.Promotion
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return nil, fmt.Errorf("load promotions: decode %q: %w", body, err)
		}
		out = append(out, Stored{Promotion: p, Origin: Origin(origin), UpdatedBy: by})
	}
	return out, rows.Err()
}

// reorder rebuilds the evaluation list from r.all.
func (r *Rules) reorder() {
	r.active = r.active[:0]
	for _, s := range r.all {
		if s.Active && s.Concerns(r.site.ID, r.site.City) {
			r.active = append(r.active, s.Promotion)
		}
	}
	slices.SortFunc(r.active, promo.Order)
}

// List returns every promotion the site holds, active or not, by id. It
// reads the store, not the writer's view, so any goroutine may call it.
func (r *Rules) List(ctx context.Context) ([]Stored, error) {
	return load(ctx, r.w.Store().DB.R)
}

// Author saves a promotion the site's operator wrote (POST /promotions):
// scope SITE for this site (siteId may be left empty), version one more
// than the stored one, updatedAt now. It returns the saved promotion, or an
// *errs.Error: Invalid naming the field, Forbidden for another scope or
// site, Conflict PROMOTION_OWNED_BY_CENTRAL for an id central authored.
func (r *Rules) Author(ctx context.Context, p promo.Promotion, by string) (promo.Promotion, error) {
	if p.Scope == "" {
		p.Scope = promo.ScopeSite
	}
	if p.Scope == promo.ScopeSite && p.SiteID == "" {
		p.SiteID = r.site.ID
	}
	if p.Scope != promo.ScopeSite || p.SiteID != r.site.ID {
		return promo.Promotion{}, errs.Forbiddenf("scope", "a site authors promotions for itself only (scope SITE, siteId %q); fleet and city promotions are authored at central", r.site.ID)
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (promo.Promotion, error) {
		cur, ok := r.all[p.ID]
		if ok && cur.Origin != FromSite {
			return promo.Promotion{}, errs.Errorf(errs.Conflict, "PROMOTION_OWNED_BY_CENTRAL", "id", "promotion %q was authored at central; change it there", p.ID)
		}
		p.Version = cur.Version + 1
		p.UpdatedAt = t.Now().UTC().Truncate(time.Millisecond)
		if err := p.Validate(); err != nil {
			return promo.Promotion{}, err
		}
		if err := r.save(t, p, FromSite, by); err != nil {
			return promo.Promotion{}, err
		}
		return p, nil
	})
}

// Apply saves a promotion central authored, inside the caller's transaction
// (the downlink's). A version lower than the stored one is stale and
// ignored (applied false); the same version again changes nothing. It
// returns an *errs.Error Invalid for a promotion that fails Validate, or
// Conflict PROMOTION_OWNED_BY_SITE when the id is one the site authored.
func (r *Rules) Apply(t *ingest.Tx, p promo.Promotion, by string) (applied bool, err error) {
	if err := p.Validate(); err != nil {
		return false, err
	}
	cur, ok := r.all[p.ID]
	if ok && cur.Origin != FromCentral {
		return false, errs.Errorf(errs.Conflict, "PROMOTION_OWNED_BY_SITE", "id", "promotion %q was authored at this site", p.ID)
	}
	if ok && cur.Version >= p.Version {
		return false, nil
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = t.Now().UTC().Truncate(time.Millisecond)
	}
	return true, r.save(t, p, FromCentral, by)
}

// Delete removes a promotion central authored, inside the caller's
// transaction; an unknown id is no error (deleted reports whether one
// was). A site-authored id is an *errs.Error Conflict PROMOTION_OWNED_BY_SITE.
func (r *Rules) Delete(t *ingest.Tx, id, by string) (deleted bool, err error) {
	cur, ok := r.all[id]
	if !ok {
		return false, nil
	}
	if cur.Origin != FromCentral {
		return false, errs.Errorf(errs.Conflict, "PROMOTION_OWNED_BY_SITE", "id", "promotion %q was authored at this site", id)
	}
	if _, err := t.Exec(r.del, id); err != nil {
		return false, fmt.Errorf("delete promotion: %w", err)
	}
	if err := t.Audit("promotion", id, "DELETED", by, map[string]any{"version": cur.Version}); err != nil {
		return false, err
	}
	delete(r.all, id)
	r.reorder()
	return true, nil
}

func (r *Rules) save(t *ingest.Tx, p promo.Promotion, origin Origin, by string) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode promotion: %w", err)
	}
	if _, err := t.Exec(r.upsert, p.ID, string(origin), string(body), p.Version, p.UpdatedAt.UnixMilli(), by); err != nil {
		return fmt.Errorf("save promotion: %w", err)
	}
	if err := t.Audit("promotion", p.ID, "SAVED", by, p); err != nil {
		return err
	}
	r.all[p.ID] = Stored{Promotion: p, Origin: origin, UpdatedBy: by}
	r.reorder()
	return nil
}

// Basket is what a sale or a quote prices.
type Basket struct {
	Lines      []promo.Line
	Code       string
	CustomerID string
	At         time.Time
}

// Price prices b with the promotions in force, inside a writer
// transaction (a sale).
func (r *Rules) Price(t *ingest.Tx, b Basket) (promo.Result, error) {
	var n int64
	if b.CustomerID != "" {
		err := t.QueryRow(r.count, b.CustomerID).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return promo.Result{}, fmt.Errorf("read purchases: %w", err)
		}
	}
	return promo.Evaluate(r.input(b, n), r.active), nil
}

// Quote prices b from the store (POST /promotions/evaluate): it records
// nothing and may be called from any goroutine.
func (r *Rules) Quote(ctx context.Context, b Basket) (promo.Result, error) {
	db := r.w.Store().DB.R
	var n int64
	if b.CustomerID != "" {
		err := db.QueryRowContext(ctx, `SELECT purchases FROM customer_purchases WHERE customer_id = ?`, b.CustomerID).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return promo.Result{}, fmt.Errorf("read purchases: %w", err)
		}
	}
	all, err := load(ctx, db)
	if err != nil {
		return promo.Result{}, err
	}
	ps := make([]promo.Promotion, 0, len(all))
	for _, s := range all {
		ps = append(ps, s.Promotion)
	}
	return promo.Evaluate(r.input(b, n), ps), nil
}

func (r *Rules) input(b Basket, purchases int64) promo.Input {
	in := promo.Input{Lines: b.Lines, Code: b.Code, CustomerID: b.CustomerID, PurchaseCount: purchases,
		Now: b.At, Location: r.site.Loc, SiteID: r.site.ID, City: r.site.City}
	if r.leases != nil {
		in.Quota = r.leases
	}
	return in
}

// Sale is a recorded sale whose promotions Redeem books: line i of Result
// was recorded as TransactionIDs[i] of MachineID.
type Sale struct {
	MachineID      string
	BasketID       string
	TransactionIDs []string
	Location       string // the machine's location key, for the aggregates
	CustomerID     string
	At             time.Time
	Result         promo.Result
	// Discounted says whether the sale was charged with the promotions of
	// Result (false: charged list price, nothing to book but the purchase).
	Discounted bool
}

// Redeem books what a recorded sale's promotions gave, in its transaction
// (the sale's rows already carry their list amounts and discounts): one
// row per promotion and line,
// the discount aggregates, one redemption of each quota promotion, and the
// customer's purchase count.
func (r *Rules) Redeem(t *ingest.Tx, s Sale) error {
	if s.CustomerID != "" {
		if _, err := t.Exec(r.bump, s.CustomerID, s.At.UnixMilli()); err != nil {
			return fmt.Errorf("count purchase: %w", err)
		}
	}
	if !s.Discounted || s.Result.Discount == 0 {
		return nil
	}
	hour := bucket.Keys(s.At, r.site.Loc)[0]
	for _, l := range s.Result.Lines {
		if l.Discount > 0 {
			t.CountDiscount("machine", s.MachineID, s.At, int64(l.Discount))
			t.CountDiscount("product", l.ProductID, s.At, int64(l.Discount))
			t.CountDiscount("location", s.Location, s.At, int64(l.Discount))
		}
	}
	for _, a := range s.Result.Applied {
		for k, i := range a.Lines {
			t.Append(r.redeemed, s.MachineID, s.TransactionIDs[i], a.PromotionID, s.Result.Lines[i].ProductID,
				int64(a.LineDiscounts[k]), s.BasketID, s.At.UnixMilli(), hour)
		}
		if r.all[a.PromotionID].Quota > 0 && r.leases != nil {
			if err := r.leases.Redeem(t, a.PromotionID); err != nil {
				return fmt.Errorf("redeem %s: %w", a.PromotionID, err)
			}
		}
	}
	return nil
}
