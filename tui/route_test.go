package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/testkit"
)

// day is a real central node and two real edges linked to it, with a
// driver made for both through POST /drivers and the route file the app
// reads.
type day struct {
	cn    *central.Node
	sites map[string]*edgetest.Site
	route RouteFile
}

func newDay(t *testing.T) *day { return newDayWith(t, nil) }

// newDayWith is newDay with the driver made by addDriver (given central's
// URL, an ADMIN credentials file and the edges' URLs-to-be) instead of
// through the client.
func newDayWith(t *testing.T, addDriver func(central, adminFile string, edges map[string]string) RouteFile) *day {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a central node and two linked edges")
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	ccfg := central.DefaultConfig()
	ccfg.Dir, ccfg.HTTPAddr, ccfg.LeafListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:-1"
	ccfg.Logger = testkit.Logger(t)
	cn, err := central.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cn.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.Close() })
	d := &day{cn: cn, sites: map[string]*edgetest.Site{}}
	coords := map[string][2]float64{"site-a": {12.97, 77.59}, "site-b": {12.93, 77.62}}
	seeds := map[string]string{}
	for _, id := range []string{"site-a", "site-b"} {
		lat, lng := coords[id][0], coords[id][1]
		if seeds[id], _, err = cn.Sites.Add(ctx, sitereg.Site{ID: id, Name: id, City: "Testville", Timezone: "UTC", Lat: &lat, Lng: &lng}, false); err != nil {
			t.Fatal(err)
		}
	}
	// The driver is made before the sites start (as on a morning when the
	// sites are already known): their mirrors take the credentials first.
	adminID, adminSecret, err := cn.Auth.AddClient(ctx, auth.RoleAdmin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	addrs := testkit.FreeAddrs(t, 2)
	edges := map[string]string{"site-a": "http://" + addrs[0].String(), "site-b": "http://" + addrs[1].String()}
	if addDriver != nil {
		adminFile := filepath.Join(t.TempDir(), "admin.json")
		writeJSON(adminFile, client.Credentials{ClientID: adminID, ClientSecret: adminSecret})
		d.route = addDriver(cn.URL(), adminFile, edges)
	} else {
		hq, err := client.NewHQ(cn.URL(), client.Credentials{ClientID: adminID, ClientSecret: adminSecret}, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		nd, err := hq.AddDriver(ctx, hqapi.NewDriverRequest{Name: "Asha", Sites: []string{"site-a", "site-b"}})
		if err != nil {
			t.Fatal(err)
		}
		d.route = RouteFile{Driver: nd.Name, Central: cn.URL(), HQ: client.Credentials{ClientID: nd.ClientID, ClientSecret: nd.ClientSecret}}
		for _, sc := range nd.Sites {
			c := coords[sc.SiteID]
			d.route.Sites = append(d.route.Sites, RouteSite{SiteID: sc.SiteID, EdgeURL: edges[sc.SiteID],
				Creds: client.Credentials{ClientID: sc.ClientID, ClientSecret: sc.ClientSecret}, Lat: &c[0], Lng: &c[1]})
		}
	}
	for i, id := range []string{"site-a", "site-b"} {
		addr := addrs[i].String()
		s := edgetest.Start(t, edgetest.Options{Site: id, Clock: edgetest.NewClock(now), Configure: func(c *edge.Config) {
			c.TokenTTL = 24 * time.Hour
			c.HubURLs, c.LeafSeed = []string{cn.Hub.LeafURL()}, seeds[id]
			c.HTTPAddr = addr // the route file names the edge's URL
		}})
		s.Machine("M1")
		s.Product("M1", "P1", 150, 2, map[string]any{"name": "Cola " + id, "lowStockLimit": 5, "parLevel": 10})
		d.sites[id] = s
	}
	// Each site takes its credential from the downlink (watched in its
	// store: failed sign-ins would lock the client out).
	for _, rs := range d.route.Sites {
		node := d.sites[rs.SiteID].Node
		testkit.CheckFor(t, 60*time.Second, func() error {
			_, err := node.Store.Authenticate(ctx, rs.Creds.ClientID, rs.Creds.ClientSecret)
			if err != nil {
				return fmt.Errorf("%s (leaf connected %v): %w", rs.SiteID, node.Leaf.Connected(), err)
			}
			return nil
		})
	}
	return d
}

func signIn(url string, c client.Credentials) error {
	e, err := client.NewEdge(url, c, client.Options{MaxAttempts: 1})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return e.SignIn(ctx)
}

// model is the app on route file f, caching in dir.
func (d *day) model(t *testing.T, f RouteFile, dir string) (*model, *Queue) {
	t.Helper()
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := NewHTTPClient(f.Central, "", f.HQ, client.Credentials{}, 3*time.Second, nil)
	n := 0
	m := newModel(deps{client: base, queue: q, cacheDir: dir, exportDir: dir, retryEvery: 200 * time.Millisecond, loc: time.UTC, route: &f,
		dial:  func(s RouteSite) Client { return base.ForEdge(s.EdgeURL, s.Creds) },
		newID: func() string { n++; return "day-" + strings.Repeat("z", n) }})
	return m, q
}

// TestRouteCredentials_OnlyAtTheirSite: a site's credential from POST
// /drivers signs in at its own site's edge and is refused by the other's.
func TestRouteCredentials_OnlyAtTheirSite(t *testing.T) {
	d := newDay(t)
	a, b := d.route.Sites[0], d.route.Sites[1]
	if err := signIn(b.EdgeURL, a.Creds); !errors.Is(err, client.ErrAuth) {
		t.Fatalf("site-a's credential at site-b's edge: %v, want refused", err)
	}
	if err := signIn(a.EdgeURL, b.Creds); !errors.Is(err, client.ErrAuth) {
		t.Fatalf("site-b's credential at site-a's edge: %v, want refused", err)
	}
	if err := signIn(a.EdgeURL, d.route.HQ); !errors.Is(err, client.ErrAuth) {
		t.Fatalf("the HQ credential at an edge: %v, want refused", err)
	}
}

// TestDriver_TwoSitesOneRun walks a day over two sites in one run: the
// stops in driving order, site A's machines and a restock there, site B,
// its edge taken down mid-visit (the machine's planogram from the cache at
// once, the restock queued), a restart with B's edge still down (B's
// machines listed from cache), and B's queue delivered when it is back.
func TestDriver_TwoSitesOneRun(t *testing.T) {
	d := newDay(t)
	dir := t.TempDir()
	m, q := d.model(t, d.route, dir)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 30))
	waitFor(t, tm, "Stops", "route of Asha", "site-a", "site-b", "no site chosen")
	keys(tm, "enter")
	waitFor(t, tm, "Machines at site site-a", "M1", "edge online")
	keys(tm, "enter")
	waitFor(t, tm, "Machine M1 · site site-a", "Cola site-a")
	keys(tm, "enter")
	waitFor(t, tm, "SUGGEST")
	keys(tm, "A", "enter")
	waitFor(t, tm, "send to the edge of site site-a for M1: P1 +8")
	keys(tm, "y")
	waitFor(t, tm, "restocked M1")
	if got := d.sites["site-a"].Stock("M1", "P1"); got != 10 {
		t.Fatalf("site-a M1/P1 = %d, want 10", got)
	}
	// Leaving M1 sends its visit record; then to site B.
	keys(tm, "esc")
	waitFor(t, tm, "visit of M1 recorded at the edge of site site-a")
	keys(tm, "S", "down", "enter")
	waitFor(t, tm, "Machines at site site-b", "edge online")
	keys(tm, "enter")
	waitFor(t, tm, "Machine M1 · site site-b", "Cola site-b")
	keys(tm, "esc")

	// B's edge goes down mid-visit.
	d.sites["site-b"].Close()
	keys(tm, "enter")
	waitFor(t, tm, "Cola site-b")
	keys(tm, "enter")
	waitFor(t, tm, "SUGGEST")
	keys(tm, "A", "enter", "y")
	waitFor(t, tm, "queued", "pending 1", "edge offline")
	// Leaving the machine queues its visit record too; site A, where work
	// was done, is marked done and stays on the route.
	keys(tm, "S")
	waitFor(t, tm, "visit of M1 queued", "pending 2", "done ")
	keys(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if got := q.Items(); len(got) != 2 || got[0].Restock.SiteID != "site-b" || got[1].Restock.SiteID != "site-b" || got[1].Restock.Visit == nil {
		t.Fatalf("queue = %+v, want site-b's restock and visit record", got)
	}

	// A restart with B's edge still down: B is current again and its
	// machines come from the cache.
	m2, q2 := d.model(t, d.route, dir)
	tm2 := teatest.NewTestModel(t, m2, teatest.WithInitialTermSize(120, 30))
	// (One wait for all of it: the status line is drawn once.)
	keys(tm2, "tab")
	waitFor(t, tm2, "Machines at site site-b", "working from cache", "M1", "edge offline")
	keys(tm2, "enter")
	waitFor(t, tm2, "Machine M1 · site site-b", "Cola site-b", "from cache of")

	d.sites["site-b"].Open()
	testkit.Eventually(t, 20*time.Second, "site-b's queue delivered", func() bool { return len(q2.Items()) == 0 })
	if got := d.sites["site-b"].Stock("M1", "P1"); got != 10 {
		t.Fatalf("site-b M1/P1 = %d, want 10", got)
	}
	keys(tm2, "q")
	tm2.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestDriver_SaysWhichSideRefused: wrong credentials for a site, or a URL
// that leads to another site's edge, are said in plain words, not an
// endless "loading".
func TestDriver_SaysWhichSideRefused(t *testing.T) {
	d := newDay(t)
	f := d.route
	f.Sites = append([]RouteSite(nil), f.Sites...)
	f.Sites[1].Creds = f.Sites[0].Creds // site-a's credential given for site-b
	m, _ := d.model(t, f, t.TempDir())
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(200, 30))
	keys(tm, "down", "enter")
	waitFor(t, tm, "Machines at site site-b", "the edge of site site-b refused the driver's credentials", "edge refused")
	keys(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	g := d.route
	g.Sites = append([]RouteSite(nil), g.Sites...)
	g.Sites[1].EdgeURL = g.Sites[0].EdgeURL // site-b's URL leads to site-a
	g.Sites[1].Creds = g.Sites[0].Creds
	g.HQ.ClientSecret = "wrong"
	m2, _ := d.model(t, g, t.TempDir())
	tm2 := teatest.NewTestModel(t, m2, teatest.WithInitialTermSize(200, 30))
	waitFor(t, tm2, "central refused the driver's credentials", "central refused")
	keys(tm2, "down", "enter")
	waitFor(t, tm2, "is site site-a, not site-b")
	keys(tm2, "q")
	tm2.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
