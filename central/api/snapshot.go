package api

import (
	"errors"
	"net/http"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// siteSnapshot is GET /sites/{siteId}/snapshot (ADMIN): what this node's
// read model holds of one site, for rebuilding it on a new box. A node still
// catching up after a start answers 503: its copy may be older than what
// central has already acknowledged to the site. A site neither registered
// nor ever heard from is 404; a registered site that never synced has an
// empty snapshot (its new box starts at sequence 1).
func (s *server) siteSnapshot(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("siteId")
	if err := envelope.ValidateSiteID(id); err != nil {
		return web.Invalid("siteId", "%v", err)
	}
	if s.cfg.Behind != nil {
		if n, behind := s.cfg.Behind(); behind {
			return web.Errorf(http.StatusServiceUnavailable, "CATCHING_UP", "", "this node's read model is %d stream messages behind; retry shortly or ask another node", n)
		}
	}
	out := hqapi.SiteSnapshot{Site: hqapi.Site{ID: id}, Machines: []hqapi.SnapshotMachine{}, Faults: []Fault{}, Alerts: []Alert{},
		TakenAt: s.cfg.Now().UTC()}
	registered := false
	if s.cfg.Sites != nil {
		site, err := s.cfg.Sites.Get(r.Context(), id)
		switch {
		case err == nil:
			out.Site, registered = siteOut(site), true
		case !errors.Is(err, sitereg.ErrNotFound):
			return err
		}
	}
	snap, err := s.cfg.Store.SiteSnapshot(r.Context(), id)
	switch {
	case errors.Is(err, readmodel.ErrNotFound) && registered:
		out.Freshness = s.freshness(readmodel.Freshness{Site: id, TZ: out.Site.Timezone})
		web.WriteJSON(w, http.StatusOK, out)
		return nil
	case errors.Is(err, readmodel.ErrNotFound):
		return web.NotFound("siteId", "site %q is neither registered nor known to this node", id)
	case err != nil:
		return err
	}
	out.Freshness = s.freshness(snap.Freshness)
	if out.Site.Timezone == "" {
		out.Site.Timezone = snap.Freshness.TZ
	}
	for _, m := range snap.Machines {
		sm := hqapi.SnapshotMachine{MachineID: m.MachineID, Location: Location{City: m.City, Building: m.Building, Lat: m.Lat, Lng: m.Lng},
			PaymentMethods: m.PaymentMethods, Status: m.Status, TemperatureMax: m.TempMaxC, UpdatedAt: m.EventTime,
			Products: make([]MachineProduct, 0, len(m.Products))}
		if sm.PaymentMethods == nil {
			sm.PaymentMethods = []string{}
		}
		for _, p := range m.Products {
			sm.Products = append(sm.Products, MachineProduct{ProductID: p.ProductID, Name: p.Name, Price: wire.Money(p.PriceCents),
				Quantity: p.Quantity, ExpiryDate: p.ExpiryDate, LowStockLimit: p.LowStockLimit, ParLevel: p.ParLevel,
				CasePack: p.CasePack, UpdatedAt: p.UpdatedAt})
		}
		out.Machines = append(out.Machines, sm)
	}
	for _, f := range snap.Faults {
		out.Faults = append(out.Faults, Fault{SiteID: f.Site, FaultID: f.FaultID, MachineID: f.MachineID, City: f.City, FaultType: f.FaultType,
			Description: f.Description, Status: f.Status, ReportedAt: f.ReportedAt, ResolvedAt: f.ResolvedAt, UpdatedBy: f.By, UpdatedAt: f.EventTime})
	}
	for _, a := range snap.Alerts {
		out.Alerts = append(out.Alerts, Alert{SiteID: a.Site, AlertID: a.AlertID, MachineID: a.MachineID, City: a.City, ProductID: a.ProductID,
			Type: a.Type, Status: a.Status, Detail: a.Detail, OpenedAt: a.OpenedAt, ClosedAt: a.ClosedAt, UpdatedAt: a.EventTime})
	}
	out.MaxFaultID, out.MaxAlertID = snap.MaxFaultID, snap.MaxAlertID
	s.log.Info().Str("site", id).Str("by", who(r)).Uint64("watermark", snap.Freshness.Contiguous).Msg("site snapshot read")
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
