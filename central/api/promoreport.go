package api

import (
	"net/http"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// promoReportRoutes is the promotions report (what promotions gave).
var promoReportRoutes = []Route{
	{Method: "GET", Pattern: "/reports/promotions", Roles: money},
}

// The report's route joins Routes here rather than in its literal, so that
// the features added beside it each touch their own file.
func init() { Routes = append(Routes, promoReportRoutes...) }

func (s *server) promoReportHandlers() map[string]web.Handler {
	return map[string]web.Handler{"GET /reports/promotions": s.promotionReport}
}

// promotionReport is GET /reports/promotions?from=&to=&city=&siteId=:
// gross, discount and net revenue and each promotion's redemptions and
// discount over the range (naive local, as /aggregations/sales).
func (s *server) promotionReport(w http.ResponseWriter, r *http.Request) error {
	site, err := siteParam(r)
	if err != nil {
		return err
	}
	from, to, err := s.timeRange(r, site)
	if err != nil {
		return err
	}
	city := r.URL.Query().Get("city")
	rep, err := s.cfg.Store.Promotions(r.Context(), readmodel.PromotionQuery{From: from, To: to, City: city, Site: site})
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.PromotionReport{From: from.Format(localLayout), To: to.Format(localLayout), City: city, SiteID: site,
		Gross: wire.Money(rep.NetCents + rep.DiscountCents), Discount: wire.Money(rep.DiscountCents), Net: wire.Money(rep.NetCents),
		Promotions: make([]hqapi.PromotionTotal, len(rep.Promotions)), Freshness: s.freshnessList(rep.Freshness)}
	for i, p := range rep.Promotions {
		out.Promotions[i] = hqapi.PromotionTotal{PromotionID: p.PromotionID, Redemptions: p.Redemptions, Lines: p.Lines, Sites: p.Sites,
			Discount: wire.Money(p.DiscountCents)}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
