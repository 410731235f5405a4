package stock_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
)

// A count taken offline and delivered later is the shelf as of the time it
// was taken: the sales after it still count, and the movement keeps that time.
func TestRestock_CountAppliesAsOfPerformedAt(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	s.Machine("M1")
	s.Product("M1", "P1", 100, 40)
	s.Product("M1", "P2", 100, 10)
	s.Product("M1", "P3", 100, 5)
	counted := t0.Add(10 * time.Minute)

	// One sale before the count (the count already reflects it), three after.
	s.Clock.Set(counted.Add(-time.Minute))
	must(t, s, "POST", "/events/sales", s.Sale("tx-before", "M1", "P1", 1, 100), http.StatusCreated)
	for i, d := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
		s.Clock.Set(counted.Add(d))
		must(t, s, "POST", "/events/sales", s.Sale("tx-after-"+string(rune('a'+i)), "M1", "P1", 1, 100), http.StatusCreated)
	}
	// Another product's sale after the count changes nothing of P1.
	must(t, s, "POST", "/events/sales", s.Sale("tx-other", "M1", "P2", 2, 200), http.StatusCreated)
	if got := s.Stock("M1", "P1"); got != 36 {
		t.Fatalf("setup: P1 stock = %d, want 36", got)
	}

	s.Clock.Set(counted.Add(30 * time.Minute))
	tok := s.Token(auth.RoleDriver, "")
	body := map[string]any{"movementId": "visit-asof", "siteId": s.Node.Store.Site.ID,
		"performedAt": counted.Format(time.RFC3339), "items": []map[string]any{{"productId": "P1", "countedQuantity": 30}}}
	r := s.Do("POST", "/machines/M1/restock", tok, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("restock: %d %s", r.Status, r.Body)
	}
	if got, want := s.Stock("M1", "P1"), int64(27); got != want {
		t.Fatalf("P1 stock = %d, want %d (counted 30, 3 sold after the count)", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT after FROM stock_movements WHERE movement_id = 'visit-asof'`), int64(27); got != want {
		t.Fatalf("COUNT movement after = %d, want %d", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT performed_at FROM stock_movements WHERE movement_id = 'visit-asof'`), counted.UnixMilli(); got != want {
		t.Fatalf("performed_at = %d, want %d (the time of the count, not of its delivery)", got, want)
	}
	// A replay is still a replay: same answer, nothing changes.
	again := s.Do("POST", "/machines/M1/restock", tok, body)
	if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(r.Body) {
		t.Fatalf("replay: %d %v %s", again.Status, again.Header, again.Body)
	}
	if got := s.Stock("M1", "P1"); got != 27 {
		t.Fatalf("P1 stock after replay = %d, want 27", got)
	}
	// More sold after the count than counted: the stock stops at zero.
	s.Clock.Set(counted.Add(31 * time.Minute))
	for i := range 4 {
		must(t, s, "POST", "/events/sales", s.Sale("tx-p3-"+string(rune('a'+i)), "M1", "P3", 1, 100), http.StatusCreated)
	}
	s.Clock.Set(counted.Add(40 * time.Minute))
	must(t, s, "POST", "/machines/M1/restock", map[string]any{"movementId": "visit-p3", "performedAt": counted.Add(20 * time.Minute).Format(time.RFC3339),
		"items": []map[string]any{{"productId": "P3", "countedQuantity": 2}}}, http.StatusCreated)
	if got := s.Stock("M1", "P3"); got != 0 {
		t.Fatalf("P3 stock = %d, want 0", got)
	}
	edgetest.CheckAlerts(t, s.DB())
}

// A visit queued for one site is refused by another site's edge, and a
// visit's time must be plausible.
func TestRestock_RefusesOtherSiteAndBadTimes(t *testing.T) {
	s := restockSite(t)
	tok := s.Token(auth.RoleDriver, "")
	site := s.Node.Store.Site.ID
	before := edgetest.Counts(t, s.DB())
	tests := []struct {
		name, siteID, at string
		status           int
		code, field      string
	}{
		{"another site", "SITE-ELSEWHERE", "", 409, "SITE_MISMATCH", "siteId"},
		{"bad site id", "a b", "", 400, "VALIDATION_FAILED", "siteId"},
		{"not a time", site, "yesterday", 400, "VALIDATION_FAILED", "performedAt"},
		{"in the future", site, t0.Add(time.Hour).Format(time.RFC3339), 400, "VALIDATION_FAILED", "performedAt"},
		{"too old", site, t0.Add(-8 * 24 * time.Hour).Format(time.RFC3339), 400, "VALIDATION_FAILED", "performedAt"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"movementId": "bad-" + string(rune('a'+i)), "siteId": tc.siteID, "items": []map[string]any{{"productId": "P2", "added": 1}}}
			if tc.at != "" {
				body["performedAt"] = tc.at
			}
			r := s.Do("POST", "/machines/M1/restock", tok, body)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if e := r.Error(t); e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("error = %s/%s, want %s/%s (%s)", e.Code, e.Field, tc.code, tc.field, e.Message)
			}
		})
	}
	after := edgetest.Counts(t, s.DB())
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("a refused restock changed %s: %d → %d", k, v, after[k])
		}
	}
	// Its own site, a minute ago, within the skew allowance: accepted.
	for i, at := range []time.Time{t0.Add(-time.Minute), t0.Add(time.Minute), t0.Add(-6 * 24 * time.Hour)} {
		body := map[string]any{"movementId": "ok-" + string(rune('a'+i)), "siteId": site, "performedAt": at.Format(time.RFC3339),
			"items": []map[string]any{{"productId": "P2", "added": 1}}}
		if r := s.Do("POST", "/machines/M1/restock", tok, body); r.Status != http.StatusCreated {
			t.Fatalf("own site at %s: %d %s", at, r.Status, r.Body)
		}
	}
}
