package api

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nuid"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/pickup"
	"github.com/vendsync/vendsync/sync/wire"
)

// Pre-orders: customers (role CUSTOMER, credentials from POST /customers)
// order from a site's menu and pay in advance; the order travels to its
// site on the downlink (order.<id>), which reserves, accepts and redeems
// it and reports every status change back up. A customer sees only its own
// orders; HQ sees every order per site and status.

// OrderSettings tunes pre-orders at central. The zero value gives the
// defaults.
type OrderSettings struct {
	// Payments is the gateway orders are paid through (nil: POST /orders
	// answers 501).
	Payments payment.Provider
	// Key signs pickup tokens (nil: POST /orders answers 501).
	Key ed25519.PrivateKey
	// Currency of every order (default "usd").
	Currency string
	// ReadyIn is the estimated time until an order is ready (default 5m).
	ReadyIn time.Duration
	// Window is how long after it is ready an order may be picked up
	// before its site expires it and it is refunded (default 2h).
	Window time.Duration
	// SSEPoll is how often an event stream looks for new status changes
	// (default 250ms).
	SSEPoll time.Duration
}

func (o OrderSettings) withDefaults() OrderSettings {
	if o.Currency == "" {
		o.Currency = "usd"
	}
	if o.ReadyIn <= 0 {
		o.ReadyIn = 5 * time.Minute
	}
	if o.Window <= 0 {
		o.Window = 2 * time.Hour
	}
	if o.SSEPoll <= 0 {
		o.SSEPoll = 250 * time.Millisecond
	}
	return o
}

var (
	customers = []auth.Role{auth.RoleCustomer}
	// orderReaders: a customer (its own orders) and HQ.
	orderReaders = []auth.Role{auth.RoleCustomer, auth.RoleAdmin, auth.RoleOps, auth.RoleFinance}
)

// orderRoutes are the customer and HQ routes of pre-orders.
var orderRoutes = []Route{
	{Method: "POST", Pattern: "/customers", Roles: nil},
	{Method: "POST", Pattern: "/orders", Roles: customers},
	{Method: "GET", Pattern: "/orders", Roles: orderReaders},
	{Method: "GET", Pattern: "/orders/{id}", Roles: orderReaders},
	{Method: "GET", Pattern: "/orders/{id}/events", Roles: orderReaders},
	{Method: "GET", Pattern: "/orders/{id}/qr", Roles: customers},
	{Method: "POST", Pattern: "/orders/{id}/cancel", Roles: customers},
	{Method: "POST", Pattern: "/orders/{id}/substitution", Roles: substitutionRoles},
}

func (s *server) orderHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"POST /customers":                s.newCustomer,
		"POST /orders":                   s.placeOrder,
		"GET /orders":                    s.listOrders,
		"GET /orders/{id}":               s.getOrder,
		"GET /orders/{id}/events":        s.orderEvents,
		"GET /orders/{id}/qr":            s.orderQR,
		"POST /orders/{id}/cancel":       s.cancelOrder,
		"POST /orders/{id}/substitution": s.answerSubstitution,
	}
}

// newCustomer is POST /customers: a new anonymous customer (rate-limited
// per address like token requests).
func (s *server) newCustomer(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Limiter != nil {
		if tm := s.cfg.Limiter.AllowToken(web.RemoteIP(r), ""); tm != nil {
			w.Header().Set("Retry-After", strconv.Itoa(int(tm.RetryAfter.Seconds())+1))
			return tm.Error
		}
	}
	id, secret, err := s.cfg.Auth.AddCustomer(r.Context())
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "CUSTOMER_CREATED").Str("client", id).Msg("new customer")
	web.WriteJSON(w, http.StatusCreated, hqapi.NewCustomer{ClientID: id, ClientSecret: secret})
	return nil
}

