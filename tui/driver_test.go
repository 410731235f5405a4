package tui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/testkit"
)

// TestDriver_RouteToPickListToRestock walks a driver's day: the route from
// central, a pick list (exported, golden), then at the site a restock of M1
// that changes its stock and closes its alerts at the edge and, after sync,
// at central.
func TestDriver_RouteToPickListToRestock(t *testing.T) {
	w := newWorld(t)
	s := w.site
	if got := s.OpenAlerts("M1", "P1") + "|" + s.OpenAlerts("M1", "P2") + "|" + s.OpenAlerts("M1", "P3"); got != "LOW_STOCK|OUT_OF_STOCK|EXPIRED" {
		t.Fatalf("setup alerts = %q", got)
	}
	dir := t.TempDir()
	m, q := w.model(dir, time.Hour)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(130, 30))

	// Depot: the route shows the site and why.
	waitFor(t, tm, "test-site", "1 out of stock", "1 low stock", "1 expired", "central online")
	keys(tm, " ", "p")
	waitFor(t, tm, "Pick list", "TOTAL")
	keys(tm, "e")
	waitFor(t, tm, "exported")
	txt, err := os.ReadFile(filepath.Join(dir, "picklist.txt"))
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "picklist.csv"))
	if err != nil {
		t.Fatal(err)
	}
	golden.RequireEqual(t, append(append(txt, "\n--- picklist.csv ---\n"...), csv...))
	if _, err := os.Stat(filepath.Join(dir, pickFile)); err != nil {
		t.Fatalf("pick list not cached: %v", err)
	}

	// Site: machines, M1's products, the restock form with the pick list's
	// suggestions taken (A); remove the 4 expired sandwiches and give the
	// new expiry.
	keys(tm, "tab")
	waitFor(t, tm, "Machines at site", "M1", "EXPIRED")
	keys(tm, "enter")
	waitFor(t, tm, "Sandwich", "2025-03-01")
	keys(tm, "enter")
	waitFor(t, tm, "NEW EXPIRY")
	keys(tm, "A", "down", "down", "tab", "4", "tab", "tab", "tab", "2025-06-01", "enter")
	waitFor(t, tm, "send this restock")
	keys(tm, "y")
	waitFor(t, tm, "restocked M1")

	for _, c := range []struct {
		p      string
		stock  int64
		alerts string
	}{{"P1", 15, ""}, {"P2", 8, ""}, {"P3", 6, ""}} {
		if got := s.Stock("M1", c.p); got != c.stock {
			t.Fatalf("edge stock of M1/%s = %d, want %d", c.p, got, c.stock)
		}
		if got := s.OpenAlerts("M1", c.p); got != c.alerts {
			t.Fatalf("edge alerts of M1/%s = %q, want %q", c.p, got, c.alerts)
		}
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM audit_logs WHERE action = 'RESTOCK' AND performed_by = ?`, w.creds.ClientID); got != 3 {
		t.Fatalf("%d RESTOCK audit rows by the driver, want 3", got)
	}
	if q.Pending() != 0 {
		t.Fatalf("pending = %d after a delivered restock", q.Pending())
	}

	// After sync, central sees the new stock and the site drops off the route.
	w.sync()
	cm, err := w.rm.Machine(context.Background(), "", "M1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cm.Products {
		if want := map[string]int64{"P1": 15, "P2": 8, "P3": 6}[p.ProductID]; p.Quantity != want {
			t.Fatalf("central stock of M1/%s = %d, want %d", p.ProductID, p.Quantity, want)
		}
	}
	keys(tm, "tab", "r")
	waitFor(t, tm, "nothing needs a visit")

	keys(tm, "q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*model)
	if fm.state != stateRoute {
		t.Fatalf("final state = %v", fm.state)
	}
}

// TestDriver_QueuesWhileEdgeDown: a restock confirmed while the edge is down
// is queued on disk, shown as pending, and delivered exactly once when the
// edge comes back on the same directory.
func TestDriver_QueuesWhileEdgeDown(t *testing.T) {
	w := newWorld(t)
	s := w.site
	dir := t.TempDir()
	m, q := w.model(dir, 100*time.Millisecond)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(130, 30))
	keys(tm, "tab")
	waitFor(t, tm, "M1")
	keys(tm, "enter")
	waitFor(t, tm, "Sandwich")
	keys(tm, "enter")
	waitFor(t, tm, "NEW EXPIRY")

	s.Close()
	keys(tm, "A", "enter", "y")
	waitFor(t, tm, "queued", "pending 1", "edge offline")
	if got := len(q.Items()); got != 1 {
		t.Fatalf("queue holds %d restocks, want 1", got)
	}
	// The queue is on disk: a new app on the same cache dir sees it.
	q2, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := q2.Pending(); got != 1 {
		t.Fatalf("queue file holds %d pending, want 1", got)
	}
	id := q2.Items()[0].Restock.MovementID

	s.Open()
	waitFor(t, tm, "delivered 1", "pending 0")
	testkit.Eventually(t, 15*time.Second, "the queue to empty", func() bool { return q.Pending() == 0 && len(q.Items()) == 0 })
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(DISTINCT movement_id) FROM stock_movements`); got != 1 {
		t.Fatalf("%d movements at the edge, want 1", got)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM stock_movements WHERE movement_id = ? AND reason = 'RESTOCK'`, id); got != 3 {
		t.Fatalf("%d RESTOCK lines for %s, want 3", got, id)
	}
	if got := s.Stock("M1", "P1"); got != 15 {
		t.Fatalf("stock of M1/P1 = %d, want 15", got)
	}

	// A resend of the same restock (as after a crash between the edge's
	// answer and the queue write) is a replay and changes nothing.
	c := NewHTTPClient(w.central.URL, w.edgeURL(), w.driverCreds(), w.driverCreds(), 5*time.Second, nil)
	res, err := c.Restock(context.Background(), q2.Items()[0].Restock)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Replayed {
		t.Fatalf("resend was not a replay: %+v", res)
	}
	if got := s.Stock("M1", "P1"); got != 15 {
		t.Fatalf("stock after resend = %d, want 15", got)
	}
	keys(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestDriver_ShowsEdgeRefusal: an answer the edge refuses is shown, not
// queued.
func TestDriver_ShowsEdgeRefusal(t *testing.T) {
	w := newWorld(t)
	s := w.site
	dir := t.TempDir()
	m, q := w.model(dir, time.Hour)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(160, 30))
	keys(tm, "tab")
	waitFor(t, tm, "M1")
	keys(tm, "enter")
	waitFor(t, tm, "Sandwich")
	keys(tm, "enter")
	waitFor(t, tm, "NEW EXPIRY")
	// Remove all 4 sandwiches as expired; meanwhile one is sold.
	keys(tm, "down", "down", "tab", "4")
	s.Do("POST", "/events/sales", s.Token("MACHINE", "M1"), s.Sale("tx-1", "M1", "P3", 1, 200))
	keys(tm, "enter", "y")
	waitFor(t, tm, "VALIDATION_FAILED", "removedExpired")
	if got := len(q.Items()); got != 0 {
		t.Fatalf("a refused restock stayed queued: %+v", q.Items())
	}
	if got := s.Stock("M1", "P1"); got != 2 {
		t.Fatalf("a refused restock changed stock: %d", got)
	}
	keys(tm, "esc", "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestDriver_OfflineRouteFromCache: with central unreachable the cached
// route and pick list are shown.
func TestDriver_OfflineRouteFromCache(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	m, _ := w.model(dir, time.Hour)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(130, 30))
	waitFor(t, tm, "test-site")
	keys(tm, " ", "p")
	waitFor(t, tm, "TOTAL")
	// The pick list is saved by a command after it is shown: quitting at
	// once could end the program before the save ran.
	testkit.CheckFor(t, 10*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, pickFile))
		return err
	})
	keys(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if _, err := os.Stat(filepath.Join(dir, routeFile)); err != nil {
		t.Fatal(err)
	}

	w.central.Close()
	m2, _ := w.model(dir, time.Hour)
	tm2 := teatest.NewTestModel(t, m2, teatest.WithInitialTermSize(130, 30))
	waitFor(t, tm2, "central unreachable", "test-site", "central offline")
	keys(tm2, "q")
	fm := tm2.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*model)
	if fm.c.pick == nil || len(fm.c.pick.Lines) == 0 {
		t.Fatalf("cached pick list not loaded")
	}
	if v := fm.View(); !strings.Contains(v, "from cache") {
		t.Fatalf("route view does not say it is cached:\n%s", v)
	}
}
