package client

import (
	"context"
	"net/http"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// Depots lists central's depots.
func (h *HQ) Depots(ctx context.Context) ([]hqapi.Depot, error) {
	var out hqapi.DepotList
	err := h.Do(ctx, http.MethodGet, "/depots", nil, &out)
	return out.Depots, err
}

// CreateDepot adds a depot (WAREHOUSE or ADMIN); an id already taken is an
// *Error with code DUPLICATE.
func (h *HQ) CreateDepot(ctx context.Context, d hqapi.NewDepot) (hqapi.Depot, error) {
	var out hqapi.Depot
	err := h.Do(ctx, http.MethodPost, "/depots", d, &out)
	return out, err
}

// Vans lists the drivers' vans.
func (h *HQ) Vans(ctx context.Context) ([]hqapi.Van, error) {
	var out hqapi.VanList
	err := h.Do(ctx, http.MethodGet, "/vans", nil, &out)
	return out.Vans, err
}

// CreateVan adds a van based at a depot (WAREHOUSE or ADMIN).
func (h *HQ) CreateVan(ctx context.Context, v hqapi.NewVan) (hqapi.Van, error) {
	var out hqapi.Van
	err := h.Do(ctx, http.MethodPost, "/vans", v, &out)
	return out, err
}

// Stock lists the stock at depots and vans; kind (depot, van) and id
// narrow it ("" for all).
func (h *HQ) Stock(ctx context.Context, kind, id string) ([]hqapi.StockLevel, error) {
	var out hqapi.StockList
	err := h.Do(ctx, http.MethodGet, "/inventory/stock"+query("locationKind", kind, "locationId", id), nil, &out)
	return out.Stock, err
}

// Transfer records a transfer (a van's load, a return); a replayed
// TransferID answers the first result with Replayed set, another body
// under it is an *Error with code IDEMPOTENCY_CONFLICT, a source short of
// stock one with INSUFFICIENT_STOCK.
func (h *HQ) Transfer(ctx context.Context, in hqapi.TransferIn) (hqapi.Transfer, error) {
	var out hqapi.Transfer
	ans, err := h.do(ctx, http.MethodPost, "/transfers", in, &out)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// Transfers lists the newest transfers from or to a location ("" all).
func (h *HQ) Transfers(ctx context.Context, locationID string, limit int) ([]hqapi.Transfer, error) {
	var out hqapi.TransferList
	err := h.Do(ctx, http.MethodGet, "/transfers"+query("locationId", locationID, "limit", itoa(limit)), nil, &out)
	return out.Transfers, err
}

// StockMovements reads one page of central's ledger.
func (h *HQ) StockMovements(ctx context.Context, q hqapi.MovementQuery) (hqapi.MovementList, error) {
	var out hqapi.MovementList
	err := h.Do(ctx, http.MethodGet, "/stock-movements"+movementQuery(q), nil, &out)
	return out, err
}

// StockMovementReport reads GET /reports/stock-movement.
func (h *HQ) StockMovementReport(ctx context.Context, q hqapi.MovementQuery) (hqapi.MovementReport, error) {
	var out hqapi.MovementReport
	err := h.Do(ctx, http.MethodGet, "/reports/stock-movement"+movementQuery(q), nil, &out)
	return out, err
}

func movementQuery(q hqapi.MovementQuery) string {
	return query("locationKind", q.LocationKind, "locationId", q.LocationID, "siteId", q.SiteID, "city", q.City,
		"productId", q.ProductID, "type", q.Type, "from", q.From, "to", q.To, "limit", itoa(q.Limit), "offset", itoa(q.Offset))
}

// BulkUpdate sends POST /inventory/bulk-update; each line has its own
// outcome. The same RequestKey and body answers the first result with
// Replayed set.
func (h *HQ) BulkUpdate(ctx context.Context, in hqapi.BulkUpdateIn) (hqapi.BulkResult, error) {
	var out hqapi.BulkResult
	ans, err := h.do(ctx, http.MethodPost, "/inventory/bulk-update", in, &out)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// ChannelSync sends an external channel's changes and stock levels.
func (h *HQ) ChannelSync(ctx context.Context, in hqapi.ChannelSyncIn) (hqapi.BulkResult, error) {
	var out hqapi.BulkResult
	err := h.Do(ctx, http.MethodPost, "/integration/sync", in, &out)
	return out, err
}

// ChannelReconciliation compares a channel's reported stock with ours.
func (h *HQ) ChannelReconciliation(ctx context.Context, channel string) (hqapi.ChannelReconciliation, error) {
	var out hqapi.ChannelReconciliation
	err := h.Do(ctx, http.MethodGet, "/integration/reconciliation"+query("channel", channel), nil, &out)
	return out, err
}

// StockMovements reads one page of the site's ledger (restock lines and
// sales).
func (e *Edge) StockMovements(ctx context.Context, q edgeapi.StockMovementQuery) (edgeapi.StockMovementList, error) {
	var out edgeapi.StockMovementList
	err := e.Do(ctx, http.MethodGet, "/stock-movements"+query("machineId", q.MachineID, "productId", q.ProductID, "type", q.Type,
		"from", q.From, "to", q.To, "limit", itoa(q.Limit), "offset", itoa(q.Offset)), nil, &out)
	return out, err
}