// placeOrder is POST /orders: prices the cart (list prices of the machine
// at central, promotions with the code), takes payment, sends the order to
// its site and answers 201 with the pickup code and QR code.
func (s *server) placeOrder(w http.ResponseWriter, r *http.Request) error {
	os := s.cfg.Orders.withDefaults()
	var in hqapi.NewOrder
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if err := envelope.ValidateSiteID(in.SiteID); err != nil {
		return web.Invalid("siteId", "%v", err)
	}
	if in.MachineID == "" {
		return web.Invalid("machineId", "machineId is required: the machine or counter to pick up at")
	}
	if len(in.Lines) == 0 || len(in.Lines) > envelope.MaxOrderLines {
		return web.Invalid("lines", "an order has 1 to %d lines", envelope.MaxOrderLines)
	}
	if len(in.PromotionCode) > 64 {
		return web.Invalid("promotionCode", "promotionCode: at most 64 characters")
	}
	if os.Payments == nil || os.Key == nil {
		return web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node takes no orders: no payment gateway or order key")
	}
	method := in.PaymentMethod
	if method == "" {
		method = "pm_card_visa"
	}
	f := s.cfg.Store.Freshness(in.SiteID)
	if !f.Known {
		return web.NotFound("siteId", "central has received nothing from site %q", in.SiteID)
	}
	items, err := s.cfg.Store.Menu(r.Context(), in.SiteID)
	if err != nil {
		return err
	}
	type slot struct{ price, units int64 }
	at := map[string]slot{}
	for _, it := range items {
		for _, m := range it.Machines {
			if m.MachineID == in.MachineID {
				at[it.ProductID] = slot{m.PriceCents, m.Units}
			}
		}
	}
	lines := make([]promo.Line, len(in.Lines))
	seen := map[string]bool{}
	for i, l := range in.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if l.ProductID == "" {
			return web.Invalid(field+".productId", "productId is required")
		}
		if seen[l.ProductID] {
			return web.Invalid(field+".productId", "product %q appears twice; order it once with its quantity", l.ProductID)
		}
		seen[l.ProductID] = true
		if l.Quantity < 1 || l.Quantity > 100 {
			return web.Invalid(field+".quantity", "quantity %d: 1 to 100", l.Quantity)
		}
		sl, ok := at[l.ProductID]
		if !ok {
			return web.Errorf(http.StatusUnprocessableEntity, "UNKNOWN_PRODUCT", field+".productId", "machine %q of site %q does not hold product %q", in.MachineID, in.SiteID, l.ProductID)
		}
		if sl.units < l.Quantity {
			return web.Errorf(http.StatusConflict, "OUT_OF_STOCK", field+".quantity", "%d of %q available at machine %q, %d ordered", max(0, sl.units), l.ProductID, in.MachineID, l.Quantity)
		}
		lines[i] = promo.Line{ProductID: l.ProductID, Quantity: l.Quantity, UnitPrice: wire.Money(sl.price)}
	}
	customer := who(r)
	res, err := s.priceOrder(r.Context(), in.SiteID, f.TZ, lines, in.PromotionCode, customer)
	if err != nil {
		return err
	}
	if in.PromotionCode != "" && (res.Code == promo.CodeUnknown || res.Code == promo.CodeExpired) {
		return web.Errorf(http.StatusUnprocessableEntity, "INVALID_PROMOTION_CODE", "promotionCode", "promotion code %q is %s", in.PromotionCode, res.Code)
	}

	now := s.cfg.Now().UTC()
	id := "ord_" + nuid.Next()
	o := readmodel.Order{OrderID: id, Site: in.SiteID, MachineID: in.MachineID, Customer: customer, Status: envelope.OrderPlaced,
		Reason: "paid; sent to the site", GrossCents: int64(res.Gross), DiscountCents: int64(res.Discount), TotalCents: int64(res.Net),
		Currency: os.Currency, PromoCode: in.PromotionCode, PlacedAt: now, ReadyAt: now.Add(os.ReadyIn),
		ExpiresAt: now.Add(os.ReadyIn + os.Window), UpdatedAt: now}
	for _, pl := range res.Lines {
		o.Lines = append(o.Lines, envelope.OrderLine{ProductID: pl.ProductID, Quantity: pl.Quantity, AmountCents: int64(pl.Net)})
	}
	o.Token, o.Code = pickup.Sign(os.Key, in.SiteID, id)

	if o.TotalCents > 0 {
		intent, err := os.Payments.Authorize(r.Context(), payment.Request{Amount: o.TotalCents, Currency: os.Currency, Method: method,
			Description: "vendsync pre-order " + id, Metadata: map[string]string{"site": in.SiteID, "machine": in.MachineID, "order": id},
			IdempotencyKey: id + ":authorize"})
		if err != nil {
			return paymentError(err)
		}
		if intent, err = os.Payments.Capture(r.Context(), intent.ID, id+":capture"); err != nil {
			return paymentError(err)
		}
		o.PaymentID, o.PaymentStatus = intent.ID, string(intent.Status)
	}
	if err := s.recordOrder(r.Context(), o); err != nil {
		return err
	}
	if err := s.sendOrder(r.Context(), os, o); err != nil {
		// Paid but not sent: the customer gets the money back at once.
		s.refund(r.Context(), os, o, "could not be sent to the site")
		return web.Errorf(http.StatusServiceUnavailable, "UNAVAILABLE", "", "the order could not be sent to site %q (refunded): %v", in.SiteID, err)
	}
	s.log.Info().Bool("audit", true).Str("action", "ORDER_PLACED").Str("order", id).Str("site", in.SiteID).Str("customer", customer).
		Int64("totalCents", o.TotalCents).Msg("pre-order placed")
	out := s.orderOut(o, true)
	out.Promotions = res.Applied
	w.Header().Set("Location", "/orders/"+id)
	web.WriteJSON(w, http.StatusCreated, out)
	return nil
}

