//go:build torture

package torture

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/tcplink"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/wire"
)

const (
	nodes           = 3
	machinesPerSite = 4
	initialStock    = 100_000 // the most a slot may hold
)

// products every machine sells; the ledger knows each slot's stock as
// initialStock minus what was acked.
var products = []struct {
	id    string
	price wire.Money
}{{"COLA", 250}, {"WATER", 120}}

// node is one central node and the proxies its routes go through.
type node struct {
	i                 int
	dir               string
	http, leaf, route string // fixed addresses (a restart keeps them)
	p                 *proc
	hq                *client.HQ
	// out[j] is the link node i dials node j's route port through; the
	// link node j dials node i through is nodes[j].out[i].
	out map[int]*tcplink.Link
}

// site is one provisioned site, its edge process and its links to central.
type site struct {
	id, city, tz string
	dir          string
	http         string
	p            *proc
	admin        *client.Edge
	machines     map[string]*client.Edge
	links        []*tcplink.Link // one per central node
	tmpfs        bool            // dir is a size-limited tmpfs (disk-full faults)

	mu     sync.Mutex
	offset time.Duration // the site's clock offset in its current run
}

func (s *site) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.offset)
}

type fleet struct {
	t       *testing.T
	bin     string
	work    string
	hqCreds string
	ca      string
	nodes   []*node
	sites   []*site
}

var siteSpecs = []struct{ id, city, tz string }{
	{"blr-torture", "Bangalore", "Asia/Kolkata"},
	{"ber-torture", "Berlin", "Europe/Berlin"},
	{"nyc-torture", "New York", "America/New_York"},
	{"syd-torture", "Sydney", "Australia/Sydney"},
	{"sao-torture", "Sao Paulo", "America/Sao_Paulo"},
}

// startCentral starts three central nodes as processes, every route between
// two nodes through a link of its own.
func (f *fleet) startCentral() {
	t := f.t
	addrs := testkit.FreeAddrs(t, 3*nodes)
	// Nodes tell each other to reach them at a closed port: a node learns
	// of a third one by gossip and would dial it at that address, around
	// the links; refused there, every route is an explicit one through its
	// link, which a partition cuts.
	closed := testkit.FreeAddrs(t, nodes)
	for i := range nodes {
		f.nodes = append(f.nodes, &node{i: i, dir: filepath.Join(f.work, fmt.Sprintf("central-%d", i+1)),
			http: addrs[3*i].String(), leaf: addrs[3*i+1].String(), route: addrs[3*i+2].String(), out: map[int]*tcplink.Link{}})
	}
	// Routes are mutual TLS by fleet-CA node certificates: a new cluster's
	// nodes get the CA on their first start, as an installer does it.
	fleetCA := filepath.Join(f.work, "fleet-ca.pem")
	if out, err := exec.Command(f.bin, "central", "fleet-ca", "--out", fleetCA).CombinedOutput(); err != nil {
		t.Fatalf("central fleet-ca: %v\n%s", err, out)
	}
	for _, n := range f.nodes {
		var routes []string
		for _, m := range f.nodes {
			if m == n {
				continue
			}
			l, err := tcplink.Listen("127.0.0.1:0", m.route)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			n.out[m.i] = l
			routes = append(routes, "nats-route://"+l.Addr())
		}
		name := fmt.Sprintf("central-%d", n.i+1)
		n.p = newProc(f.bin, name, f.work, "central", "run", "--dir", n.dir, "--server-name", name,
			"--http", n.http, "--leaf", n.leaf, "--cluster-name", "hq", "--cluster-listen", n.route,
			"--replicas", "3", "--routes", strings.Join(routes, ","), "--cluster-advertise", closed[n.i].String(),
			"--fleet-ca", fleetCA, "--rate-limits=false")
	}
	t.Cleanup(f.stopAll) // also when the start fails half way
	for _, n := range f.nodes {
		n.p.start(t)
	}
	for _, n := range f.nodes {
		n.p.waitOutput(t, `HQ API (https://\S+)`, 3*time.Minute)
	}
	f.hqCreds = filepath.Join(f.nodes[0].dir, "admin-credentials.json")
	f.ca = filepath.Join(f.nodes[0].dir, "ca.pem")
	creds, err := client.ReadCredentials(f.hqCreds)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tlsca.ClientConfig(f.ca)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.nodes {
		if n.hq, err = client.NewHQ("https://"+n.http, creds, client.Options{TLS: tc, HTTP: shortHTTP()}); err != nil {
			t.Fatal(err)
		}
	}
}

