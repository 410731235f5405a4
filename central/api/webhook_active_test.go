package api_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/webhook"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestAlertWebhook_OnlyTheActiveDispatcherSends: in a cluster every node
// holds the same deliveries; a dispatcher that is not active (not the
// HQ_LOG leader) sends none of them, the active one sends each once.
func TestAlertWebhook_OnlyTheActiveDispatcherSends(t *testing.T) {
	c := newCentral(t).withWebhooksAllowed()
	rv := &receiver{}
	hook := httptest.NewServer(rv)
	defer hook.Close()
	r := c.Do("POST", "/alerts/subscribe", c.Token(auth.RoleAdmin), hqapi.AlertSubscriptionIn{URL: hook.URL})
	var sub hqapi.AlertSubscription
	r.JSON(t, &sub)
	at := t0.Add(-time.Hour)
	apply(t, c.Store, "s3", "Europe/Berlin", 8, ev{envelope.KindAlert, at, envelope.Alert{AlertID: 7, MachineID: "M3", Type: "OUT_OF_STOCK", Status: "OPEN", OpenedAt: at}})
	ctx := context.Background()
	cfg := webhook.Config{Queue: c.Store.Webhooks(), AllowPrivate: true, Active: func(context.Context) bool { return false }}
	if err := webhook.New(cfg).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(rv.requests()); got != 0 {
		t.Fatalf("an inactive dispatcher sent %d requests", got)
	}
	cfg.Active = func(context.Context) bool { return true }
	if err := webhook.New(cfg).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(rv.requests()); got != 1 {
		t.Fatalf("the active dispatcher sent %d requests, want 1", got)
	}
}
