package client

import (
	"context"
	"net/http"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// DemandForecast reads the demand forecast per machine × product (ADMIN,
// OPS, DRIVER or PROCUREMENT), filtered by q.
func (h *HQ) DemandForecast(ctx context.Context, q hqapi.DemandForecastQuery) (hqapi.DemandForecastReport, error) {
	var out hqapi.DemandForecastReport
	hours := ""
	if q.Hours {
		hours = "true"
	}
	err := h.Do(ctx, http.MethodGet, "/reports/demand-forecast"+query("siteId", q.SiteID, "machineId", q.MachineID,
		"productId", q.ProductID, "city", q.City, "hours", hours), nil, &out)
	return out, err
}