// shortHTTP bounds every API call of the test, so a hung process shows up
// as an error rather than a stuck test.
func shortHTTP() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// startSites provisions n sites as an installer would (provision site,
// provision machine), starts their edges and stocks their machines. The
// last site's directory is a size-limited tmpfs when mounts work here, for
// disk-full faults.
func (f *fleet) startSites(n int, tmpfsSize string) {
	t := f.t
	httpAddrs := testkit.FreeAddrs(t, n)
	for i := range n {
		spec := siteSpecs[i%len(siteSpecs)]
		s := &site{id: spec.id, city: spec.city, tz: spec.tz, dir: filepath.Join(f.work, "site-"+spec.id),
			http: httpAddrs[i].String(), machines: map[string]*client.Edge{}}
		if i >= len(siteSpecs) {
			s.id = fmt.Sprintf("%s-%d", spec.id, i)
		}
		var hubs []string
		for _, nd := range f.nodes {
			l, err := tcplink.Listen("127.0.0.1:0", "nats-leaf://"+nd.leaf)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			s.links = append(s.links, l)
			hubs = append(hubs, l.URL())
		}
		if i == n-1 && tmpfsSize != "" {
			s.tmpfs = mountTmpfs(t, s.dir, tmpfsSize)
		}
		runCmd(t, f.bin, "provision", "site", "--central", "https://"+f.nodes[i%nodes].http, "--credentials", f.hqCreds, "--ca", f.ca,
			"--site", s.id, "--city", s.city, "--timezone", s.tz, "--hub", strings.Join(hubs, ","), "--http", s.http, "--out", s.dir)
		var ids []string
		for m := range machinesPerSite {
			ids = append(ids, fmt.Sprintf("%s-m%d", s.id, m+1))
		}
		runCmd(t, f.bin, "provision", "machine", "--dir", s.dir, "--machine", strings.Join(ids, ","), "--city", s.city,
			"--building", "Torture Hall", "--out-dir", filepath.Join(s.dir, "machines"))
		// Rate limits off: this is a load test (the edge's own flag says so).
		s.p = newProc(f.bin, "edge-"+s.id, f.work, "edge", "run", "--config", filepath.Join(s.dir, "vendsync.yaml"), "--rate-limits=false")
		f.sites = append(f.sites, s) // stopped by stopAll from now on
		f.startEdge(s)
		ca := filepath.Join(s.dir, tlsca.TLSDir, tlsca.CAFile)
		s.admin = edgeClient(t, "https://"+s.http, filepath.Join(s.dir, "admin-credentials.json"), ca)
		for _, id := range ids {
			for _, p := range products {
				price, qty := p.price, int64(initialStock)
				if _, err := s.admin.AddProduct(t.Context(), id, edgeapi.NewProduct{ProductID: p.id, Name: p.id, Price: &price, Quantity: &qty}); err != nil {
					t.Fatalf("stock %s at %s: %v", p.id, id, err)
				}
			}
			s.machines[id] = edgeClient(t, "https://"+s.http, filepath.Join(s.dir, "machines", id+".json"), ca)
		}
	}
}

// startEdge starts the site's edge and waits for it to listen.
func (f *fleet) startEdge(s *site) {
	s.p.start(f.t)
	s.p.waitOutput(f.t, `edge \S+ listening on https://`, 2*time.Minute)
}

func edgeClient(t *testing.T, base, credsFile, caFile string) *client.Edge {
	t.Helper()
	creds, err := client.ReadCredentials(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tlsca.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewEdge(base, creds, client.Options{TLS: tc, HTTP: shortHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mountTmpfs mounts a tmpfs of size at dir (root only); false if it cannot,
// and the run then injects no disk-full faults.
func mountTmpfs(t *testing.T, dir, size string) bool {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Logf("no tmpfs for %s (%v: %s): no disk-full faults in this run", dir, err, strings.TrimSpace(string(out)))
		return false
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", dir, err, out)
		}
	})
	return true
}

// stopAll stops every process cleanly, edges first.
func (f *fleet) stopAll() {
	var wg sync.WaitGroup
	for _, s := range f.sites {
		if s.p == nil || !s.p.running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.p.stop(); err != nil && !errors.Is(err, context.Canceled) {
				f.t.Logf("stop %s: %v", s.p.name, err)
			}
		}()
	}
	wg.Wait()
	for _, n := range f.nodes {
		if !n.p.running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.p.stop(); err != nil {
				f.t.Logf("stop %s: %v", n.p.name, err)
			}
		}()
	}
	wg.Wait()
}
