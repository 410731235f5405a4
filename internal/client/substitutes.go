package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// AnswerSubstitution answers an order's substitute offer (POST
// /orders/{id}/substitution): accept takes the substitute, !accept drops
// the missing units and refunds them.
func (h *HQ) AnswerSubstitution(ctx context.Context, id string, accept bool) (hqapi.Order, error) {
	var out hqapi.Order
	err := h.Do(ctx, http.MethodPost, orderPath(id)+"/substitution", hqapi.SubstitutionAnswer{Accept: &accept}, &out)
	return out, err
}

// SetSubstitutes sets a product's substitutes at a site, in the order they
// are offered (PUT /products/{id}/substitutes; none to clear).
func (e *Edge) SetSubstitutes(ctx context.Context, productID string, substitutes []string) (edgeapi.Substitutes, error) {
	if substitutes == nil {
		substitutes = []string{}
	}
	var out edgeapi.Substitutes
	err := e.Do(ctx, http.MethodPut, "/products/"+url.PathEscape(productID)+"/substitutes", edgeapi.SubstitutesIn{Substitutes: substitutes}, &out)
	return out, err
}

// Substitutes lists every product's substitutes at a site.
func (e *Edge) Substitutes(ctx context.Context) ([]edgeapi.Substitutes, error) {
	var out edgeapi.SubstitutesList
	err := e.Do(ctx, http.MethodGet, "/substitutes", nil, &out)
	return out.Products, err
}
