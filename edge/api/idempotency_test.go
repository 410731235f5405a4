package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
)

// A transactionId is the machine's own: another machine using the same id
// (by mistake or on purpose) neither shadows the machine's sale nor learns
// which ids it uses.
func TestSale_IdempotencyIsPerMachine(t *testing.T) {
	s := newSite(t)
	s.Machine("M2")
	s.Product("M2", "P1", 250, 100)
	m1, m2 := s.Token(auth.RoleMachine, "M1"), s.Token(auth.RoleMachine, "M2")

	// M2 posts its sale first with the id M1 is about to use.
	b := s.Do("POST", "/events/sales", m2, s.Sale("TXN-000123", "M2", "P1", 3, 750))
	if b.Status != http.StatusCreated {
		t.Fatalf("M2's sale: status %d: %s", b.Status, b.Body)
	}
	a := s.Do("POST", "/events/sales", m1, s.Sale("TXN-000123", "M1", "P1", 1, 250))
	if a.Status != http.StatusCreated {
		t.Fatalf("M1's sale under an id M2 used: status %d, want 201: %s", a.Status, a.Body)
	}
	if a.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("M1's first sale answered as a replay: %s", a.Body)
	}
	if got, want := s.Stock("M1", "P1"), int64(99); got != want {
		t.Fatalf("M1 stock = %d, want %d", got, want)
	}
	if got, want := s.Stock("M2", "P1"), int64(97); got != want {
		t.Fatalf("M2 stock = %d, want %d", got, want)
	}

	// Each machine's replay answers with its own first result.
	for _, c := range []struct {
		name  string
		tok   string
		body  map[string]any
		first edgetest.Response
	}{
		{"M1", m1, s.Sale("TXN-000123", "M1", "P1", 1, 250), a},
		{"M2", m2, s.Sale("TXN-000123", "M2", "P1", 3, 750), b},
	} {
		r := s.Do("POST", "/events/sales", c.tok, c.body, "Idempotency-Key", "TXN-000123")
		if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "true" || string(r.Body) != string(c.first.Body) {
			t.Fatalf("%s replay: %d %q %s, want the first answer %s", c.name, r.Status, r.Header.Get("Idempotent-Replayed"), r.Body, c.first.Body)
		}
	}
	// Another body under an id is still a conflict, for that machine only.
	if r := s.Do("POST", "/events/sales", m1, s.Sale("TXN-000123", "M1", "P1", 2, 500)); r.Status != http.StatusConflict || r.Error(t).Code != "IDEMPOTENCY_CONFLICT" {
		t.Fatalf("M1 other body: %d %s, want 409 IDEMPOTENCY_CONFLICT", r.Status, r.Body)
	}

	// An ADMIN batch is keyed the same way: one id at three machines is three
	// sales, and a repeat within a machine is a duplicate.
	s.Machine("M3")
	s.Product("M3", "P1", 250, 100)
	r := s.Do("POST", "/events/batch", s.AdminToken(), map[string]any{"events": []any{
		s.Sale("TXN-7", "M1", "P1", 1, 250),
		s.Sale("TXN-7", "M2", "P1", 1, 250),
		s.Sale("TXN-7", "M3", "P1", 1, 250),
		s.Sale("TXN-7", "M3", "P1", 1, 250),
		s.Sale("TXN-000123", "M3", "P1", 1, 250),
	}})
	if r.Status != http.StatusOK {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	var ans batchAnswer
	r.Decode(t, &ans)
	var got []string
	for _, res := range ans.Results {
		got = append(got, res.Status)
	}
	if want := "[ACCEPTED ACCEPTED ACCEPTED DUPLICATE ACCEPTED]"; fmt.Sprint(got) != want {
		t.Fatalf("batch = %s, want %s: %s", fmt.Sprint(got), want, r.Body)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events`), int64(6); got != want {
		t.Fatalf("sales_events = %d, want %d", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM outbox WHERE kind = 'sale'`), int64(6); got != want {
		t.Fatalf("sale outbox rows = %d, want %d", got, want)
	}
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)
}
