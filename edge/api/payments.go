package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vendsync/vendsync/edge/payment"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	gw "github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// MaxWebhookBody bounds one gateway confirmation.
const MaxWebhookBody = 256 << 10

// MaxReportDays bounds the days of one GET /reports/payments.
const MaxReportDays = 366

// refunders may refund or void a payment.
var refunders = []auth.Role{auth.RoleAdmin, auth.RoleOps}

// paymentRoutes are the payments ledger's endpoints. The webhook is public:
// the gateway signs it, and it is verified with the site's secret.
var paymentRoutes = []Route{
	{Method: "GET", Pattern: "/payments", Roles: money},
	{Method: "GET", Pattern: "/payments/{id}", Roles: money},
	{Method: "POST", Pattern: "/payments/{id}/refund", Roles: refunders},
	{Method: "POST", Pattern: "/payments/webhook", Roles: nil},
	{Method: "GET", Pattern: "/reports/payments", Roles: money},
}

func (s *server) paymentHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /payments":              s.listPayments,
		"GET /payments/{id}":         s.getPayment,
		"POST /payments/{id}/refund": s.refundPayment,
		"POST /payments/webhook":     s.paymentWebhook,
		"GET /reports/payments":      s.paymentReport,
	}
}

// payments is the ledger, or a 503 when the edge runs without one.
func (s *server) payments() (*payment.Rules, error) {
	if s.cfg.Payments == nil {
		return nil, web.Errorf(http.StatusServiceUnavailable, "UNAVAILABLE", "", "payments are not enabled on this edge")
	}
	return s.cfg.Payments, nil
}

// listPayments: GET /payments?machineId=&method=&status=&day=&limit=,
// newest first. method takes the names sales use (UPI lists MOBILE).
func (s *server) listPayments(w http.ResponseWriter, r *http.Request) error {
	p, err := s.payments()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	n, err := limit(r)
	if err != nil {
		return err
	}
	f := payment.Query{MachineID: q.Get("machineId"), Day: q.Get("day"), Limit: n}
	if v := q.Get("method"); v != "" {
		if f.Method, err = wire.ParsePaymentMethod(v); err != nil {
			return web.Invalid("method", "%v", err)
		}
	}
	if v := q.Get("status"); v != "" {
		if f.Status, err = gw.ParseStatus(v); err != nil {
			return web.Invalid("status", "%v", err)
		}
	}
	if f.Day != "" {
		if _, err := time.Parse(time.DateOnly, f.Day); err != nil {
			return web.Invalid("day", "day %q: want a date such as 2026-12-01", f.Day)
		}
	}
	out, err := p.AppendList(r.Context(), paymentBufs.Get(), f)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.PaymentList{Payments: out})
	paymentBufs.Put(out)
	return nil
}

func paymentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.Invalid("id", "payment id %q: want a positive number", r.PathValue("id"))
	}
	return id, nil
}

// getPayment: GET /payments/{id}, with its status history.
func (s *server) getPayment(w http.ResponseWriter, r *http.Request) error {
	p, err := s.payments()
	if err != nil {
		return err
	}
	id, err := paymentID(r)
	if err != nil {
		return err
	}
	out, err := p.Get(r.Context(), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// refundPayment: POST /payments/{id}/refund refunds a captured payment in
// full or voids an authorized one: 200 with the payment, again with
// Idempotent-Replayed: true when it was already refunded.
func (s *server) refundPayment(w http.ResponseWriter, r *http.Request) error {
	p, err := s.payments()
	if err != nil {
		return err
	}
	id, err := paymentID(r)
	if err != nil {
		return err
	}
	var in edgeapi.RefundIn
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	out, err := p.Refund(r.Context(), id, in, who(r))
	if err != nil {
		return err
	}
	if out.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// paymentWebhook: POST /payments/webhook takes a gateway confirmation
// (a Stripe event, signed in Stripe-Signature), applied once per event id.
func (s *server) paymentWebhook(w http.ResponseWriter, r *http.Request) error {
	p, err := s.payments()
	if err != nil {
		return err
	}
	tooLarge := web.Errorf(http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "", "a webhook is at most %d bytes", MaxWebhookBody)
	if web.TooLong(r, MaxWebhookBody) {
		return tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooB *http.MaxBytesError
		if errors.As(err, &tooB) {
			return tooLarge
		}
		return web.Invalid("body", "body could not be read: %v", err)
	}
	out, err := p.Webhook(r.Context(), body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// paymentReport: GET /reports/payments?from=&to= (site-local dates, both
// included; default today) sums payments per day and method.
func (s *server) paymentReport(w http.ResponseWriter, r *http.Request) error {
	p, err := s.payments()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	today := s.cfg.Now().In(s.cfg.Store.Site.Loc).Format(time.DateOnly)
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		from = today
	}
	if to == "" {
		to = max(from, today)
	}
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return web.Invalid("from", "from %q: want a date such as 2026-12-01", from)
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return web.Invalid("to", "to %q: want a date such as 2026-12-01", to)
	}
	if t.Before(f) {
		return web.Invalid("to", "to %s is before from %s", to, from)
	}
	if t.Sub(f) > MaxReportDays*24*time.Hour {
		return web.Invalid("to", "at most %d days in one report", MaxReportDays)
	}
	totals, err := p.Totals(r.Context(), from, to)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.PaymentReport{From: from, To: to, Totals: totals})
	return nil
}
