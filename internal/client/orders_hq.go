package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// SignUpCustomer asks central at base for new customer credentials (POST
// /customers, no token needed); use them with NewHQ.
func SignUpCustomer(ctx context.Context, base string, o Options) (Credentials, error) {
	u, err := BaseURL(base)
	if err != nil {
		return Credentials{}, err
	}
	hc := o.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+"/customers", bytes.NewReader([]byte("{}")))
	if err != nil {
		return Credentials{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Credentials{}, fmt.Errorf("sign up customer: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		return Credentials{}, decodeError(resp.StatusCode, b)
	}
	var nc hqapi.NewCustomer
	if err := json.Unmarshal(b, &nc); err != nil {
		return Credentials{}, fmt.Errorf("sign up customer: %w", err)
	}
	return Credentials{ClientID: nc.ClientID, ClientSecret: nc.ClientSecret}, nil
}

// PlaceOrder places and pays a pre-order (a CUSTOMER's credentials).
func (h *HQ) PlaceOrder(ctx context.Context, in hqapi.NewOrder) (hqapi.Order, error) {
	var out hqapi.Order
	err := h.Do(ctx, http.MethodPost, "/orders", in, &out)
	return out, err
}

// Order reads one pre-order.
func (h *HQ) Order(ctx context.Context, id string) (hqapi.Order, error) {
	var out hqapi.Order
	err := h.Do(ctx, http.MethodGet, orderPath(id), nil, &out)
	return out, err
}

// OrdersAt lists pre-orders by site and status ("" any); a customer's
// token lists its own.
func (h *HQ) OrdersAt(ctx context.Context, siteID, status string) ([]hqapi.Order, error) {
	var out hqapi.OrderList
	err := h.Do(ctx, http.MethodGet, "/orders"+query("siteId", siteID, "status", status), nil, &out)
	return out.Orders, err
}
