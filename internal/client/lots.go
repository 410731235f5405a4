package client

import (
	"context"
	"net/http"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// Lots lists a site's lots (GET /lots at the edge).
func (e *Edge) Lots(ctx context.Context, q edgeapi.LotQuery) ([]edgeapi.Lot, error) {
	var out edgeapi.LotList
	err := e.Do(ctx, http.MethodGet, "/lots"+query("machineId", q.MachineID, "productId", q.ProductID,
		"expiringBefore", q.ExpiringBefore, "status", q.Status), nil, &out)
	return out.Lots, err
}

// ReleaseLots releases or discards a machine's held lots after a
// temperature lockout (POST /machines/{id}/lots/release; DRIVER, OPS, ADMIN).
func (e *Edge) ReleaseLots(ctx context.Context, machineID string, in edgeapi.LotRelease) (edgeapi.LotReleaseResult, error) {
	var out edgeapi.LotReleaseResult
	err := e.Do(ctx, http.MethodPost, machinePath(machineID)+"/lots/release", in, &out)
	return out, err
}

// Lots lists the fleet's machine lots (GET /lots at central).
func (h *HQ) Lots(ctx context.Context, q hqapi.LotQuery) ([]hqapi.Lot, error) {
	var out hqapi.LotList
	err := h.Do(ctx, http.MethodGet, "/lots"+query("siteId", q.SiteID, "machineId", q.MachineID, "productId", q.ProductID,
		"expiringBefore", q.ExpiringBefore, "status", q.Status), nil, &out)
	return out.Lots, err
}
