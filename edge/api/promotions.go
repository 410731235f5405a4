package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/promotion"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

var (
	// quoters may price a basket: the machine (its own), the counter staff
	// and whoever sees sales.
	quoters = []auth.Role{auth.RoleMachine, auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver}
)

// promotionRoutes are the promotion endpoints: the site's operator (OPS,
// ADMIN) authors its promotions, whoever sees sales reads them.
var promotionRoutes = []Route{
	{Method: "GET", Pattern: "/promotions", Roles: money},
	{Method: "POST", Pattern: "/promotions", Roles: manage},
	{Method: "POST", Pattern: "/promotions/evaluate", Roles: quoters},
	{Method: "GET", Pattern: "/reports/promotions", Roles: money},
}

// The promotion routes join Routes here rather than in its literal, so
// that the features added beside them each touch their own file.
func init() { Routes = append(Routes, promotionRoutes...) }

func (s *server) promotionHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /promotions":           s.listPromotions,
		"POST /promotions":          s.postPromotion,
		"POST /promotions/evaluate": s.evaluate,
		"GET /reports/promotions":   s.promotionReport,
	}
}

// MaxLines bounds a basket to price.
const MaxLines = sale.MaxLines

func (s *server) promotions() (*promotion.Rules, error) {
	if s.cfg.Promotions == nil {
		return nil, web.Errorf(http.StatusServiceUnavailable, "UNAVAILABLE", "", "promotions are not enabled on this edge")
	}
	return s.cfg.Promotions, nil
}

