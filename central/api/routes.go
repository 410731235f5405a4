package api

import (
	"net/http"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
	"github.com/vendsync/vendsync/internal/web"
)

// The read model knows each site's machines and their last restock, so
// routes consider machines below par without alerts and days since a visit.
var (
	_ route.Source        = (*readmodel.Store)(nil)
	_ route.MachineLister = (*readmodel.Store)(nil)
	_ route.VisitSource   = (*readmodel.Store)(nil)
	_ route.DemandSource  = (*readmodel.Store)(nil)
)

// routeCandidates answers a driver's route: every site with a reason to be
// visited, most urgent first, each with its reasons and slots.
func (s *server) routeCandidates(w http.ResponseWriter, r *http.Request) error {
	cs, err := route.CandidatesAt(r.Context(), s.cfg.Store, s.cfg.Now())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []route.Candidate{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"candidates": cs})
	return nil
}