// priceOrder prices a cart with central's promotions, as the site will.
func (s *server) priceOrder(ctx context.Context, site, tz string, lines []promo.Line, code, customer string) (promo.Result, error) {
	var promos []promo.Promotion
	if s.cfg.Promotions != nil {
		recs, err := s.cfg.Promotions.List(ctx)
		if err != nil {
			return promo.Result{}, err
		}
		for _, rec := range recs {
			promos = append(promos, rec.Promotion)
		}
	}
	cities, err := s.cfg.Store.SiteCities(ctx)
	if err != nil {
		return promo.Result{}, err
	}
	return promo.Evaluate(promo.Input{Lines: lines, Code: code, CustomerID: customer, Now: s.cfg.Now(), Location: timeLocation(tz),
		SiteID: site, City: cities[site], Quota: anyQuota{}}, promos), nil
}

// paymentError maps a gateway error to the customer's answer.
func paymentError(err error) error {
	switch {
	case errors.Is(err, payment.ErrDeclined), errors.Is(err, payment.ErrActionRequired):
		return web.Errorf(http.StatusPaymentRequired, "PAYMENT_DECLINED", "paymentMethod", "the payment was declined: %v", err)
	case errors.Is(err, payment.ErrUnavailable):
		return web.Errorf(http.StatusServiceUnavailable, "PAYMENT_UNAVAILABLE", "", "the payment gateway is unavailable; try again")
	}
	return err
}

// sendOrder writes the order to its site's downlink, with central's order
// key first if this process has not sent it to the site yet.
func (s *server) sendOrder(ctx context.Context, os OrderSettings, o readmodel.Order) error {
	if _, sent := s.orderKeySent.Load(o.Site); !sent {
		b, err := json.Marshal(envelope.OrderKey{PublicKey: os.Key.Public().(ed25519.PublicKey)})
		if err != nil {
			return err
		}
		if _, err := s.cfg.Publisher.Put(ctx, o.Site, envelope.OrderKeyKey, b); err != nil {
			return err
		}
		s.orderKeySent.Store(o.Site, true)
	}
	b, err := json.Marshal(downlinkOf(o, false))
	if err != nil {
		return err
	}
	_, err = s.cfg.Publisher.Put(ctx, o.Site, envelope.OrderKeyOf(o.OrderID), b)
	return err
}

func downlinkOf(o readmodel.Order, cancel bool) envelope.OrderDownlink {
	return envelope.OrderDownlink{OrderID: o.OrderID, MachineID: o.MachineID, Customer: o.Customer, Lines: o.Lines, Code: o.Code,
		PlacedAt: o.PlacedAt, ExpiresAt: o.ExpiresAt, Cancel: cancel}
}

