package tui

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/testkit"
)

// TestQueue_DeliversOnlyToItsSite: a visit goes only to its own site's edge;
// the others stay queued, untouched; an edge's SITE_MISMATCH keeps it too.
func TestQueue_DeliversOnlyToItsSite(t *testing.T) {
	mismatch := &client.Error{Status: http.StatusConflict, Code: "SITE_MISMATCH", Message: "another site"}
	tests := []struct {
		name     string
		site     string
		answers  map[string]error
		wantSent []string
		wantLeft []string
	}{
		{name: "site A's edge", site: "A", wantSent: []string{"a1", "old", "a2"}, wantLeft: []string{"b1"}},
		{name: "site B's edge", site: "B", wantSent: []string{"old", "b1"}, wantLeft: []string{"a1", "a2"}},
		{name: "site not known yet", site: "", wantSent: []string{"old"}, wantLeft: []string{"a1", "b1", "a2"}},
		{name: "the edge says another site", site: "A", answers: map[string]error{"a1": mismatch},
			wantSent: []string{"a1", "old", "a2"}, wantLeft: []string{"a1", "b1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := OpenQueue(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []struct{ id, site string }{{"a1", "A"}, {"old", ""}, {"b1", "B"}, {"a2", "A"}} {
				r := Restock{MachineID: "M1", Restock: edgeapi.Restock{MovementID: e.id, SiteID: e.site, Items: []edgeapi.RestockItem{{ProductID: "P", Added: 1}}}}
				if err := q.Add(r, t0); err != nil {
					t.Fatal(err)
				}
			}
			var sent []string
			if _, err := q.Deliver(tc.site, func(r Restock) error { sent = append(sent, r.MovementID); return tc.answers[r.MovementID] }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sent, tc.wantSent) {
				t.Fatalf("sent %v, want %v", sent, tc.wantSent)
			}
			left := []string{}
			for _, p := range q.Items() {
				left = append(left, p.Restock.MovementID)
				if p.Error != "" {
					t.Fatalf("%s marked refused: %s", p.Restock.MovementID, p.Error)
				}
			}
			if !reflect.DeepEqual(left, tc.wantLeft) {
				t.Fatalf("left %v, want %v", left, tc.wantLeft)
			}
		})
	}
}

// modelAt is a model on dir talking to central and to the edge at edgeURL
// with creds, its clock at now.
func (w *world) modelAt(dir, edgeURL string, creds edge.Credentials, now time.Time, retry time.Duration) (*model, *Queue) {
	w.t.Helper()
	q, err := OpenQueue(dir)
	if err != nil {
		w.t.Fatal(err)
	}
	cc := client.Credentials{ClientID: creds.ClientID, ClientSecret: creds.ClientSecret}
	c := NewHTTPClient(w.central.URL, edgeURL, w.driverCreds(), cc, 5*time.Second, nil)
	n := 0
	m := newModel(deps{client: c, queue: q, edgeURL: edgeURL, cacheDir: dir, exportDir: dir, now: func() time.Time { return now }, retryEvery: retry, loc: time.UTC,
		newID: func() string { n++; return "visit-" + strings.Repeat("y", n) }})
	return m, q
}

