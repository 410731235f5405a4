package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/promo"
)

// Promotions lists central's promotions with their quotas' state.
func (h *HQ) Promotions(ctx context.Context) ([]hqapi.Promotion, error) {
	var out hqapi.PromotionList
	err := h.Do(ctx, http.MethodGet, "/promotions", nil, &out)
	return out.Promotions, err
}

// AddPromotion creates a promotion at central (ADMIN or OPS); central
// sends it to every site its scope covers. An invalid one is an *Error
// naming the field; an existing id is PROMOTION_EXISTS.
func (h *HQ) AddPromotion(ctx context.Context, p promo.Promotion) (hqapi.Promotion, error) {
	var out hqapi.Promotion
	err := h.Do(ctx, http.MethodPost, "/promotions", p, &out)
	return out, err
}

// DeactivatePromotion deactivates a promotion everywhere it applies.
func (h *HQ) DeactivatePromotion(ctx context.Context, id string) (hqapi.Promotion, error) {
	var out hqapi.Promotion
	err := h.Do(ctx, http.MethodDelete, "/promotions/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Nearest lists the sites within radiusKm of (lat, lng) holding productID
// now, nearest first.
func (h *HQ) Nearest(ctx context.Context, lat, lng float64, productID string, radiusKm float64) (hqapi.NearestAnswer, error) {
	q := url.Values{}
	q.Set("lat", strconv.FormatFloat(lat, 'f', -1, 64))
	q.Set("lng", strconv.FormatFloat(lng, 'f', -1, 64))
	q.Set("productId", productID)
	q.Set("radiusKm", strconv.FormatFloat(radiusKm, 'f', -1, 64))
	var out hqapi.NearestAnswer
	err := h.Do(ctx, http.MethodGet, "/sites/nearest?"+q.Encode(), nil, &out)
	return out, err
}

// Menu returns what a site's machines hold now, priced after promotions.
func (h *HQ) Menu(ctx context.Context, siteID string) (hqapi.Menu, error) {
	var out hqapi.Menu
	err := h.Do(ctx, http.MethodGet, "/sites/"+url.PathEscape(siteID)+"/menu", nil, &out)
	return out, err
}
