package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/wire"
)

// TestE2E_ReplaceDeadSite: a site sells and syncs, sells 50 more with its
// link cut, and dies with its disk (process killed, directory deleted). A
// new box comes up with `provision site --replace`: it has the synced
// machines and stock, is told what was lost, keeps selling with sequences
// that continue after central's, and central's totals are exact: the 50
// offline sales are gone, every new one is counted once. The old seed is
// refused.
func TestE2E_ReplaceDeadSite(t *testing.T) {
	work := t.TempDir()
	hqCreds := filepath.Join(work, "central", "admin-credentials.json")
	c := start(t, "central", "run", "--dir", filepath.Join(work, "central"), "--http", "127.0.0.1:0", "--leaf", "127.0.0.1:-1")
	m := c.expect(t, `HQ API (https://\S+), sites connect to (nats-leaf://\S+); fleet CA certificate (\S+)`, 60*time.Second)
	hq, leaf, fleetCA := m[1], m[2], m[3]
	t.Setenv("VENDSYNC_CA", fleetCA)
	link := testkit.NewLink(t, leaf)

	const id = "rep-e2e"
	ids := []string{id + "-m1", id + "-m2"}
	dir := filepath.Join(work, "old")
	run(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", id, "--city", "Pune", "--timezone", "Asia/Kolkata",
		"--hub", link.URL(), "--http", "127.0.0.1:0", "--out", dir)
	run(t, "provision", "machine", "--dir", dir, "--machine", strings.Join(ids, ","), "--city", "Pune", "--building", "B",
		"--payment-methods", "CASH,CARD", "--out-dir", filepath.Join(dir, "machines"))
	site := startSite(t, id, dir, ids)
	for _, mid := range ids {
		price, qty := wire.Money(250), int64(1000)
		if _, err := site.admin.AddProduct(t.Context(), mid, edgeapi.NewProduct{ProductID: "COLA", Name: "Cola", Price: &price, Quantity: &qty}); err != nil {
			t.Fatalf("add product to %s: %v", mid, err)
		}
	}
	site.sell(t, 20, "synced")
	synced := *site
	converged := func(want e2eSite) func() error {
		return func() error {
			if got := sitesTotals(t, hq, hqCreds)[id]; got != [2]int64{want.tx, want.sold} {
				return fmt.Errorf("central has %v, want %d tx %d cents", got, want.tx, want.sold)
			}
			return nil
		}
	}
	testkit.CheckForEvery(t, 30*time.Second, cliPoll, converged(synced))
	var lastSynced uint64
	testkit.CheckFor(t, 30*time.Second, func() error {
		s := syncState(t, site.admin)
		if s.Outbox.AckedSeq != s.Outbox.LastSeq {
			return fmt.Errorf("outbox %+v not yet acknowledged", s.Outbox)
		}
		lastSynced = s.Outbox.LastSeq
		return nil
	})
	hqc := newHQClient(t, hq, hqCreds, fleetCA)
	stock := map[string]int64{} // central's count of COLA per machine
	for _, mid := range ids {
		testkit.CheckFor(t, 30*time.Second, func() error {
			cm, err := hqc.Machine(t.Context(), id, mid)
			if err != nil {
				return err
			}
			local, err := site.admin.Inventory(t.Context(), mid)
			if err != nil {
				return err
			}
			if len(cm.Products) != 1 || cm.Products[0].Quantity != local[0].Quantity {
				return fmt.Errorf("central's stock of %s %+v, the site's %+v", mid, cm.Products, local)
			}
			stock[mid] = cm.Products[0].Quantity
			return nil
		})
	}

	// The link goes; 50 sales are made offline; then the box dies with its disk.
	link.Cut()
	site.sell(t, 25, "offline")
	if s := syncState(t, site.admin); s.Outbox.LastSeq < lastSynced+50 {
		t.Fatalf("offline outbox %+v, want at least 50 events after %d", s.Outbox, lastSynced)
	}
	oldSeed := filepath.Join(work, "old.seed")
	b, err := os.ReadFile(filepath.Join(dir, provision.LeafSeedFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldSeed, b, 0o600); err != nil {
		t.Fatal(err)
	}
	site.proc.cmd.Process.Signal(syscall.SIGKILL)
	<-site.proc.done
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	// edge init --restore-from-central rebuilds the same database (the key
	// stays as it is).
	peek := run(t, "edge", "init", "--restore-from-central", "--central", hq, "--credentials", hqCreds, "--site", id, "--dir", filepath.Join(work, "peek"))
	for _, want := range []string{"site " + id + " rebuilt from central: 2 machines", fmt.Sprintf("central last saw seq %d", lastSynced)} {
		if !strings.Contains(peek, want) {
			t.Fatalf("edge init --restore-from-central says:\n%s\nwant %q in it", peek, want)
		}
	}

	// The replacement: a new key, the database rebuilt from central.
	newDir := filepath.Join(work, "new")
	out := run(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", id, "--hub", leaf,
		"--http", "127.0.0.1:0", "--out", newDir, "--replace")
	for _, want := range []string{
		fmt.Sprintf("central last saw seq %d at ", lastSynced),
		"any sales after that are lost",
		fmt.Sprintf("outbox continues at seq %d", lastSynced+1),
		"2 machines",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("provision site --replace says:\n%s\nwant %q in it", out, want)
		}
	}
	if again, err := runErr(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", id, "--hub", leaf,
		"--out", newDir, "--replace"); err == nil || !strings.Contains(again, "already holds a site") {
		t.Fatalf("--replace into a directory with a site: err %v, out %s", err, again)
	}
	// Machines get new credentials (central never holds them).
	run(t, "provision", "machine", "--dir", newDir, "--machine", strings.Join(ids, ","), "--city", "Pune", "--building", "B",
		"--payment-methods", "CASH,CARD", "--out-dir", filepath.Join(newDir, "machines"))
	repl := startSite(t, id, newDir, ids)
	repl.sold, repl.tx = synced.sold, synced.tx
	for _, mid := range ids {
		inv, err := repl.admin.Inventory(t.Context(), mid)
		if err != nil {
			t.Fatal(err)
		}
		if len(inv) != 1 || inv[0].ProductID != "COLA" || inv[0].Quantity != stock[mid] || inv[0].Price != 250 {
			t.Fatalf("restored inventory of %s: %+v, want COLA × %d at 2.50", mid, inv, stock[mid])
		}
		ma, err := repl.admin.Machine(t.Context(), mid)
		if err != nil {
			t.Fatal(err)
		}
		if ma.Location.City != "Pune" || len(ma.PaymentMethods) != 2 {
			t.Fatalf("restored machine %+v", ma)
		}
	}
	repl.sell(t, 10, "replaced")
	testkit.CheckForEvery(t, 60*time.Second, cliPoll, converged(*repl))
	// No collision: central's watermark reaches the new box's last
	// sequence, and the new box's outbox drains.
	testkit.CheckFor(t, 30*time.Second, func() error {
		s := syncState(t, repl.admin)
		if s.Outbox.LastSeq != lastSynced+20 || s.Outbox.AckedSeq != s.Outbox.LastSeq || s.Outbox.Depth != 0 {
			return fmt.Errorf("replacement's outbox %+v, want every event after %d acknowledged", s.Outbox, lastSynced)
		}
		f, err := hqc.Site(t.Context(), id)
		if err != nil {
			return err
		}
		if f.Watermark != s.Outbox.LastSeq || f.LastSeq != f.Watermark {
			return fmt.Errorf("central's freshness %+v, want watermark %d", f, s.Outbox.LastSeq)
		}
		return nil
	})

	// The old seed is refused: a box started with it never connects.
	ghost := filepath.Join(work, "ghost")
	run(t, "edge", "init", "--dir", ghost, "--site", id, "--city", "Pune", "--timezone", "Asia/Kolkata")
	g := start(t, "edge", "run", "--dir", ghost, "--http", "127.0.0.1:0", "--insecure-http", "--hub", leaf, "--hub-ca", fleetCA, "--leaf-seed", oldSeed)
	gurl := g.expect(t, `edge \S+ listening on (http://\S+)`, 30*time.Second)[1]
	gc := newEdgeClient(t, gurl, filepath.Join(ghost, "admin-credentials.json"), fleetCA)
	testkit.Consistently(t, 4*time.Second, func() error {
		if s := syncState(t, gc); s.Uplink.Connected {
			return fmt.Errorf("a box with the old seed connected: %+v", s)
		}
		return nil
	})
	// Meanwhile the replacement stays connected.
	if s := syncState(t, repl.admin); !s.Uplink.Connected {
		t.Fatalf("replacement disconnected: %+v", s)
	}
}

// startSite starts `edge run` on a provisioned directory with clients for
// its admin and machines.
func startSite(t *testing.T, id, dir string, machines []string) *e2eSite {
	t.Helper()
	p := start(t, "edge", "run", "--config", filepath.Join(dir, provision.ConfigFile))
	url := p.expect(t, `edge \S+ listening on (https://\S+)`, 30*time.Second)[1]
	s := &e2eSite{id: id, dir: dir, url: url, proc: p, machines: map[string]*client.Edge{}}
	s.admin = newEdgeClient(t, url, filepath.Join(dir, "admin-credentials.json"), s.ca())
	for _, mid := range machines {
		s.machines[mid] = newEdgeClient(t, url, filepath.Join(dir, "machines", mid+".json"), s.ca())
	}
	return s
}

// newHQClient is an HQ client with the credentials in a file.
func newHQClient(t *testing.T, base, credsFile, caFile string) *client.HQ {
	t.Helper()
	creds, err := client.ReadCredentials(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tlsca.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewHQ(base, creds, client.Options{TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
