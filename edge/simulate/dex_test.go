package simulate_test

import (
	"context"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/simulate"
	"github.com/vendsync/vendsync/internal/auth"
)

// TestRun_DEXFindsTheDroppedSales runs the simulator against a real edge
// with the machines' DEX meters on and a share of sales dropped (vended and
// counted by the machine, never sent): the edge's reconciliations of the
// uploaded reads find exactly the dropped units, and the edge's ledger
// holds exactly the sales that were sent.
func TestRun_DEXFindsTheDroppedSales(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{})
	admin := s.Client(auth.RoleAdmin, "")
	cfg := simulate.DefaultConfig()
	cfg.EdgeURL, cfg.ClientID, cfg.ClientSecret = s.URL(), admin.ClientID, admin.ClientSecret
	cfg.HTTPClient = s.HTTP
	cfg.Machines, cfg.Products = 3, 4
	cfg.Seasonality, cfg.Timezone = simulate.FlatSeasonality(), time.UTC
	cfg.SalesPerMinute = 3000
	cfg.TelemetryEvery, cfg.FaultProbability, cfg.ReplayProbability = 0, 0, 0
	cfg.RestockDelay = 0
	cfg.Duration = 1500 * time.Millisecond
	cfg.DEX, cfg.DropProbability = true, 0.2
	st, err := simulate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped == 0 || st.SalesAccepted == 0 {
		t.Fatalf("stats = %+v: want some dropped and some accepted sales", st)
	}
	if st.DEXReads < 2*int64(cfg.Machines) {
		t.Fatalf("%d DEX reads, want at least a first and a last one per machine", st.DEXReads)
	}
	if st.Unreported != st.Dropped {
		t.Fatalf("reconciliations found %d unreported units, %d were dropped", st.Unreported, st.Dropped)
	}
	unreported := edgetest.Count(t, s.DB(), `SELECT COALESCE(SUM(detail ->> '$.unreportedCount'), 0) FROM reconciliations`)
	missing := edgetest.Count(t, s.DB(), `SELECT COALESCE(SUM(detail ->> '$.missingCount'), 0) FROM reconciliations`)
	if unreported != st.Dropped || missing != 0 {
		t.Fatalf("edge's reconciliations: %d unreported, %d missing; want %d and 0", unreported, missing, st.Dropped)
	}
	if n := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events`); n != st.SalesAccepted {
		t.Fatalf("edge holds %d sales, the simulator had %d accepted", n, st.SalesAccepted)
	}

	bad := cfg
	bad.DEX = false
	if _, err := simulate.Run(context.Background(), bad); err == nil {
		t.Fatal("DropProbability without DEX was accepted")
	}
}