func (s *server) listPromotions(w http.ResponseWriter, r *http.Request) error {
	p, err := s.promotions()
	if err != nil {
		return err
	}
	all, err := p.List(r.Context())
	if err != nil {
		return err
	}
	out := edgeapi.PromotionList{Site: s.cfg.Store.Site.ID, Promotions: make([]edgeapi.Promotion, len(all))}
	for i, x := range all {
		out.Promotions[i] = edgeapi.Promotion{Promotion: x.Promotion, Origin: string(x.Origin), UpdatedBy: x.UpdatedBy}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// postPromotion creates or replaces a site promotion (201 with it as saved).
func (s *server) postPromotion(w http.ResponseWriter, r *http.Request) error {
	p, err := s.promotions()
	if err != nil {
		return err
	}
	var in promo.Promotion
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	saved, err := p.Author(r.Context(), in, who(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/promotions/"+saved.ID)
	web.WriteJSON(w, http.StatusCreated, edgeapi.Promotion{Promotion: saved, Origin: string(promotion.FromSite), UpdatedBy: who(r)})
	return nil
}

// evaluate prices a basket with the site's promotions, recording nothing.
func (s *server) evaluate(w http.ResponseWriter, r *http.Request) error {
	p, err := s.promotions()
	if err != nil {
		return err
	}
	var in edgeapi.EvaluateRequest
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if err := check.ID("machineId", in.MachineID); err != nil {
		return err
	}
	if err := ownMachine(r, in.MachineID); err != nil {
		return err
	}
	if len(in.Lines) == 0 {
		return web.Invalid("lines", "lines must hold at least one line")
	}
	if len(in.Lines) > MaxLines {
		return web.Invalid("lines", "lines holds %d lines; at most %d", len(in.Lines), MaxLines)
	}
	if in.CustomerID != "" {
		if err := check.ID("customerId", in.CustomerID); err != nil {
			return err
		}
	}
	if len(in.Code) > promo.MaxCodeLen {
		return web.Invalid("code", "code: at most %d characters", promo.MaxCodeLen)
	}
	at := s.cfg.Now()
	if in.At != "" {
		if at, err = time.Parse(time.RFC3339, in.At); err != nil {
			return web.Invalid("at", "at %q is not an RFC 3339 time such as 2025-01-10T10:15:30Z", in.At)
		}
	}
	items, err := s.cfg.Store.Inventory(r.Context(), in.MachineID)
	if err != nil {
		return storeErr(err)
	}
	prices := make(map[string]wire.Money, len(items))
	for _, it := range items {
		prices[it.ProductID] = it.Price
	}
	lines := make([]promo.Line, len(in.Lines))
	seen := map[string]bool{}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		if err := check.ID(f+".productId", l.ProductID); err != nil {
			return err
		}
		if seen[l.ProductID] {
			return web.Invalid(f+".productId", "product %q is listed twice; give one line per product", l.ProductID)
		}
		seen[l.ProductID] = true
		if l.Quantity == nil {
			return web.Invalid(f+".quantity", "%s.quantity is required", f)
		}
		if *l.Quantity <= 0 || *l.Quantity > sale.MaxQuantity {
			return web.Invalid(f+".quantity", "%s.quantity %d: must be between 1 and %d", f, *l.Quantity, sale.MaxQuantity)
		}
		price, ok := prices[l.ProductID]
		if !ok {
			return web.Errorf(http.StatusUnprocessableEntity, "UNKNOWN_PRODUCT", f+".productId", "product %q is not stocked in machine %q", l.ProductID, in.MachineID)
		}
		lines[i] = promo.Line{ProductID: l.ProductID, Quantity: *l.Quantity, UnitPrice: price}
	}
	res, err := p.Quote(r.Context(), promotion.Basket{Lines: lines, Code: in.Code, CustomerID: in.CustomerID, At: at})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.Evaluation{Site: s.cfg.Store.Site.ID, MachineID: in.MachineID, At: at.UTC().Format(time.RFC3339), Result: res})
	return nil
}

func (s *server) promotionReport(w http.ResponseWriter, r *http.Request) error {
	p, err := s.promotions()
	if err != nil {
		return err
	}
	loc := s.cfg.Store.Site.Loc
	from, to, err := web.Range(r, web.EndOfHour(s.cfg.Now(), loc), loc)
	if err != nil {
		return err
	}
	rep, err := p.Report(r.Context(), from, to)
	if err != nil {
		return err
	}
	out := edgeapi.PromotionReport{Site: s.cfg.Store.Site.ID, Timezone: s.cfg.Store.Site.Timezone,
		From: from.Format(localLayout), To: to.Format(localLayout),
		Gross: rep.Net + rep.Discount, Discount: rep.Discount, Net: rep.Net, Promotions: make([]edgeapi.PromotionTotal, len(rep.Promotions))}
	for i, x := range rep.Promotions {
		out.Promotions[i] = edgeapi.PromotionTotal{PromotionID: x.PromotionID, Name: x.Name, Redemptions: x.Redemptions, Lines: x.Lines, Discount: x.Discount}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// addDiscounts fills the discount and gross revenue of an aggregation
// answer's rows and totals.
func (s *server) addDiscounts(r *http.Request, ans *edgeapi.SalesAnswer, dim string, win bucket.Window, from, to time.Time) error {
	for i := range ans.Rows {
		ans.Rows[i].GrossRevenue = ans.Rows[i].Revenue
	}
	ans.Totals.GrossRevenue = ans.Totals.Revenue
	if s.cfg.Promotions == nil {
		return nil
	}
	ds, err := s.cfg.Promotions.Discounts(r.Context(), dim, win, from, to)
	if err != nil || len(ds) == 0 {
		return err
	}
	for i, row := range ans.Rows {
		d := ds[promotion.DiscountKey{Bucket: row.Bucket, Key: row.Key}]
		ans.Rows[i].Discount, ans.Rows[i].GrossRevenue = d, row.Revenue+d
		ans.Totals.Discount += d
	}
	ans.Totals.GrossRevenue = ans.Totals.Revenue + ans.Totals.Discount
	return nil
}

func pricingOut(p *sale.Pricing) *edgeapi.SalePricing {
	if p == nil {
		return nil
	}
	out := &edgeapi.SalePricing{ListAmount: p.ListAmount, Discount: p.Discount, Amount: p.Amount, Promotions: make([]edgeapi.AppliedPromotion, len(p.Promotions))}
	for i, a := range p.Promotions {
		out.Promotions[i] = edgeapi.AppliedPromotion{PromotionID: a.PromotionID, Discount: a.Discount}
	}
	return out
}
