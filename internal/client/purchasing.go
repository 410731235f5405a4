package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// SubscribeAlerts subscribes the caller to alerts posted to a webhook. The
// answer's Secret signs every delivery and is shown only this once.
func (h *HQ) SubscribeAlerts(ctx context.Context, in hqapi.AlertSubscriptionIn) (hqapi.AlertSubscription, error) {
	var out hqapi.AlertSubscription
	err := h.Do(ctx, http.MethodPost, "/alerts/subscribe", in, &out)
	return out, err
}

// AlertSubscriptions lists the caller's subscriptions (ADMIN: everyone's).
func (h *HQ) AlertSubscriptions(ctx context.Context) ([]hqapi.AlertSubscription, error) {
	var out hqapi.AlertSubscriptionList
	err := h.Do(ctx, http.MethodGet, "/alerts/subscriptions", nil, &out)
	return out.Subscriptions, err
}

// Unsubscribe ends a subscription.
func (h *HQ) Unsubscribe(ctx context.Context, id string) error {
	return h.Do(ctx, http.MethodDelete, "/alerts/subscriptions/"+url.PathEscape(id), nil, nil)
}

// WebhookDeliveries reads a subscription's delivery log, newest first.
func (h *HQ) WebhookDeliveries(ctx context.Context, id string) ([]hqapi.WebhookDelivery, error) {
	var out hqapi.WebhookDeliveryList
	err := h.Do(ctx, http.MethodGet, "/alerts/subscriptions/"+url.PathEscape(id)+"/deliveries", nil, &out)
	return out.Deliveries, err
}

// CreateSupplier adds a supplier (PROCUREMENT or ADMIN).
func (h *HQ) CreateSupplier(ctx context.Context, s hqapi.Supplier) (hqapi.Supplier, error) {
	var out hqapi.Supplier
	err := h.Do(ctx, http.MethodPost, "/suppliers", s, &out)
	return out, err
}

// Suppliers lists suppliers.
func (h *HQ) Suppliers(ctx context.Context) ([]hqapi.Supplier, error) {
	var out hqapi.SupplierList
	err := h.Do(ctx, http.MethodGet, "/suppliers", nil, &out)
	return out.Suppliers, err
}

// CreatePurchaseOrder creates a DRAFT purchase order.
func (h *HQ) CreatePurchaseOrder(ctx context.Context, in hqapi.PurchaseOrderIn) (hqapi.PurchaseOrder, error) {
	var out hqapi.PurchaseOrder
	err := h.Do(ctx, http.MethodPost, "/purchase-orders", in, &out)
	return out, err
}

// PurchaseOrders lists purchase orders, newest first.
func (h *HQ) PurchaseOrders(ctx context.Context, status, depotID string) ([]hqapi.PurchaseOrder, error) {
	var out hqapi.PurchaseOrderList
	err := h.Do(ctx, http.MethodGet, "/purchase-orders"+query("status", status, "depotId", depotID), nil, &out)
	return out.PurchaseOrders, err
}

// SendPurchaseOrder moves a DRAFT to SENT; CancelPurchaseOrder closes an
// order. A transition its state forbids is an *Error with code PO_STATE.
func (h *HQ) SendPurchaseOrder(ctx context.Context, id string) (hqapi.PurchaseOrder, error) {
	var out hqapi.PurchaseOrder
	err := h.Do(ctx, http.MethodPost, "/purchase-orders/"+url.PathEscape(id)+"/send", nil, &out)
	return out, err
}

// CancelPurchaseOrder cancels an order that is not received or cancelled.
func (h *HQ) CancelPurchaseOrder(ctx context.Context, id string) (hqapi.PurchaseOrder, error) {
	var out hqapi.PurchaseOrder
	err := h.Do(ctx, http.MethodPost, "/purchase-orders/"+url.PathEscape(id)+"/cancel", nil, &out)
	return out, err
}

// ReceivePurchaseOrder books a delivery in at the order's depot.
func (h *HQ) ReceivePurchaseOrder(ctx context.Context, id string, in hqapi.ReceiptIn) (hqapi.Receipt, error) {
	var out hqapi.Receipt
	err := h.Do(ctx, http.MethodPost, "/purchase-orders/"+url.PathEscape(id)+"/receive", in, &out)
	return out, err
}

// Replenishment reads the suggested orders for a depot.
func (h *HQ) Replenishment(ctx context.Context, depotID string) (hqapi.Replenishment, error) {
	var out hqapi.Replenishment
	err := h.Do(ctx, http.MethodGet, "/reports/replenishment"+query("depotId", depotID), nil, &out)
	return out, err
}

// ValuationReport reads the inventory valuation (method fifo or average).
func (h *HQ) ValuationReport(ctx context.Context, q hqapi.StockReportQuery) (hqapi.ValuationReport, error) {
	var out hqapi.ValuationReport
	err := h.Do(ctx, http.MethodGet, "/reports/valuation"+query("method", q.Method), nil, &out)
	return out, err
}

// MarginReport reads revenue, COGS and gross margin per group.
func (h *HQ) MarginReport(ctx context.Context, q hqapi.StockReportQuery) (hqapi.MarginReport, error) {
	var out hqapi.MarginReport
	err := h.Do(ctx, http.MethodGet, "/reports/margin"+query("groupBy", q.GroupBy, "from", q.From, "to", q.To, "siteId", q.SiteID), nil, &out)
	return out, err
}

// ShrinkReport reads spoilage, damage and count losses per group.
func (h *HQ) ShrinkReport(ctx context.Context, q hqapi.StockReportQuery) (hqapi.ShrinkReport, error) {
	var out hqapi.ShrinkReport
	err := h.Do(ctx, http.MethodGet, "/reports/shrink"+query("groupBy", q.GroupBy, "from", q.From, "to", q.To), nil, &out)
	return out, err
}