// TestDriver_QueuedVisitStaysWithItsSite (issue 9 item 6): a visit queued
// at one site is not delivered to another site's machine of the same id
// when the app is next started against that site's edge; back at its own
// site it is delivered once.
func TestDriver_QueuedVisitStaysWithItsSite(t *testing.T) {
	w := newWorld(t)
	a := w.site
	dir := t.TempDir()
	m, q := w.model(dir, 100*time.Millisecond)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(130, 30))
	keys(tm, "tab")
	waitFor(t, tm, "Machines at site test-site", "M1")
	keys(tm, "enter")
	waitFor(t, tm, "Sandwich")
	keys(tm, "enter")
	waitFor(t, tm, "NEW EXPIRY")
	a.Close()
	keys(tm, "A", "enter", "y")
	waitFor(t, tm, "queued", "pending 1")
	// Leaving the machine queues its visit record (proof of service) too.
	keys(tm, "esc")
	waitFor(t, tm, "visit of M1 queued", "pending 2")
	keys(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if got := q.Items(); len(got) != 2 || got[0].Restock.SiteID != "test-site" || got[0].Restock.PerformedAt != t0.Format(time.RFC3339) ||
		got[1].Restock.SiteID != "test-site" || got[1].Restock.Visit == nil {
		t.Fatalf("queue = %+v, want a restock and a visit record bound to test-site at %s", got, t0.Format(time.RFC3339))
	}

	// Another site with a machine of the same id and the same products.
	b := edgetest.Start(t, edgetest.Options{Site: "site-b", Clock: edgetest.NewClock(t0), Configure: func(c *edge.Config) { c.TokenTTL = 24 * time.Hour }})
	b.Machine("M1")
	for _, p := range []string{"P1", "P2", "P3"} {
		b.Product("M1", p, 100, 5)
	}
	bCreds := b.Client(auth.RoleDriver, "")
	m2, q2 := w.modelAt(dir, b.URL(), bCreds, t0, 100*time.Millisecond)
	tm2 := teatest.NewTestModel(t, m2, teatest.WithInitialTermSize(130, 30))
	keys(tm2, "tab")
	waitFor(t, tm2, "Machines at site site-b", "edge online", "pending 0", "other sites 2", "kept for site test-site")
	// Several retry ticks pass: still nothing delivered to site-b.
	testkit.Consistently(t, time.Second, func() error {
		if n := edgetest.Count(t, b.DB(), `SELECT COUNT(*) FROM stock_movements`); n != 0 {
			return errors.New("a visit of test-site was applied at site-b")
		}
		if len(q2.Items()) != 2 {
			return errors.New("the visit left the queue")
		}
		return nil
	})
	if got := b.Stock("M1", "P1"); got != 5 {
		t.Fatalf("site-b M1/P1 = %d, want 5", got)
	}
	// Sent anyway (an app that lost its binding), site-b's edge refuses it.
	_, err := NewHTTPClient("", b.URL(), client.Credentials{}, client.Credentials{ClientID: bCreds.ClientID, ClientSecret: bCreds.ClientSecret}, 5*time.Second, nil).
		Restock(context.Background(), q2.Items()[0].Restock)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Code != "SITE_MISMATCH" {
		t.Fatalf("site-b answered %v, want SITE_MISMATCH", err)
	}
	keys(tm2, "q")
	tm2.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	// Back at its own site, it is delivered once.
	a.Open()
	m3, q3 := w.model(dir, 100*time.Millisecond)
	tm3 := teatest.NewTestModel(t, m3, teatest.WithInitialTermSize(130, 30))
	keys(tm3, "tab")
	waitFor(t, tm3, "delivered 2")
	testkit.Eventually(t, 15*time.Second, "the queue to empty", func() bool { return len(q3.Items()) == 0 })
	if got := a.Stock("M1", "P1"); got != 15 {
		t.Fatalf("test-site M1/P1 = %d, want 15", got)
	}
	keys(tm3, "q")
	tm3.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestDriver_WorksFromCacheWithEdgeDown (issue 13): after a restart with
// the edge stopped, the site's machines come from the cache, a machine's
// products from the edge's last answer or else central's route, a count is
// queued with the time it was taken, and delivered later it is applied as
// of that time: the sales made since still count.
func TestDriver_WorksFromCacheWithEdgeDown(t *testing.T) {
	w := newWorld(t)
	s := w.site
	dir := t.TempDir()
	m, _ := w.model(dir, time.Hour)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(130, 30))
	waitFor(t, tm, "test-site", "central online")
	keys(tm, "tab")
	waitFor(t, tm, "Machines at site test-site", "M2")
	keys(tm, "enter")
	waitFor(t, tm, "Sandwich")
	keys(tm, "esc", "tab", "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	s.Close()
	m2, q := w.model(dir, time.Hour)
	tm2 := teatest.NewTestModel(t, m2, teatest.WithInitialTermSize(130, 30))
	keys(tm2, "tab")
	waitFor(t, tm2, "Machines at site test-site", "edge unreachable — working from cache of 12:00; 0 visits queued", "M1", "M2", "edge offline")
	// M2 was never opened: its products come from central's route.
	keys(tm2, "down", "enter")
	waitFor(t, tm2, "Machine M2", "Cola")
	keys(tm2, "esc", "up", "enter")
	waitFor(t, tm2, "Machine M1", "Sandwich", "Chips")
	// Count M1/P1 (Cola): 9 on the shelf; nothing added.
	keys(tm2, "enter")
	waitFor(t, tm2, "NEW EXPIRY")
	// Nothing is prefilled: a count-only visit is tab to COUNTED and the number.
	keys(tm2, "tab", "tab", "tab", "9", "enter")
	waitFor(t, tm2, "send this restock")
	keys(tm2, "y")
	waitFor(t, tm2, "restock of M1 queued", "1 visit queued")
	if got := q.Items(); len(got) != 1 || got[0].Restock.SiteID != "test-site" {
		t.Fatalf("queue = %+v", got)
	}

	// The edge comes back; three Colas are sold before the visit arrives.
	s.Open()
	tok := s.Token(auth.RoleMachine, "M1")
	for i, d := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
		s.Clock.Set(t0.Add(d))
		if r := s.Do("POST", "/events/sales", tok, s.Sale("tx-after-"+string(rune('a'+i)), "M1", "P1", 1, 150)); r.Status != http.StatusCreated {
			t.Fatalf("sale: %d %s", r.Status, r.Body)
		}
	}
	s.Clock.Set(t0.Add(5 * time.Minute))
	// Leaving M1 makes its visit record: sent with the queued count.
	keys(tm2, "esc", "r")
	waitFor(t, tm2, "visit of M1 recorded")
	testkit.Eventually(t, 15*time.Second, "the queue to empty", func() bool { return len(q.Items()) == 0 })
	if got, want := s.Stock("M1", "P1"), int64(6); got != want {
		t.Fatalf("M1/P1 = %d, want %d (counted 9, 3 sold after the count)", got, want)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT performed_at FROM stock_movements WHERE reason = 'COUNT'`); got != t0.UnixMilli() {
		t.Fatalf("count performed_at = %d, want %d", got, t0.UnixMilli())
	}
	keys(tm2, "q")
	tm2.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
