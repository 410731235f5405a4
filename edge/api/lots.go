package api

import (
	"net/http"
	"time"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// lotRoutes are the lot endpoints: reading lots, and a driver's release or
// discard of a machine's held lots after a temperature lockout.
var lotRoutes = []Route{
	{Method: "GET", Pattern: "/lots", Roles: viewers},
	{Method: "POST", Pattern: "/machines/{id}/lots/release", Roles: field},
}

func init() { Routes = append(Routes, lotRoutes...) }

func (s *server) lotHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /lots":                        s.listLots,
		"POST /machines/{id}/lots/release": s.releaseLots,
	}
}

// listLots answers GET /lots?machineId=&productId=&expiringBefore=&status=.
func (s *server) listLots(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.LotFilter{MachineID: q.Get("machineId"), ProductID: q.Get("productId"), ExpiringBefore: q.Get("expiringBefore"), Status: q.Get("status")}
	if f.ExpiringBefore != "" {
		if _, err := time.Parse(time.DateOnly, f.ExpiringBefore); err != nil {
			return errs.Invalidf("expiringBefore", "expiringBefore %q: use YYYY-MM-DD", f.ExpiringBefore)
		}
	}
	switch f.Status {
	case "", "SELLABLE", "HOLD", "EXPIRED", "EMPTY":
	default:
		return errs.Invalidf("status", "status %q: use SELLABLE, HOLD, EXPIRED or EMPTY", f.Status)
	}
	site := s.cfg.Store.Site
	f.Today = s.cfg.Now().In(site.Loc).Format(time.DateOnly)
	rows, err := s.cfg.Store.AppendLots(r.Context(), lotBufs.Get(), f)
	if err != nil {
		return err
	}
	var cost wire.Money // each lot's, read before the next is made
	out := edgeapi.LotsOf{Len: len(rows), At: func(i int) edgeapi.Lot {
		l := &rows[i]
		el := edgeapi.Lot{LotID: l.LotID, MachineID: l.MachineID, ProductID: l.ProductID, LotCode: l.Code, ExpiryDate: l.Expiry,
			Quantity: l.Qty, Status: l.Status, Expired: l.Expiry != "" && l.Expiry < f.Today, ReceivedAt: time.UnixMilli(l.ReceivedAt).UTC()}
		if l.UnitCost.Valid {
			cost = wire.Money(l.UnitCost.Int64)
			el.UnitCost = &cost
		}
		return el
	}}
	web.WriteJSON(w, http.StatusOK, out)
	lotBufs.Put(rows)
	return nil
}

// releaseLots records a driver's check after a temperature lockout
// (POST /machines/{id}/lots/release): 200 with the lots changed.
func (s *server) releaseLots(w http.ResponseWriter, r *http.Request) error {
	var in edgeapi.LotRelease
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	id := r.PathValue("id")
	res, err := s.cfg.Stock.ReleaseLots(r.Context(), id, in.Action, in.LotIDs, in.Notes, who(r))
	if err != nil {
		return err
	}
	out := edgeapi.LotReleaseResult{MachineID: id, Lots: make([]edgeapi.ReleasedLot, 0, len(res))}
	for _, l := range res {
		out.Lots = append(out.Lots, edgeapi.ReleasedLot{LotID: l.LotID, ProductID: l.ProductID, Quantity: l.Qty, Action: l.Action})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
