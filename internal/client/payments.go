package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// PaymentQuery selects the payments GET /payments lists at an edge; empty
// fields are any.
type PaymentQuery struct {
	MachineID, Method, Status, Day string
	Limit                          int
}

// Payments lists the site's payments, newest first (ADMIN, OPS, FINANCE).
func (e *Edge) Payments(ctx context.Context, q PaymentQuery) ([]edgeapi.Payment, error) {
	var out edgeapi.PaymentList
	err := e.Do(ctx, http.MethodGet, "/payments"+query("machineId", q.MachineID, "method", q.Method, "status", q.Status,
		"day", q.Day, "limit", itoa(q.Limit)), nil, &out)
	return out.Payments, err
}

// Payment reads one payment with its status history.
func (e *Edge) Payment(ctx context.Context, id int64) (edgeapi.Payment, error) {
	var out edgeapi.Payment
	err := e.Do(ctx, http.MethodGet, "/payments/"+strconv.FormatInt(id, 10), nil, &out)
	return out, err
}

// Refund refunds a captured payment in full, or voids an authorized one
// (ADMIN, OPS). A payment already refunded answers again with Replayed set.
func (e *Edge) Refund(ctx context.Context, id int64, in edgeapi.RefundIn) (edgeapi.Payment, error) {
	var out edgeapi.Payment
	ans, err := e.do(ctx, http.MethodPost, "/payments/"+strconv.FormatInt(id, 10)+"/refund", in, &out)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// PaymentReport reads the site's payment totals per day and method for the
// site-local days from through to ("" for today).
func (e *Edge) PaymentReport(ctx context.Context, from, to string) (edgeapi.PaymentReport, error) {
	var out edgeapi.PaymentReport
	err := e.Do(ctx, http.MethodGet, "/reports/payments"+query("from", from, "to", to), nil, &out)
	return out, err
}

// PaymentReport reads the fleet's (or one site's) payment totals per
// site-local day and method (FINANCE or ADMIN).
func (h *HQ) PaymentReport(ctx context.Context, siteID, from, to string) (hqapi.PaymentReport, error) {
	var out hqapi.PaymentReport
	err := h.Do(ctx, http.MethodGet, "/reports/payments"+query("siteId", siteID, "from", from, "to", to), nil, &out)
	return out, err
}
