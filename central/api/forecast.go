package api

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
)

// forecastRoles may read the demand forecast: operations, the drivers who
// fill for it (their own route's sites), and procurement.
var forecastRoles = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleDriver, auth.RoleProcurement}

// forecastMethod is what the report says about its figures.
const forecastMethod = "per machine × product: level with damped trend × hour-of-week profile, updated daily; " +
	"hours the slot was empty are censored (sales there are not taken as demand)"

// demandForecast is GET /reports/demand-forecast?siteId=&machineId=&productId=&city=&hours=.
func (s *server) demandForecast(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	hours := false
	if v := q.Get("hours"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return web.Invalid("hours", "hours %q: use true or false", v)
		}
		hours = b
	}
	site := q.Get("siteId")
	route, err := s.driverRoute(r)
	if err != nil {
		return err
	}
	if route != nil && site != "" && !slices.Contains(route, site) {
		return errs.Forbiddenf("siteId", "site %q is not on your route", site)
	}
	rows, err := s.cfg.Store.Forecasts(r.Context(), readmodel.ForecastFilter{
		Site: site, Machine: q.Get("machineId"), Product: q.Get("productId"), City: q.Get("city"),
	})
	if err != nil {
		return err
	}
	if route != nil {
		rows = slices.DeleteFunc(rows, func(f readmodel.SlotForecast) bool { return !slices.Contains(route, f.Site) })
	}
	p := forecast.DefaultParams()
	out := hqapi.DemandForecastReport{Method: forecastMethod, Rows: make([]hqapi.DemandForecast, 0, len(rows))}
	for _, row := range rows {
		out.Rows = append(out.Rows, demandRow(row, p, hours))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// driverRoute returns the sites of the calling DRIVER's route, or nil when
// the caller is not a driver or no route was recorded with its credentials
// (drivers made before routes were kept see every site, as on
// /routes/candidates).
func (s *server) driverRoute(r *http.Request) ([]string, error) {
	c, ok := web.ClaimsFrom(r.Context())
	if !ok || c.Role != auth.RoleDriver {
		return nil, nil
	}
	cl, err := s.cfg.Auth.Client(r.Context(), c.ClientID)
	if errors.Is(err, hqauth.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(cl.Sites) == 0 {
		return nil, nil
	}
	return cl.Sites, nil
}

// demandRow maps a slot's model to its wire row.
func demandRow(row readmodel.SlotForecast, p forecast.Params, hours bool) hqapi.DemandForecast {
	st := row.State
	d := hqapi.DemandForecast{
		SiteID: row.Site, MachineID: row.MachineID, ProductID: row.ProductID, Name: row.Name, City: row.City,
		Stock: row.Quantity, PerDay: round2(st.PerDay(p)), Trend: round2(st.Trend * 24),
		HistoryDays: st.Days, LastDay: time.Unix(st.Day*86400, 0).UTC().Format(time.DateOnly), CensoredHours: st.CensoredHours,
	}
	d.Next7Days = round2(7 * st.PerDay(p))
	if per := st.PerDay(p); per > 0 {
		v := round2(float64(row.Quantity) / per)
		d.DaysOfStock = &v
	}
	if hours {
		d.HourOfWeek = make([]float64, forecast.HoursPerWeek)
		for k := int64(1); k <= 7; k++ {
			day := st.Day + k
			for h := range 24 {
				d.HourOfWeek[forecast.HourOfWeek(day, h)] = round2(st.Expected(day, h, p))
			}
		}
	}
	return d
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