// refund gives an order's payment back (idempotent at the gateway by the
// order's id) and records it; a failure is logged and left to the refund
// job to retry.
func (s *server) refund(ctx context.Context, os OrderSettings, o readmodel.Order, why string) {
	if err := RefundOrder(ctx, os.Payments, s.cfg.Store, s.cfg.HQLog, o, why, s.cfg.Now()); err != nil {
		s.log.Error().Err(err).Str("order", o.OrderID).Msg("refund")
	}
}

// orderOut maps an order to its wire form; the pickup code, token and QR
// link go to its customer only.
func (s *server) orderOut(o readmodel.Order, owner bool) hqapi.Order {
	out := hqapi.Order{OrderID: o.OrderID, SiteID: o.Site, MachineID: o.MachineID, Customer: o.Customer, Status: o.Status, Reason: o.Reason,
		Gross: wire.Money(o.GrossCents), Discount: wire.Money(o.DiscountCents), Total: wire.Money(o.TotalCents), Currency: o.Currency,
		PromotionCode: o.PromoCode, Payment: hqapi.OrderPayment{ID: o.PaymentID, Status: o.PaymentStatus, RefundID: o.RefundID},
		PlacedAt: o.PlacedAt, UpdatedAt: o.UpdatedAt, Lines: make([]hqapi.OrderLine, len(o.Lines))}
	for i, l := range o.Lines {
		out.Lines[i] = hqapi.OrderLine{ProductID: l.ProductID, Quantity: l.Quantity, Amount: wire.Money(l.AmountCents)}
	}
	if !o.ReadyAt.IsZero() && o.ReadyAt.UnixMilli() > 0 {
		ra, ea := o.ReadyAt, o.ExpiresAt
		out.ReadyAt, out.ExpiresAt = &ra, &ea
	}
	out.Substitution = substitutionOut(o)
	if owner && o.Token != "" {
		out.PickupCode, out.PickupToken, out.QRCode = o.Code, o.Token, "/orders/"+o.OrderID+"/qr"
	}
	return out
}

// ownOrder reads an order the caller may see: a customer's own only (any
// other answers 404, so ids of others' orders are not confirmed).
func (s *server) ownOrder(r *http.Request) (readmodel.Order, bool, error) {
	id := r.PathValue("id")
	o, err := s.cfg.Store.GetOrder(r.Context(), id)
	if errors.Is(err, readmodel.ErrOrderNotFound) {
		return o, false, web.NotFound("id", "no order %q", id)
	}
	if err != nil {
		return o, false, err
	}
	c, _ := web.ClaimsFrom(r.Context())
	if c.Role == auth.RoleCustomer {
		if o.Customer != c.ClientID {
			return readmodel.Order{}, false, web.NotFound("id", "no order %q", id)
		}
		return o, true, nil
	}
	return o, false, nil
}

var centralOrderStatuses = map[string]bool{envelope.OrderPlaced: true, envelope.OrderPending: true, envelope.OrderAccepted: true,
	envelope.OrderRejected: true, envelope.OrderPickedUp: true, envelope.OrderExpired: true, envelope.OrderCancelled: true,
	envelope.OrderSubstitutionOffered: true}

// listOrders is GET /orders?siteId=&status=&limit= (HQ; also customer=),
// a customer's own orders for a CUSTOMER token.
func (s *server) listOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := readmodel.OrderFilter{Site: q.Get("siteId"), Status: q.Get("status"), Customer: q.Get("customer")}
	if f.Status != "" && !centralOrderStatuses[f.Status] {
		return web.Invalid("status", "status %q: one of PLACED, PENDING, SUBSTITUTION_OFFERED, ACCEPTED, REJECTED, PICKED_UP, EXPIRED, CANCELLED", f.Status)
	}
	if f.Site != "" {
		if err := envelope.ValidateSiteID(f.Site); err != nil {
			return web.Invalid("siteId", "%v", err)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return web.Invalid("limit", "limit %q: a number from 1 to 1000", v)
		}
		f.Limit = n
	}
	c, _ := web.ClaimsFrom(r.Context())
	owner := c.Role == auth.RoleCustomer
	if owner {
		if f.Customer != "" && f.Customer != c.ClientID {
			return web.Errorf(http.StatusForbidden, "FORBIDDEN", "customer", "a customer sees only its own orders")
		}
		f.Customer = c.ClientID
	}
	os, err := s.cfg.Store.Orders(r.Context(), f)
	if err != nil {
		return err
	}
	out := hqapi.OrderList{Orders: make([]hqapi.Order, len(os))}
	for i, o := range os {
		out.Orders[i] = s.orderOut(o, owner)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getOrder(w http.ResponseWriter, r *http.Request) error {
	o, owner, err := s.ownOrder(r)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, s.orderOut(o, owner))
	return nil
}

