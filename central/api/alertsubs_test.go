package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/webhook"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

// withWebhooksAllowed serves the same node again with private webhook
// targets allowed (the receivers in these tests are on loopback). Tokens
// of c work on it: same signer, same credentials.
func (c *central) withWebhooksAllowed() *central {
	c.t.Helper()
	pub, err := downlink.NewPublisher(context.Background(), c.JS)
	if err != nil {
		c.t.Fatal(err)
	}
	h := api.New(api.Config{
		Store: c.Store, Auth: c.Auth, Signer: c.Signer, Publisher: pub, Metrics: newMetrics(),
		Logger: zerolog.Nop(), Now: func() time.Time { return t0.Add(5 * time.Minute) }, WebhookAllowPrivate: true,
	})
	srv := httptest.NewServer(h)
	c.t.Cleanup(srv.Close)
	cp := *c
	cp.URL = srv.URL
	return &cp
}

// receiver is a webhook endpoint that fails its first failures requests.
type receiver struct {
	mu       sync.Mutex
	failures int
	got      []received
}

type received struct {
	delivery, signature string
	body                []byte
	status              int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	status := http.StatusOK
	if len(rv.got) < rv.failures {
		status = http.StatusInternalServerError
	}
	rv.got = append(rv.got, received{r.Header.Get(webhook.HeaderDelivery), r.Header.Get(webhook.HeaderSignature), b, status})
	w.WriteHeader(status)
}

func (rv *receiver) requests() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.got...)
}

