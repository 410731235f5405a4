package tui

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

func TestQueue_Deliver(t *testing.T) {
	refused := &client.Error{Status: http.StatusBadRequest, Code: "VALIDATION_FAILED", Message: "no"}
	down := fmt.Errorf("POST /x: %w", client.ErrUnreachable)
	busy := &client.Error{Status: 503, Code: "NOT_READY", Message: "starting"}
	tests := []struct {
		name string
		// answers by movement id (missing: accepted)
		answers       map[string]error
		wantSent      []string
		wantDelivered int
		wantErr       error
		wantLeft      []string // movement ids left, in order
		wantPending   int
	}{
		{name: "all accepted", wantSent: []string{"a", "b", "c"}, wantDelivered: 3, wantLeft: []string{}},
		{name: "unreachable stops delivery and keeps order", answers: map[string]error{"b": down},
			wantSent: []string{"a", "b"}, wantDelivered: 1, wantErr: client.ErrUnreachable, wantLeft: []string{"b", "c"}, wantPending: 2},
		{name: "a refusal is kept aside and the rest go on", answers: map[string]error{"a": refused},
			wantSent: []string{"a", "b", "c"}, wantDelivered: 2, wantLeft: []string{"a"}, wantPending: 0},
		{name: "server errors are retried", answers: map[string]error{"a": busy},
			wantSent: []string{"a"}, wantDelivered: 0, wantErr: busy, wantLeft: []string{"a", "b", "c"}, wantPending: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := OpenQueue(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"a", "b", "c"} {
				if err := q.Add(Restock{MachineID: "M" + id, Restock: edgeapi.Restock{MovementID: id, Items: []edgeapi.RestockItem{{ProductID: "P", Added: 1}}}}, t0); err != nil {
					t.Fatal(err)
				}
			}
			var sent []string
			n, err := q.Deliver("", func(r Restock) error {
				if r.MachineID != "M"+r.MovementID {
					t.Fatalf("restock %s for machine %q", r.MovementID, r.MachineID)
				}
				sent = append(sent, r.MovementID)
				return tc.answers[r.MovementID]
			})
			if !reflect.DeepEqual(sent, tc.wantSent) {
				t.Fatalf("sent %v, want %v", sent, tc.wantSent)
			}
			if n != tc.wantDelivered {
				t.Fatalf("delivered %d, want %d", n, tc.wantDelivered)
			}
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			// What is left is on disk: a reopened queue holds the same.
			q2, err := OpenQueue(dir)
			if err != nil {
				t.Fatal(err)
			}
			left := []string{}
			for _, p := range q2.Items() {
				left = append(left, p.Restock.MovementID)
				if p.Restock.MachineID != p.Machine {
					t.Fatalf("reopened entry %s lost its machine", p.Restock.MovementID)
				}
			}
			if !reflect.DeepEqual(left, tc.wantLeft) {
				t.Fatalf("left %v, want %v", left, tc.wantLeft)
			}
			if got := q2.Pending(); got != tc.wantPending {
				t.Fatalf("pending %d, want %d", got, tc.wantPending)
			}
		})
	}
}

// TestHTTPClient_TokenReused: one sign-in serves many requests until the
// token expires; then the client signs in again.
func TestHTTPClient_TokenReused(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	c := NewHTTPClient(w.central.URL, w.edgeURL(), w.driverCreds(), w.driverCreds(), 5*time.Second, nil)
	c.Now = func() time.Time { return now }
	before := edgeTokens(t, w)
	for i := 0; i < 3; i++ {
		if _, err := c.Machines(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := edgeTokens(t, w) - before; got != 1 {
		t.Fatalf("%v sign-ins for 3 requests, want 1", got)
	}
	now = now.Add(24 * time.Hour)
	if _, err := c.Machines(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := edgeTokens(t, w) - before; got != 2 {
		t.Fatalf("%v sign-ins after expiry, want 2", got)
	}
	// A wrong secret is an API error shown as such, not "unreachable".
	bad := NewHTTPClient(w.central.URL, w.edgeURL(), w.driverCreds(), client.Credentials{ClientID: w.creds.ClientID, ClientSecret: "nope"}, 5*time.Second, nil)
	_, err := bad.Machines(t.Context())
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Code != "INVALID_CLIENT" || client.Retryable(err) {
		t.Fatalf("err = %v, want INVALID_CLIENT, not retryable", err)
	}
}

// edgeTokens counts the edge's successful sign-ins.
func edgeTokens(t *testing.T, w *world) float64 {
	t.Helper()
	return edgetest.Metric(t, w.site.URL(), "vendsync_edge_http_requests_total", map[string]string{"route": "POST /auth/token", "code": "200"})
}
