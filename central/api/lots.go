package api

import (
	"net/http"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// lotRoutes are the lot endpoints at central.
var lotRoutes = []Route{
	{Method: "GET", Pattern: "/lots", Roles: viewers},
}

func init() { Routes = append(Routes, lotRoutes...) }

func (s *server) lotHandlers() map[string]web.Handler {
	return map[string]web.Handler{"GET /lots": s.listLots}
}

// listLots answers GET /lots?siteId=&machineId=&productId=&expiringBefore=&status=:
// the machines' lots holding units, first expiry first.
func (s *server) listLots(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q := readmodel.LotQuery{Site: v.Get("siteId"), MachineID: v.Get("machineId"), ProductID: v.Get("productId"),
		ExpiringBefore: v.Get("expiringBefore"), Status: v.Get("status")}
	if q.ExpiringBefore != "" {
		if _, err := time.Parse(time.DateOnly, q.ExpiringBefore); err != nil {
			return errs.Invalidf("expiringBefore", "expiringBefore %q: use YYYY-MM-DD", q.ExpiringBefore)
		}
	}
	if err := oneOf("status", q.Status, "SELLABLE", "HOLD"); err != nil {
		return err
	}
	lots, err := s.cfg.Store.Lots(r.Context(), q)
	if err != nil {
		return err
	}
	out := hqapi.LotList{Lots: make([]hqapi.Lot, 0, len(lots))}
	for _, l := range lots {
		hl := hqapi.Lot{SiteID: l.Site, MachineID: l.MachineID, ProductID: l.ProductID, LotID: l.LotID, LotCode: l.Code,
			ExpiryDate: l.ExpiryDate, Quantity: l.Quantity, Status: l.Status}
		if l.UnitCostCents != nil {
			c := wire.Money(*l.UnitCostCents)
			hl.UnitCost = &c
		}
		out.Lots = append(out.Lots, hl)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
