package api

import (
	"net/http"

	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/web"
)

// restock records a driver's visit to a machine (POST /machines/{id}/restock):
// 201 with the stock movements, or the first answer again with
// Idempotent-Replayed: true for a replayed movementId.
func (s *server) restock(w http.ResponseWriter, r *http.Request) error {
	var in stock.RestockIn
	if err := web.Decode(w, r, &in, MaxBody*4); err != nil {
		return err
	}
	res, err := s.cfg.Stock.Restock(r.Context(), r.PathValue("id"), in, who(r))
	if err != nil {
		return err
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	web.WriteJSON(w, http.StatusCreated, restockOut(res))
	return nil
}
