package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// buildBumped builds the binary with the envelope version one above this
// build's, as the next release would be, and returns its path.
func buildBumped(t *testing.T) (bin string, v int) {
	t.Helper()
	v = envelope.Version + 1
	bin = filepath.Join(t.TempDir(), "vendsync-next")
	ldflags := fmt.Sprintf("-X github.com/vendsync/vendsync/sync/envelope.buildVersion=%d -X main.version=next-v%d", v, v)
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build the bumped binary: %v\n%s", err, out)
	}
	return bin, v
}

// sitesJSON is `vendsync query sites --format json`, by site.
func sitesJSON(t *testing.T, hq, creds string) map[string]hqapi.Freshness {
	t.Helper()
	var l hqapi.FreshnessList
	out := run(t, "query", "sites", "--central", hq, "--credentials", creds, "--format", "json")
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("query sites json: %v\n%s", err, out)
	}
	got := map[string]hqapi.Freshness{}
	for _, f := range l.Sites {
		got[f.SiteID] = f
	}
	return got
}

// TestE2E_MixedVersionFleet rolls out a new envelope version the way an
// operator would get it wrong first: a site runs the next build while
// central still runs this one. The new site keeps selling and keeps its
// outbox (central cannot read it), the old site syncs as usual, and HQ sees
// every site's versions. Once central runs the next build too, the waiting
// site drains on its own and the totals are exact.
func TestE2E_MixedVersionFleet(t *testing.T) {
	next, nextV := buildBumped(t)
	work := t.TempDir()
	centralDir := filepath.Join(work, "central")
	hqCreds := filepath.Join(centralDir, "admin-credentials.json")
	ports := testkit.FreePorts(t, 2)
	centralArgs := []string{"central", "run", "--dir", centralDir,
		"--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--leaf", fmt.Sprintf("127.0.0.1:%d", ports[1])}

	cen := start(t, centralArgs...)
	m := cen.expect(t, `HQ API (https://\S+), sites connect to (nats-leaf://\S+); fleet CA certificate (\S+)`, 60*time.Second)
	hq, leaf := m[1], m[2]
	t.Setenv("VENDSYNC_CA", m[3])

	sites := map[string]*e2eSite{}
	for _, s := range []struct {
		id, bin string
	}{{"old-site", binary}, {"new-site", next}} {
		dir := filepath.Join(work, s.id)
		run(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", s.id, "--city", "Berlin",
			"--timezone", "Europe/Berlin", "--hub", leaf, "--http", "127.0.0.1:0", "--out", dir)
		id := s.id + "-m1"
		run(t, "provision", "machine", "--dir", dir, "--machine", id, "--city", "Berlin", "--building", "HQ",
			"--payment-methods", "CASH,CARD", "--out-dir", filepath.Join(dir, "machines"))
		p := startBin(t, s.bin, "edge", "run", "--config", filepath.Join(dir, provision.ConfigFile))
		url := p.expect(t, `edge \S+ listening on (https://\S+)`, 30*time.Second)[1]
		site := &e2eSite{id: s.id, dir: dir, url: url, proc: p, machines: map[string]*client.Edge{}}
		site.admin = newEdgeClient(t, url, filepath.Join(dir, "admin-credentials.json"), site.ca())
		price, qty := wire.Money(250), int64(100000)
		if _, err := site.admin.AddProduct(t.Context(), id, edgeapi.NewProduct{ProductID: "COLA", Name: "Cola", Price: &price, Quantity: &qty}); err != nil {
			t.Fatalf("add product to %s: %v", id, err)
		}
		site.machines[id] = newEdgeClient(t, url, filepath.Join(dir, "machines", id+".json"), site.ca())
		sites[s.id] = site
	}
	oldSite, newSite := sites["old-site"], sites["new-site"]
	oldSite.sell(t, 20, "before")
	newSite.sell(t, 25, "before") // acknowledged by the site: its outbox holds them

	converged := func(want ...*e2eSite) func() error {
		return func() error {
			got := sitesTotals(t, hq, hqCreds)
			for _, s := range want {
				if got[s.id] != [2]int64{s.tx, s.sold} {
					return fmt.Errorf("central %v, want %s %d tx %d cents", got, s.id, s.tx, s.sold)
				}
			}
			return nil
		}
	}
	testkit.CheckForEvery(t, 30*time.Second, cliPoll, converged(oldSite))

	// The new site heard central's range and waits, its outbox whole.
	testkit.CheckFor(t, 30*time.Second, func() error {
		u := syncState(t, newSite.admin)
		if !u.Uplink.WaitingForCentral || u.Uplink.CentralReads != envelope.Version || u.Uplink.EnvelopeVersion != nextV {
			return fmt.Errorf("new site's uplink %+v: want waiting, central reads %d, site at %d", u.Uplink, envelope.Version, nextV)
		}
		return nil
	})
	// HQ sees both sites' versions (from their heartbeats).
	testkit.CheckForEvery(t, 30*time.Second, cliPoll, func() error {
		got := sitesJSON(t, hq, hqCreds)
		o, n := got[oldSite.id], got[newSite.id]
		if o.EnvelopeVersion != envelope.Version || o.BinaryVersion != "dev" || n.EnvelopeVersion != nextV || n.BinaryVersion != fmt.Sprintf("next-v%d", nextV) {
			return fmt.Errorf("GET /sites versions: old %q/%d, new %q/%d", o.BinaryVersion, o.EnvelopeVersion, n.BinaryVersion, n.EnvelopeVersion)
		}
		return nil
	})
	if out := run(t, "query", "sites", "--central", hq, "--credentials", hqCreds, "--format", "csv"); !strings.Contains(out, fmt.Sprintf("next-v%d,%d", nextV, nextV)) {
		t.Fatalf("query sites csv shows no version of the new site:\n%s", out)
	}
	// Give a wrong forwarder time to send, then check central has nothing of
	// the new site and the site still holds every event.
	oldSite.sell(t, 5, "during")
	testkit.CheckForEvery(t, 30*time.Second, cliPoll, converged(oldSite))
	if got := sitesTotals(t, hq, hqCreds)[newSite.id]; got != [2]int64{} {
		t.Fatalf("central counted the new site's sales it cannot read: %v", got)
	}
	if u := syncState(t, newSite.admin); u.Outbox.AckedSeq != 0 || u.Outbox.Depth < uint64(newSite.tx) {
		t.Fatalf("new site's outbox %+v: want nothing acknowledged and at least %d events kept", u.Outbox, newSite.tx)
	}

	// Central is upgraded in place: the waiting site drains on its own.
	cen.stop(t)
	cen = startBin(t, next, centralArgs...)
	cen.expect(t, `HQ API (https://\S+)`, 60*time.Second)
	newSite.sell(t, 10, "after")
	oldSite.sell(t, 10, "after")
	testkit.CheckForEvery(t, 60*time.Second, cliPoll, converged(oldSite, newSite))
	testkit.CheckFor(t, 30*time.Second, func() error {
		u := syncState(t, newSite.admin)
		if u.Uplink.WaitingForCentral || u.Outbox.Depth != 0 {
			return fmt.Errorf("new site after the upgrade: uplink %+v, outbox %+v", u.Uplink, u.Outbox)
		}
		return nil
	})
	// Exactly once: the totals stay exact after every batch is settled.
	if got := sitesTotals(t, hq, hqCreds); got[newSite.id] != [2]int64{newSite.tx, newSite.sold} || got[oldSite.id] != [2]int64{oldSite.tx, oldSite.sold} {
		t.Fatalf("central totals %v after the drain", got)
	}
}
