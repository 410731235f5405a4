package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/vendsync/vendsync/internal/edgeapi"
)

func orderPath(id string) string { return "/orders/" + url.PathEscape(id) }

// Orders lists the site's pre-orders, only those with status unless "".
func (e *Edge) Orders(ctx context.Context, status string) ([]edgeapi.Order, error) {
	var out edgeapi.OrderList
	err := e.Do(ctx, http.MethodGet, "/orders"+query("status", status), nil, &out)
	return out.Orders, err
}

// AcceptOrder accepts a pre-order waiting for the operator.
func (e *Edge) AcceptOrder(ctx context.Context, id string) (edgeapi.Order, error) {
	var out edgeapi.Order
	err := e.Do(ctx, http.MethodPost, orderPath(id)+"/accept", struct{}{}, &out)
	return out, err
}

// RejectOrder rejects a pre-order and releases its units.
func (e *Edge) RejectOrder(ctx context.Context, id, reason string) (edgeapi.Order, error) {
	var out edgeapi.Order
	err := e.Do(ctx, http.MethodPost, orderPath(id)+"/reject", edgeapi.OrderReject{Reason: reason}, &out)
	return out, err
}

// Pickup redeems a pre-order with its QR code's content or short code (an
// *Error with code ALREADY_PICKED_UP or INVALID_PICKUP_CODE when refused).
func (e *Edge) Pickup(ctx context.Context, id, code string) (edgeapi.Order, error) {
	var out edgeapi.Order
	err := e.Do(ctx, http.MethodPost, orderPath(id)+"/pickup", edgeapi.Pickup{Code: code}, &out)
	return out, err
}
