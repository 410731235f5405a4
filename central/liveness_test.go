package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
)

// hqClient is an HQ client with the node's own admin credential.
func hqClient(t *testing.T, n *central.Node) *client.HQ {
	t.Helper()
	creds, err := client.ReadCredentials(filepath.Join(n.Dir(), central.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	hq, err := client.NewHQ(n.URL(), creds, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return hq
}

// siteState is a site's freshness in GET /sites and its row in GET
// /routes/candidates (nil when it has none).
func siteState(t *testing.T, hq *client.HQ, id string) (hqapi.Freshness, *hqapi.Candidate) {
	t.Helper()
	ctx := context.Background()
	fs, err := hq.Sites(ctx)
	if err != nil {
		t.Fatalf("GET /sites: %v", err)
	}
	var f hqapi.Freshness
	for _, x := range fs {
		if x.SiteID == id {
			f = x
		}
	}
	if f.SiteID == "" {
		t.Fatalf("GET /sites: no %s in %+v", id, fs)
	}
	cs, err := hq.RouteCandidates(ctx)
	if err != nil {
		t.Fatalf("GET /routes/candidates: %v", err)
	}
	for _, c := range cs {
		if c.Site == id {
			return f, &c
		}
	}
	return f, nil
}

func offlineReason(c *hqapi.Candidate) bool {
	if c == nil {
		return false
	}
	for _, r := range c.Reasons {
		if r.Code == hqapi.ReasonSiteOffline {
			return true
		}
	}
	return false
}

// TestFleet_LivenessTellsOfflineFromIdle: a connected site that sends
// nothing stays connected and fresh however long it is idle; a site whose
// link is cut reads disconnected (since its last heartbeat) within the
// heartbeat timeout, stale after --stale-after, and flagged offline on the
// driver's route; when the link returns it reads connected again.
func TestFleet_LivenessTellsOfflineFromIdle(t *testing.T) {
	const (
		timeout    = time.Second
		staleAfter = 2 * time.Second
	)
	c := fleet.StartCentral(t, t.TempDir(), func(cfg *central.Config) {
		cfg.HeartbeatTimeout, cfg.StaleAfter = timeout, staleAfter
	})
	defer c.Close()
	link := testkit.NewLink(t, c.Hub.LeafURL())
	sp := fleet.SiteSpec{ID: "lv", City: "Lyon", Timezone: "Europe/Paris", Machines: 1, Products: 1,
		HubURL: link.URL(), HeartbeatEvery: 100 * time.Millisecond}
	s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
	defer s.Close()
	s.Sell(t, "a", 5, time.Hour)
	fleet.WaitSynced(t, c, s, time.Minute)
	hq := hqClient(t, c)

	// Idle, connected: longer than staleAfter without a batch, never stale.
	var connectedSince time.Time
	testkit.CheckFor(t, time.Minute, func() error {
		f, cand := siteState(t, hq, s.ID)
		if !f.Connected || f.Since == nil || f.Stale || offlineReason(cand) {
			return fmt.Errorf("idle site: connected %v since %v stale %v, candidate %+v; want connected, not stale, not offline", f.Connected, f.Since, f.Stale, cand)
		}
		connectedSince = *f.Since
		if f.SecondsSinceContact == nil || time.Duration(*f.SecondsSinceContact)*time.Second <= staleAfter {
			return fmt.Errorf("last batch %v s ago, waiting for more than %v", f.SecondsSinceContact, staleAfter)
		}
		return nil
	})

	// Offline: disconnected within the timeout, since its last heartbeat.
	link.Cut()
	cut := time.Now() // every heartbeat central heard came before
	testkit.CheckFor(t, 10*timeout, func() error {
		f, cand := siteState(t, hq, s.ID)
		if f.Connected || f.Since == nil {
			return fmt.Errorf("cut site: connected %v since %v; want disconnected", f.Connected, f.Since)
		}
		if f.Since.After(cut) || f.Since.Before(connectedSince) {
			t.Fatalf("disconnected since %v: want the last heartbeat, between %v and the cut at %v", f.Since, connectedSince, cut)
		}
		if cand != nil && !cand.Connected && cand.Since != nil && offlineReason(cand) {
			return nil
		}
		return fmt.Errorf("route candidate %+v: want it flagged SITE_OFFLINE, not connected", cand)
	})
	testkit.CheckFor(t, 10*staleAfter, func() error {
		if f, _ := siteState(t, hq, s.ID); !f.Stale {
			return fmt.Errorf("disconnected since %v: not stale yet", f.Since)
		}
		return nil
	})

	// Back: connected again, since after the link returned.
	back := time.Now()
	link.Restore("")
	testkit.CheckFor(t, time.Minute, func() error {
		f, cand := siteState(t, hq, s.ID)
		if !f.Connected || f.Since == nil || f.Since.Before(back) || f.Stale || offlineReason(cand) {
			return fmt.Errorf("restored site: connected %v since %v stale %v candidate %+v", f.Connected, f.Since, f.Stale, cand)
		}
		return nil
	})
}