func TestAlertWebhook_RetriesUntilDeliveredAndSigns(t *testing.T) {
	c := newCentral(t).withWebhooksAllowed()
	rv := &receiver{failures: 2}
	hook := httptest.NewServer(rv)
	defer hook.Close()

	r := c.Do("POST", "/alerts/subscribe", c.Token(auth.RoleOps), hqapi.AlertSubscriptionIn{
		URL: hook.URL + "/alerts", AlertTypes: []string{"LOW_STOCK"}, SiteIDs: []string{"s1"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var sub hqapi.AlertSubscription
	r.JSON(t, &sub)
	if sub.Secret == "" || sub.ID == "" {
		t.Fatalf("subscription %+v: want id and secret", sub)
	}

	// s1 continues at seq 9: one alert the subscription wants, one of
	// another type, then the same batch again (a redelivery).
	at := t0.Add(-time.Hour)
	batch := []ev{
		{envelope.KindAlert, at, envelope.Alert{AlertID: 2, MachineID: "M1", ProductID: "P1", Type: "LOW_STOCK", Status: "OPEN", OpenedAt: at}},
		{envelope.KindAlert, at, envelope.Alert{AlertID: 3, MachineID: "M1", Type: "TEMPERATURE_HIGH", Status: "OPEN", OpenedAt: at}},
	}
	apply(t, c.Store, "s1", "Asia/Kolkata", 9, batch...)
	apply(t, c.Store, "s1", "Asia/Kolkata", 9, batch...)

	d := webhook.New(webhook.Config{Queue: c.Store.Webhooks(), AllowPrivate: true, Interval: 10 * time.Millisecond,
		BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, Timeout: 5 * time.Second})
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	var log hqapi.WebhookDeliveryList
	testkit.CheckFor(t, 10*time.Second, func() error {
		r := c.Do("GET", "/alerts/subscriptions/"+sub.ID+"/deliveries", c.Token(auth.RoleOps), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("deliveries: %d %s", r.Status, r.Body)
		}
		log = hqapi.WebhookDeliveryList{}
		r.JSON(t, &log)
		if len(log.Deliveries) != 1 || log.Deliveries[0].State != "DELIVERED" {
			return fmt.Errorf("deliveries %+v", log.Deliveries)
		}
		return nil
	})
	dl := log.Deliveries[0]
	if got, want := dl.ID, sub.ID+":s1:2:OPEN"; got != want {
		t.Fatalf("delivery id %q, want %q", got, want)
	}
	if got, want := len(dl.Attempts), 3; got != want {
		t.Fatalf("attempts %d, want %d: %+v", got, want, dl.Attempts)
	}
	for i, want := range []int{500, 500, 200} {
		if got := dl.Attempts[i].StatusCode; got != want {
			t.Fatalf("attempt %d status %d, want %d", i+1, got, want)
		}
	}
	reqs := rv.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver saw %d requests, want 3", len(reqs))
	}
	for i, q := range reqs {
		if q.delivery != dl.ID {
			t.Fatalf("request %d delivery %q, want %q (one id across retries)", i, q.delivery, dl.ID)
		}
		if err := webhook.Verify(sub.Secret, q.signature, q.body, time.Now(), 0); err != nil {
			t.Fatalf("request %d: signature: %v", i, err)
		}
		if err := webhook.Verify("whsec_wrong", q.signature, q.body, time.Now(), 0); err == nil {
			t.Fatalf("request %d: verifies with a wrong secret", i)
		}
	}
	var n struct {
		AlertID int64  `json:"alertId"`
		Type    string `json:"type"`
		SiteID  string `json:"siteId"`
		City    string `json:"city"`
	}
	Response{Body: string(reqs[2].body)}.JSON(t, &n)
	if n.AlertID != 2 || n.Type != "LOW_STOCK" || n.SiteID != "s1" || n.City != "Bangalore" {
		t.Fatalf("payload %+v", n)
	}
}

func TestAlertWebhook_GivesUpAfterMaxAttempts(t *testing.T) {
	c := newCentral(t).withWebhooksAllowed()
	rv := &receiver{failures: 1000}
	hook := httptest.NewServer(rv)
	defer hook.Close()
	r := c.Do("POST", "/alerts/subscribe", c.Token(auth.RoleAdmin), hqapi.AlertSubscriptionIn{URL: hook.URL})
	var sub hqapi.AlertSubscription
	r.JSON(t, &sub)
	at := t0.Add(-time.Hour)
	apply(t, c.Store, "s2", "Europe/Berlin", 8, ev{envelope.KindAlert, at, envelope.Alert{AlertID: 5, MachineID: "M2", Type: "OUT_OF_STOCK", Status: "OPEN", OpenedAt: at}})
	d := webhook.New(webhook.Config{Queue: c.Store.Webhooks(), AllowPrivate: true, Interval: 10 * time.Millisecond,
		BaseDelay: 5 * time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxAttempts: 3})
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	testkit.CheckFor(t, 10*time.Second, func() error {
		var log hqapi.WebhookDeliveryList
		c.Do("GET", "/alerts/subscriptions/"+sub.ID+"/deliveries", c.Token(auth.RoleAdmin), nil).JSON(t, &log)
		if len(log.Deliveries) != 1 || log.Deliveries[0].State != "FAILED" || len(log.Deliveries[0].Attempts) != 3 {
			return fmt.Errorf("deliveries %+v", log.Deliveries)
		}
		return nil
	})
	// A failed delivery is not retried any more.
	if err := d.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(rv.requests()); got != 3 {
		t.Fatalf("receiver saw %d requests, want 3", got)
	}
}

func TestAlertSubscribe_RefusesBadInputAndOthersSubscriptions(t *testing.T) {
	c := newCentral(t)
	ops := c.Token(auth.RoleOps)
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"no url", hqapi.AlertSubscriptionIn{}, "url"},
		{"ftp", hqapi.AlertSubscriptionIn{URL: "ftp://hooks.example.com/x"}, "url"},
		{"loopback", hqapi.AlertSubscriptionIn{URL: "http://127.0.0.1:9/x"}, "url"},
		{"metadata", hqapi.AlertSubscriptionIn{URL: "http://169.254.169.254/"}, "url"},
		{"empty filter value", hqapi.AlertSubscriptionIn{URL: "https://hooks.example.com/", SiteIDs: []string{""}}, "siteIds[0]"},
		{"unknown field", `{"url":"https://hooks.example.com/","topic":"x"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do("POST", "/alerts/subscribe", ops, tt.body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", r.Status, r.Body)
			}
			if e := r.Error(t); tt.field != "" && e.Field != tt.field {
				t.Fatalf("field %q, want %q", e.Field, tt.field)
			}
		})
	}

	r := c.Do("POST", "/alerts/subscribe", ops, hqapi.AlertSubscriptionIn{URL: "https://hooks.example.com/a"})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var sub hqapi.AlertSubscription
	r.JSON(t, &sub)
	// Another client neither sees nor ends it; ADMIN sees it.
	fin := c.Token(auth.RoleFinance)
	if r := c.Do("GET", "/alerts/subscriptions/"+sub.ID+"/deliveries", fin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("other client's deliveries: %d", r.Status)
	}
	if r := c.Do("DELETE", "/alerts/subscriptions/"+sub.ID, fin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("other client's delete: %d", r.Status)
	}
	var list hqapi.AlertSubscriptionList
	c.Do("GET", "/alerts/subscriptions", fin, nil).JSON(t, &list)
	if len(list.Subscriptions) != 0 {
		t.Fatalf("finance lists %+v", list.Subscriptions)
	}
	c.Do("GET", "/alerts/subscriptions", c.Token(auth.RoleAdmin), nil).JSON(t, &list)
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].Secret != "" {
		t.Fatalf("admin lists %+v (secret must not be shown again)", list.Subscriptions)
	}
	if r := c.Do("DELETE", "/alerts/subscriptions/"+sub.ID, ops, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := c.Do("DELETE", "/alerts/subscriptions/"+sub.ID, ops, nil); r.Status != http.StatusNotFound {
		t.Fatalf("delete again: %d", r.Status)
	}
	if r := c.Do("POST", "/alerts/subscribe", "", hqapi.AlertSubscriptionIn{URL: "https://hooks.example.com/a"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.Status)
	}
}