// orderQR is GET /orders/{id}/qr: the pickup token as a QR code, a PNG,
// or block characters for a terminal with ?format=text.
func (s *server) orderQR(w http.ResponseWriter, r *http.Request) error {
	o, _, err := s.ownOrder(r)
	if err != nil {
		return err
	}
	if o.Token == "" {
		return web.NotFound("id", "order %q was not placed through this node", o.OrderID)
	}
	switch r.URL.Query().Get("format") {
	case "", "png":
		b, err := pickup.PNG(o.Token, 256)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "image/png")
		_, err = w.Write(b)
		return err
	case "text":
		t, err := pickup.Terminal(o.Token)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err = w.Write([]byte(t))
		return err
	}
	return web.Invalid("format", "format: png or text")
}

// cancelOrder is POST /orders/{id}/cancel: asks the site to cancel an
// order not yet picked up; it is refunded once the site confirms.
func (s *server) cancelOrder(w http.ResponseWriter, r *http.Request) error {
	o, _, err := s.ownOrder(r)
	if err != nil {
		return err
	}
	switch o.Status {
	case envelope.OrderPlaced, envelope.OrderPending, envelope.OrderAccepted, envelope.OrderSubstitutionOffered:
	default:
		return web.Errorf(http.StatusConflict, "ORDER_CLOSED", "id", "order %q is %s and can no longer be cancelled", o.OrderID, o.Status)
	}
	if err := s.recordCancel(r.Context(), o, who(r)); err != nil {
		return err
	}
	b, err := json.Marshal(downlinkOf(o, true))
	if err != nil {
		return err
	}
	if _, err := s.cfg.Publisher.Put(r.Context(), o.Site, envelope.OrderKeyOf(o.OrderID), b); err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, s.orderOut(o, true))
	return nil
}

// finalOrder reports whether no status change follows ev.
func finalOrder(ev readmodel.OrderEvent) bool {
	return ev.Status == envelope.OrderPickedUp || ev.Status == envelope.OrderRefunded
}

// orderEvents is GET /orders/{id}/events: the order's status changes as
// server-sent events (event "status", id its number on this node), from
// the first or after Last-Event-ID (header, or ?lastEventId=). The stream
// ends after PICKED_UP or REFUNDED; a client that reconnects with the last
// id it saw misses nothing and sees nothing twice.
func (s *server) orderEvents(w http.ResponseWriter, r *http.Request) error {
	o, _, err := s.ownOrder(r)
	if err != nil {
		return err
	}
	var after int64
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("lastEventId")
	}
	if last != "" {
		if after, err = strconv.ParseInt(last, 10, 64); err != nil || after < 0 {
			return web.Invalid("Last-Event-ID", "Last-Event-ID %q: the id of an event of this stream", last)
		}
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	poll := s.cfg.Orders.withDefaults().SSEPoll
	t := time.NewTicker(poll)
	defer t.Stop()
	keepAlive := time.Now()
	for {
		evs, err := s.cfg.Store.OrderEvents(r.Context(), o.OrderID, after)
		if err != nil {
			return nil // the status line is sent: end the stream, the client reconnects
		}
		for _, ev := range evs {
			b, _ := json.Marshal(hqapi.OrderStatusEvent{OrderID: ev.OrderID, Status: ev.Status, Reason: ev.Reason, At: ev.At})
			if _, err := fmt.Fprintf(w, "id: %d\nevent: status\ndata: %s\n\n", ev.ID, b); err != nil {
				return nil
			}
			after = ev.ID
			if finalOrder(ev) {
				_ = rc.Flush()
				return nil
			}
		}
		if len(evs) == 0 && time.Since(keepAlive) > 15*time.Second {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			keepAlive = time.Now()
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-t.C:
		}
	}
}
