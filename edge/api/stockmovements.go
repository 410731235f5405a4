package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/web"
)

// movementRoutes read the site's stock ledger.
var movementRoutes = []Route{
	{Method: "GET", Pattern: "/stock-movements", Roles: viewers},
}

// movementTypes are the types a site's ledger holds.
var movementTypes = []string{"sale", "restock", "expired", "damaged", "count_adjustment"}

// stockMovements is GET /stock-movements?machineId=&productId=&type=&from=&to=&limit=&offset=:
// restock lines and sales, oldest first, paged.
func (s *server) stockMovements(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	f := store.MovementFilter{MachineID: v.Get("machineId"), ProductID: v.Get("productId"), Type: v.Get("type")}
	if err := oneOf("type", f.Type, movementTypes...); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, s); err != nil {
				return web.Invalid(p.name, "%s %q: use RFC 3339 (2025-01-10T10:00:00Z) or a date (2025-01-10, UTC)", p.name, s)
			}
		}
		*p.dst = t
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return web.Invalid("from", "from must be before to")
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	f.Limit = n
	if o := v.Get("offset"); o != "" {
		if f.Offset, err = strconv.Atoi(o); err != nil || f.Offset < 0 {
			return web.Invalid("offset", "offset %q: must be a whole number from 0", o)
		}
	}
	ms, more, err := s.cfg.Store.AppendStockMovements(r.Context(), movementBufs.Get(), f)
	if err != nil {
		return err
	}
	out := edgeapi.StockMovementsOf{Len: len(ms), At: func(i int) edgeapi.StockMovement {
		m := &ms[i]
		return edgeapi.StockMovement{Key: m.Key, MachineID: m.MachineID, ProductID: m.ProductID, Type: m.Type,
			Quantity: m.Quantity, After: m.After, PerformedBy: m.PerformedBy, PerformedAt: m.PerformedAt, VanID: m.VanID, Sequence: m.Seq}
	}}
	if more {
		next := f.Offset + len(ms)
		out.NextOffset = &next
	}
	web.WriteJSON(w, http.StatusOK, out)
	movementBufs.Put(ms)
	return nil
}
