package api

import (
	"net/http"
	"strconv"

	"github.com/vendsync/vendsync/edge/order"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

var (
	// orderViewers may list the site's pre-orders.
	orderViewers = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance}
	// pickupRoles may hand an order over: the machine it is for (its own
	// orders only), a counter's operator, an admin.
	pickupRoles = []auth.Role{auth.RoleMachine, auth.RoleOps, auth.RoleAdmin}
)

// orderRoutes are the pre-order endpoints.
var orderRoutes = []Route{
	{Method: "GET", Pattern: "/orders", Roles: orderViewers},
	{Method: "GET", Pattern: "/orders/{id}", Roles: orderViewers},
	{Method: "POST", Pattern: "/orders/{id}/accept", Roles: manage},
	{Method: "POST", Pattern: "/orders/{id}/reject", Roles: manage},
	{Method: "POST", Pattern: "/orders/{id}/pickup", Roles: pickupRoles},
	{Method: "GET", Pattern: "/substitutes", Roles: viewers},
	{Method: "GET", Pattern: "/products/{id}/substitutes", Roles: viewers},
	{Method: "PUT", Pattern: "/products/{id}/substitutes", Roles: manage},
}

func (s *server) orderHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /orders":                    s.listOrders,
		"GET /orders/{id}":               s.getOrder,
		"POST /orders/{id}/accept":       s.acceptOrder,
		"POST /orders/{id}/reject":       s.rejectOrder,
		"POST /orders/{id}/pickup":       s.pickupOrder,
		"GET /substitutes":               s.listSubstitutes,
		"GET /products/{id}/substitutes": s.getSubstitutes,
		"PUT /products/{id}/substitutes": s.putSubstitutes,
	}
}

func (s *server) orders() (*order.Rules, error) {
	if s.cfg.Orders == nil {
		return nil, web.Errorf(http.StatusServiceUnavailable, "UNAVAILABLE", "", "pre-orders are not enabled on this edge")
	}
	return s.cfg.Orders, nil
}

func orderOut(o order.Order) edgeapi.Order {
	out := edgeapi.Order{OrderID: o.OrderID, MachineID: o.MachineID, Customer: o.Customer, Status: o.Status, Reason: o.Reason,
		PlacedAt: o.PlacedAt, ExpiresAt: o.ExpiresAt, UpdatedAt: o.UpdatedAt, PickedUpBy: o.PickedUpBy, Sales: o.Sales,
		Lines: make([]edgeapi.OrderLine, len(o.Lines))}
	for i, l := range o.Lines {
		out.Lines[i] = edgeapi.OrderLine{ProductID: l.ProductID, Quantity: l.Quantity, Amount: wire.Money(l.AmountCents)}
	}
	out.Substitution = substitutionOut(o.Substitution)
	return out
}

var orderStatuses = map[string]bool{envelope.OrderPending: true, envelope.OrderAccepted: true, envelope.OrderRejected: true,
	envelope.OrderPickedUp: true, envelope.OrderExpired: true, envelope.OrderCancelled: true, envelope.OrderSubstitutionOffered: true}

// listOrders is GET /orders?status=&machineId=&limit=.
func (s *server) listOrders(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := order.Filter{Status: q.Get("status"), MachineID: q.Get("machineId")}
	if f.Status != "" && !orderStatuses[f.Status] {
		return web.Invalid("status", "status %q: one of PENDING, SUBSTITUTION_OFFERED, ACCEPTED, REJECTED, PICKED_UP, EXPIRED, CANCELLED", f.Status)
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return web.Invalid("limit", "limit %q: a number from 1 to 1000", v)
		}
	}
	os, err := rules.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := edgeapi.OrderList{Orders: make([]edgeapi.Order, len(os))}
	for i, o := range os {
		out.Orders[i] = orderOut(o)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getOrder(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	o, err := rules.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, orderOut(o))
	return nil
}

func (s *server) acceptOrder(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	o, err := rules.Accept(r.Context(), r.PathValue("id"), who(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, orderOut(o))
	return nil
}

func (s *server) rejectOrder(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	var body edgeapi.OrderReject
	if r.ContentLength != 0 {
		if err := web.Decode(w, r, &body, MaxBody); err != nil {
			return err
		}
	}
	o, err := rules.Reject(r.Context(), r.PathValue("id"), body.Reason, who(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, orderOut(o))
	return nil
}

// pickupOrder is POST /orders/{id}/pickup {"code"}: 200 with the order
// PICKED_UP and its sales.
func (s *server) pickupOrder(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	var body edgeapi.Pickup
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	o, err := rules.Pickup(r.Context(), r.PathValue("id"), body.Code, machineScope(r), who(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, orderOut(o))
	return nil
}
