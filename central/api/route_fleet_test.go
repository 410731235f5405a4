package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
	"github.com/vendsync/vendsync/sync/envelope"
)

// perMachine hides the Store's FleetSource methods, so CandidatesAt takes
// its query-per-site-and-machine path.
type perMachine struct{ s *readmodel.Store }

func (p perMachine) Sites(ctx context.Context) ([]readmodel.Freshness, error) { return p.s.Sites(ctx) }
func (p perMachine) Alerts(ctx context.Context, f readmodel.AlertFilter) ([]readmodel.Alert, error) {
	return p.s.Alerts(ctx, f)
}
func (p perMachine) Machine(ctx context.Context, site, id string) (readmodel.Machine, error) {
	return p.s.Machine(ctx, site, id)
}
func (p perMachine) SiteMachines(ctx context.Context, site string) ([]string, error) {
	return p.s.SiteMachines(ctx, site)
}
func (p perMachine) LastRestocks(ctx context.Context, site string) (map[string]time.Time, error) {
	return p.s.LastRestocks(ctx, site)
}

// The fleet-wide loading path ranks exactly as the per-machine one: same
// sites, machines, slots, reasons and last visits.
func TestRouteCandidates_FleetLoadMatchesPerMachine(t *testing.T) {
	c := newCentral(t)
	restock := t0.Add(-72 * time.Hour)
	apply(t, c.Store, "s2", "Europe/Berlin", 100, ev{envelope.KindStock, restock, envelope.StockMovement{
		MachineID: "M2", ProductID: "P1", Delta: 5, Reason: "RESTOCK", By: "driver"}})
	if _, ok := any(c.Store).(route.FleetSource); !ok {
		t.Fatal("*readmodel.Store does not implement route.FleetSource")
	}
	ctx := context.Background()
	fast, err := route.CandidatesAt(ctx, c.Store, t0)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := route.CandidatesAt(ctx, perMachine{c.Store}, t0)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fast)
	b, _ := json.Marshal(slow)
	if string(a) != string(b) {
		t.Fatalf("fleet path:\n%s\nper-machine path:\n%s", a, b)
	}
	if len(fast) < 2 {
		t.Fatalf("want at least 2 candidates (s1's low stock, s2's visit age), got %s", a)
	}
	var sawVisit bool
	for _, cand := range fast {
		sawVisit = sawVisit || (cand.Site == "s2" && cand.LastVisit != nil && cand.LastVisit.Equal(restock))
	}
	if !sawVisit {
		t.Fatalf("s2's last restock at %v is not on its candidate: %s", restock, a)
	}
}
