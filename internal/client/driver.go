package client

import (
	"context"
	"net/http"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// AddDriver creates a restock driver at central (ADMIN): an HQ DRIVER
// client and one edge credential per site of the route, which central
// sends to each site over the downlink. The answer holds the secrets; they
// are not shown again.
func (h *HQ) AddDriver(ctx context.Context, req hqapi.NewDriverRequest) (hqapi.NewDriver, error) {
	var out hqapi.NewDriver
	err := h.Do(ctx, http.MethodPost, "/drivers", req, &out)
	return out, err
}
