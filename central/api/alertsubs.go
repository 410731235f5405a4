package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/webhook"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
)

// subscribers may subscribe to alerts: every HQ role.
var subscribers = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver, auth.RoleWarehouse, auth.RoleProcurement}

// alertSubRoutes are the alert subscriptions (seed 002) and their delivery
// log. A subscription belongs to the client that made it; ADMIN sees and
// ends everyone's.
var alertSubRoutes = []Route{
	{Method: "POST", Pattern: "/alerts/subscribe", Roles: subscribers},
	{Method: "GET", Pattern: "/alerts/subscriptions", Roles: subscribers},
	{Method: "DELETE", Pattern: "/alerts/subscriptions/{id}", Roles: subscribers},
	{Method: "GET", Pattern: "/alerts/subscriptions/{id}/deliveries", Roles: subscribers},
}

func (s *server) alertSubHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"POST /alerts/subscribe":                    s.subscribe,
		"GET /alerts/subscriptions":                 s.listSubscriptions,
		"DELETE /alerts/subscriptions/{id}":         s.unsubscribe,
		"GET /alerts/subscriptions/{id}/deliveries": s.deliveries,
	}
}

// signatureDoc tells a subscriber how to verify a delivery.
const signatureDoc = "HMAC-SHA256: header Vendsync-Signature: t=<unix>,v1=<hex>; v1 = hex(HMAC-SHA256(secret, t + \".\" + body)); " +
	"refuse t older than 5 minutes; dedupe by Vendsync-Delivery"

// subscribe is POST /alerts/subscribe: the answer carries the signing
// secret, shown this once.
func (s *server) subscribe(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.AlertSubscriptionIn
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if in.URL == "" {
		return web.Invalid("url", "url is required")
	}
	if len(in.URL) > 2048 {
		return web.Invalid("url", "url is longer than 2048 bytes")
	}
	if err := webhook.CheckURL(in.URL, s.cfg.WebhookAllowPrivate); err != nil {
		return web.Invalid("url", "%v", err)
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"alertTypes", in.AlertTypes}, {"siteIds", in.SiteIDs}, {"cities", in.Cities}, {"machineIds", in.MachineIDs}, {"productIds", in.ProductIDs}} {
		if len(f.v) > 100 {
			return web.Invalid(f.name, "%s: at most 100 values", f.name)
		}
		for i, v := range f.v {
			if v == "" || len(v) > 128 {
				return web.Invalid(fmt.Sprintf("%s[%d]", f.name, i), "%s[%d]: must be 1 to 128 bytes", f.name, i)
			}
		}
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return err
	}
	idb := make([]byte, 8)
	if _, err := rand.Read(idb); err != nil {
		return err
	}
	sub := readmodel.Subscription{ID: "sub_" + hex.EncodeToString(idb), Owner: who(r), URL: in.URL, Secret: secret,
		AlertTypes: in.AlertTypes, Sites: in.SiteIDs, Cities: in.Cities, Machines: in.MachineIDs, Products: in.ProductIDs,
		IncludeClosed: in.IncludeClosed, CreatedAt: s.cfg.Now().UTC()}
	if _, err := s.hq.subscribe.do(r, "", sub); err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "ALERT_SUBSCRIBE").Str("client", who(r)).Str("subscription", sub.ID).Str("url", sub.URL).Msg("alert subscription created")
	out := subscriptionOut(sub)
	out.Secret, out.Signature = secret, signatureDoc
	web.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func subscriptionOut(s readmodel.Subscription) hqapi.AlertSubscription {
	nz := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return hqapi.AlertSubscription{ID: s.ID, Owner: s.Owner, URL: s.URL, AlertTypes: nz(s.AlertTypes), SiteIDs: nz(s.Sites),
		Cities: nz(s.Cities), MachineIDs: nz(s.Machines), ProductIDs: nz(s.Products), IncludeClosed: s.IncludeClosed, CreatedAt: s.CreatedAt}
}

// listSubscriptions is GET /alerts/subscriptions: the caller's (ADMIN: all).
func (s *server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	owner := who(r)
	if c, _ := web.ClaimsFrom(r.Context()); c.Role == auth.RoleAdmin {
		owner = ""
	}
	list, err := s.cfg.Store.Subscriptions(r.Context(), owner)
	if err != nil {
		return err
	}
	out := hqapi.AlertSubscriptionList{Subscriptions: []hqapi.AlertSubscription{}}
	for _, sub := range list {
		out.Subscriptions = append(out.Subscriptions, subscriptionOut(sub))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ownSubscription returns subscription id if the caller may see it; another
// client's is reported missing, not forbidden, so ids do not leak.
func (s *server) ownSubscription(r *http.Request) (readmodel.Subscription, error) {
	id := r.PathValue("id")
	if err := s.hqSync(r); err != nil {
		return readmodel.Subscription{}, err
	}
	sub, err := s.cfg.Store.Subscription(r.Context(), id)
	if errors.Is(err, readmodel.ErrNotFound) {
		return sub, errs.NotFoundf("id", "subscription %s not found", id)
	}
	if err != nil {
		return sub, err
	}
	if c, _ := web.ClaimsFrom(r.Context()); c.Role != auth.RoleAdmin && sub.Owner != c.ClientID {
		return sub, errs.NotFoundf("id", "subscription %s not found", id)
	}
	return sub, nil
}

// unsubscribe is DELETE /alerts/subscriptions/{id}.
func (s *server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.ownSubscription(r)
	if err != nil {
		return err
	}
	if _, err := s.hq.unsubscribe.do(r, "", poEntry{ID: sub.ID}); err != nil {
		return queryErr(err)
	}
	s.log.Info().Bool("audit", true).Str("action", "ALERT_UNSUBSCRIBE").Str("client", who(r)).Str("subscription", sub.ID).Msg("alert subscription ended")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deliveries is GET /alerts/subscriptions/{id}/deliveries?limit=: the
// delivery log, newest first, every attempt of each.
func (s *server) deliveries(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.ownSubscription(r)
	if err != nil {
		return err
	}
	n := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
			return web.Invalid("limit", "limit %q: must be 1 to 1000", v)
		}
	}
	list, err := s.cfg.Store.Deliveries(r.Context(), sub.ID, n)
	if err != nil {
		return err
	}
	out := hqapi.WebhookDeliveryList{Deliveries: []hqapi.WebhookDelivery{}}
	for _, d := range list {
		wd := hqapi.WebhookDelivery{ID: d.ID, State: d.State, CreatedAt: d.CreatedAt, DeliveredAt: timePtr(d.DeliveredAt),
			NextAt: timePtr(d.NextAt), LastError: d.LastError, Attempts: []hqapi.WebhookAttempt{}}
		for _, a := range d.Attempts {
			wd.Attempts = append(wd.Attempts, hqapi.WebhookAttempt{Attempt: a.Attempt, At: a.At, StatusCode: a.StatusCode,
				Error: a.Error, DurationMS: a.Duration.Milliseconds()})
		}
		out.Deliveries = append(out.Deliveries, wd)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
