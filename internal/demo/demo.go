// Package demo runs a whole vendsync fleet in one process, as `vendsync
// demo` (and `make demo`) does: a 3-node central cluster, three sites
// provisioned as an installer would, the simulator driving machines at each,
// and one site whose link to central goes down and comes back. It prints a
// live summary and, at the end, checks that central's totals equal the sum
// of the sites' own on every node.
//
// It watches the fleet the way HQ and an installer would: through the HQ
// and edge APIs (internal/client).
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/simulate"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/tcplink"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/wire"
)

// Config is what Run needs. Start from DefaultConfig.
type Config struct {
	// Dir keeps the fleet's data ("" = a temporary directory removed at
	// the end); a later run continues from a kept one.
	Dir string
	// Duration is how long to run (0: until ctx is done).
	Duration time.Duration
	// Backfill is the history the simulator generates per site first.
	Backfill time.Duration
	// Rate is sales per minute per site at the daily peak.
	Rate float64
	// Machines is the simulated machines per site.
	Machines int
	// Refresh is how often the summary is redrawn on a terminal (at least
	// every 10 s elsewhere).
	Refresh time.Duration
	// OfflineAfter is when New York's link goes down, for OfflineFor (0:
	// it never does).
	OfflineAfter, OfflineFor time.Duration
	// LogFile is where logs go ("" = DIR/demo.log), at LogLevel.
	LogFile  string
	LogLevel zerolog.Level
	// Command is how the user runs vendsync, in the commands the demo
	// prints to try (default "vendsync").
	Command string
}

// DefaultConfig is a 90 s run with a day of history, New York offline
// for the second quarter of it.
func DefaultConfig() Config {
	return Config{Duration: 90 * time.Second, Backfill: 24 * time.Hour, Rate: 120, Machines: 4, Refresh: 2 * time.Second,
		OfflineAfter: 30 * time.Second, OfflineFor: 30 * time.Second, LogLevel: zerolog.InfoLevel, Command: "vendsync"}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Machines < 1:
		return fmt.Errorf("machines %d: must be positive", c.Machines)
	case c.Rate <= 0:
		return fmt.Errorf("rate %v: must be positive", c.Rate)
	case c.Duration < 0 || c.Backfill < 0 || c.OfflineAfter < 0 || c.OfflineFor < 0:
		return errors.New("durations must not be negative")
	case c.Refresh <= 0:
		return fmt.Errorf("refresh %v: must be positive", c.Refresh)
	}
	return nil
}

// sites are the demo fleet; the last one's link to central goes down for a
// while and comes back.
var sites = []struct {
	id, name, city, tz, prefix string
	lat, lng                   float64
}{
	{"blr-techpark", "Tech Park", "Bangalore", "Asia/Kolkata", "BLR_", 12.97, 77.59},
	{"ber-hbf", "Hauptbahnhof", "Berlin", "Europe/Berlin", "BER_", 52.52, 13.37},
	{"nyc-midtown", "Midtown", "New York", "America/New_York", "NYC_", 40.75, -73.98},
}

// fleet is the running demo.
type fleet struct {
	dir     string
	nodes   []*central.Node
	hq      []*client.HQ // one per node
	hqCreds string
	hqLogin client.Credentials // the demo fleet's ADMIN, shown for the dashboard's sign-in
	sites   []*site
	log     zerolog.Logger
	gw      *gateway // nil: no stripe-mock, no GATEWAY payments
}

type site struct {
	id, city, tz string
	dir          string
	node         *edge.Node
	api          *client.Edge
	creds        client.Credentials
	link         *tcplink.Link // nil: direct to central
	stats        simulate.Stats
}

// Run starts the fleet, drives it until cfg.Duration passes or ctx is done,
// prints the summary to out as it goes, and returns an error if the fleet
// cannot start or if, once every site has drained, any central node's
// totals differ from the sum of the sites'.
func Run(ctx context.Context, out io.Writer, cfg Config) (err error) {
	started := time.Now()
	if err := cfg.Validate(); err != nil {
		return err
	}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vendsync-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logPath := cfg.LogFile
	if logPath == "" {
		logPath = filepath.Join(dir, "demo.log")
	}
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	defer lf.Close()
	log := zerolog.New(lf).Level(cfg.LogLevel).With().Timestamp().Logger()
	fl := &fleet{dir: dir, log: log}
	defer fl.close()

	fmt.Fprintf(out, "vendsync demo — data in %s, logs in %s\n", dir, logPath)
	fl.gw = startGateway(ctx, out)
	defer fl.gw.close()
	fmt.Fprintf(out, "starting a 3-node central cluster…\n")
	if err := fl.startCentral(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "provisioning 3 sites…\n")
	if err := fl.startSites(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "fleet up in %s\n\n", time.Since(started).Round(100*time.Millisecond))
	fl.printAccess(out, cfg.Command, cfg.OfflineFor > 0)

	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	// Simulators: history first (a modest rate, so it takes seconds), then live.
	var sims errgroup.Group
	for i, s := range fl.sites {
		loc, _ := time.LoadLocation(s.tz)
		sim := simulate.DefaultConfig()
		sim.EdgeURL, sim.ClientID, sim.ClientSecret = s.node.URL(), s.creds.ClientID, s.creds.ClientSecret
		sim.Machines, sim.City, sim.Building, sim.Timezone, sim.SalesPerMinute = cfg.Machines, s.city, sites[i].name, loc, cfg.Rate
		sim.MachinePrefix, sim.Seed, sim.TelemetryEvery = sites[i].prefix, int64(i+1), 5*time.Second
		sim.Products, sim.Concurrency = 8, 4
		if sim.HTTPClient, err = pinnedHTTP(filepath.Join(s.dir, tlsca.TLSDir, tlsca.CAFile)); err != nil {
			return err
		}
		// The simulator names its own component (and the edge's URL).
		sim.Logger = log.With().Str("site", s.id).Logger()
		sims.Go(func() error {
			if cfg.Backfill > 0 {
				h := sim
				h.Backfill, h.BackfillOnly, h.SalesPerMinute = cfg.Backfill, true, min(cfg.Rate, 10)
				st, err := simulate.Run(runCtx, h)
				s.addStats(st)
				if err != nil {
					return err
				}
			}
			st, err := simulate.Run(runCtx, sim)
			s.addStats(st)
			return err
		})
	}
	for i, s := range fl.sites {
		sims.Go(func() error { return fl.gw.kiosk(runCtx, s, sites[i].prefix) })
	}
	// One site's link goes down for a while and comes back.
	flaky := fl.sites[len(fl.sites)-1]
	if cfg.OfflineFor > 0 {
		go func() {
			select {
			case <-runCtx.Done():
				return
			case <-time.After(cfg.OfflineAfter):
			}
			log.Info().Str("site", flaky.id).Msg("demo: cutting the site's link to central")
			flaky.link.Cut()
			select {
			case <-runCtx.Done():
			case <-time.After(cfg.OfflineFor):
			}
			offline := !flaky.node.Leaf.Connected()
			flaky.link.Restore("")
			log.Info().Str("site", flaky.id).Bool("wasOffline", offline).Msg("demo: link restored")
		}()
	}

	tty := false
	if f, ok := out.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	every := cfg.Refresh
	if !tty {
		every = max(every, 10*time.Second) // a log, not an animation
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lines := 0
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-t.C:
			lines = fl.drawSummary(out, tty, lines)
		}
	}
	simErr := sims.Wait()
	flaky.link.Restore("")
	fl.drawSummary(out, tty, lines)
	var st simulate.Stats
	for _, s := range fl.sites {
		st.Backfilled += s.stats.Backfilled
		st.SalesAccepted += s.stats.SalesAccepted
		st.SalesFailed += s.stats.SalesFailed
		st.Telemetry += s.stats.Telemetry
		st.Faults += s.stats.Faults
		st.Restocks += s.stats.Restocks
	}
	fmt.Fprintf(out, "\nsimulator: %d sales accepted (%d historical), %d telemetry readings, %d faults, %d restocks, %d failed\n",
		st.SalesAccepted, st.Backfilled, st.Telemetry, st.Faults, st.Restocks, st.SalesFailed)
	fl.gw.summary(out)
	if simErr != nil && !errors.Is(simErr, context.Canceled) && !errors.Is(simErr, context.DeadlineExceeded) {
		return fmt.Errorf("simulator: %w", simErr)
	}
	return fl.checkTotals(out)
}

func (s *site) addStats(st simulate.Stats) {
	s.stats.Backfilled += st.Backfilled
	s.stats.SalesAccepted += st.SalesAccepted
	s.stats.SalesFailed += st.SalesFailed
	s.stats.Telemetry += st.Telemetry
	s.stats.Faults += st.Faults
	s.stats.Restocks += st.Restocks
}

// freeAddr is a loopback host:port free at the time of asking.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startCentral starts the three central nodes together (a cluster elects
// its leader only once a majority is up).
func (fl *fleet) startCentral(ctx context.Context) error {
	var routes, leafs []string
	for range 3 {
		r, err := freeAddr()
		if err != nil {
			return err
		}
		l, err := freeAddr()
		if err != nil {
			return err
		}
		routes, leafs = append(routes, r), append(leafs, l)
	}
	// The routes are TLS between fleet-CA node certificates, as `central
	// run --fleet-ca` starts a new cluster.
	caFile := filepath.Join(fl.dir, "fleet-ca.pem")
	ca, err := tlsca.New("vendsync fleet CA", time.Now())
	if err != nil {
		return err
	}
	caPEM, err := ca.Marshal()
	if err != nil {
		return err
	}
	if err := secfile.Write(caFile, caPEM); err != nil {
		return err
	}
	fl.nodes = make([]*central.Node, 3)
	var g errgroup.Group
	for i := range 3 {
		cfg := central.DefaultConfig()
		cfg.Dir = filepath.Join(fl.dir, fmt.Sprintf("central-%d", i+1))
		cfg.ServerName = fmt.Sprintf("central-%d", i+1)
		cfg.HTTPAddr, cfg.LeafListen = "127.0.0.1:0", leafs[i]
		cfg.HTTPTLS, cfg.LeafTLS, cfg.RouteTLS, cfg.NATSTLS = true, true, true, true // as `central run` does
		cfg.FleetCAFile = caFile
		cfg.ClusterName, cfg.ClusterListen, cfg.Replicas = "hq", routes[i], 3
		cfg.ReadyTimeout = 90 * time.Second
		if p, err := fl.gw.orders(); err != nil {
			return fmt.Errorf("pre-orders' gateway: %w", err)
		} else if p != nil {
			cfg.Payments = p // customers' pre-orders, paid through the demo's stripe-mock
		}
		for j, r := range routes {
			if j != i {
				cfg.Routes = append(cfg.Routes, "nats-route://"+r)
			}
		}
		// Central's components name themselves; the node is told apart here.
		cfg.Logger = fl.log.With().Str("central", cfg.ServerName).Logger()
		g.Go(func() error {
			n, err := central.New(cfg)
			if err != nil {
				return err
			}
			if err := n.Open(ctx); err != nil {
				return fmt.Errorf("start %s: %w", cfg.ServerName, err)
			}
			fl.nodes[i] = n
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Every node writes an HQ ADMIN credential of its own; any node
	// accepts any of them (HQ credentials are shared by the cluster).
	fl.hqCreds = filepath.Join(fl.nodes[0].Dir(), central.CredentialsFile)
	creds, err := client.ReadCredentials(fl.hqCreds)
	if err != nil {
		return fmt.Errorf("hq credentials: %w", err)
	}
	fl.hqLogin = creds
	for _, n := range fl.nodes {
		tc, err := tlsca.ClientConfig(n.CAPath())
		if err != nil {
			return err
		}
		c, err := client.NewHQ(n.URL(), creds, client.Options{TLS: tc})
		if err != nil {
			return err
		}
		fl.hq = append(fl.hq, c)
	}
	return nil
}

// startSites provisions the sites (idempotent: a kept Dir is reused) and
// starts their edges.
func (fl *fleet) startSites(ctx context.Context) error {
	var hubs []string
	for _, n := range fl.nodes {
		hubs = append(hubs, n.Hub.LeafURL())
	}
	for i, d := range sites {
		s := &site{id: d.id, city: d.city, tz: d.tz, dir: filepath.Join(fl.dir, "site-"+d.id)}
		siteHubs := hubs
		if i == len(sites)-1 {
			var err error
			if s.link, err = tcplink.Listen("127.0.0.1:0", hubs[0]); err != nil {
				return err
			}
			siteHubs = []string{s.link.URL()}
		}
		lat, lng := d.lat, d.lng
		spec := provision.Site{Central: fl.nodes[i%3].URL(), Credentials: fl.hqCreds, Dir: s.dir, ID: d.id, Name: d.name, City: d.city, Timezone: d.tz,
			Lat: &lat, Lng: &lng, Hubs: siteHubs, HTTP: "127.0.0.1:0", CA: fl.nodes[0].CAPath()}
		if _, err := provision.ProvisionSite(ctx, spec, nil); err != nil {
			return fmt.Errorf("provision %s: %w", d.id, err)
		}
		seed, err := os.ReadFile(filepath.Join(s.dir, provision.LeafSeedFile))
		if err != nil {
			return err
		}
		if s.creds, err = client.ReadCredentials(filepath.Join(s.dir, edge.CredentialsFile)); err != nil {
			return err
		}
		cfg := edge.DefaultConfig()
		cfg.Dir, cfg.HTTPAddr, cfg.SweepEvery = s.dir, "127.0.0.1:0", 10*time.Second
		cfg.HubURLs, cfg.LeafSeed = siteHubs, strings.TrimSpace(string(seed))
		tdir := filepath.Join(s.dir, tlsca.TLSDir) // from provisioning, as the site's vendsync.yaml says
		cfg.TLSCertFile, cfg.TLSKeyFile, cfg.HubCAFile = filepath.Join(tdir, tlsca.CertFile), filepath.Join(tdir, tlsca.KeyFile), filepath.Join(tdir, tlsca.CAFile)
		// The flaky site must reach central only through its proxy, which is
		// what gets cut (never around it through a gossiped address).
		cfg.HubURLsOnly = true
		cfg.Payments = fl.gw.config()
		// Site components name the site themselves; the edge is told apart here.
		cfg.Logger = fl.log.With().Str("edge", d.id).Logger()
		if s.node, err = edge.New(cfg); err != nil {
			return err
		}
		// Not ctx: the edge must outlive a Ctrl-C to drain to central at the end.
		if err := s.node.Open(context.Background()); err != nil {
			s.node = nil
			return fmt.Errorf("start site %s: %w", d.id, err)
		}
		fl.sites = append(fl.sites, s)
		tc, err := tlsca.ClientConfig(filepath.Join(tdir, tlsca.CAFile))
		if err != nil {
			return err
		}
		if s.api, err = client.NewEdge(s.node.URL(), s.creds, client.Options{TLS: tc}); err != nil {
			return err
		}
	}
	return nil
}

func (fl *fleet) printAccess(out io.Writer, command string, cut bool) {
	fmt.Fprintf(out, "HQ API      ")
	for i, n := range fl.nodes {
		if i > 0 {
			fmt.Fprint(out, "  ")
		}
		fmt.Fprint(out, n.URL())
	}
	fmt.Fprintf(out, "\nHQ login    %s (ADMIN client credentials)\n", fl.hqCreds)
	fmt.Fprintf(out, "dashboard   %s/ui/  sign in with client id %s and secret %s (a demo fleet's; a real one's stays in its file)\n",
		fl.nodes[0].URL(), fl.hqLogin.ClientID, fl.hqLogin.ClientSecret)
	fmt.Fprintf(out, "fleet CA    %s (every API and leaf link is TLS; clients pin it with --ca, a browser asks you to trust it)\n", fl.nodes[0].CAPath())
	for _, s := range fl.sites {
		note := ""
		if s.link != nil && cut {
			note = "  (its link to central will go down and come back)"
		}
		fmt.Fprintf(out, "site        %-13s %s  %s%s\n", s.id, s.node.URL(), filepath.Join(s.dir, edge.CredentialsFile), note)
	}
	if fl.gw != nil {
		fmt.Fprintf(out, "pre-orders  a customer: POST %s/customers, POST /auth/token, GET /sites/nearest, POST /orders (paid through stripe-mock; README, \"Pre-orders and pickup\")\n", fl.nodes[0].URL())
	}
	fmt.Fprintf(out, "try         %s query sales --central %s --credentials %s --ca %s --by city\n", command, fl.nodes[0].URL(), fl.hqCreds, fl.nodes[0].CAPath())
	fmt.Fprintf(out, "            %s query sites --central %s --credentials %s --ca %s\n\n", command, fl.nodes[1].URL(), fl.hqCreds, fl.nodes[1].CAPath())
}

// wideRange covers every sale the demo makes (the APIs take at most ten
// years).
func wideRange() (from, to string) {
	now := time.Now()
	return now.AddDate(-9, 0, 0).Format(time.DateOnly), now.AddDate(0, 0, 2).Format(time.DateOnly)
}

// drawSummary prints the live summary; on a terminal it redraws in place.
func (fl *fleet) drawSummary(out io.Writer, tty bool, prev int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var b strings.Builder
	hq := fl.hq[0]
	fmt.Fprintf(&b, "── %s ── central (node central-1) ──\n", time.Now().Format("15:04:05"))
	alerts := map[string]int{}
	if as, err := hq.Alerts(ctx, hqapi.AlertQuery{Status: "OPEN", Limit: 1000}); err == nil {
		for _, a := range as {
			alerts[a.City]++
		}
	}
	from, to := wideRange()
	if res, err := hq.Sales(ctx, hqapi.SalesQuery{GroupBy: "city", Window: "month", From: from, To: to}); err == nil {
		type tot struct {
			tx  int64
			rev wire.Money
		}
		byCity := map[string]tot{}
		for _, r := range res.Rows {
			t := byCity[r.Key]
			t.tx += r.Transactions
			t.rev += r.Revenue
			byCity[r.Key] = t
		}
		fmt.Fprintf(&b, "%-10s %8s %12s %12s\n", "CITY", "SALES", "REVENUE", "OPEN ALERTS")
		for _, d := range sites {
			t := byCity[d.city]
			fmt.Fprintf(&b, "%-10s %8d %12s %12d\n", d.city, t.tx, t.rev, alerts[d.city])
		}
	}
	fmt.Fprintf(&b, "%-13s %-10s %8s %9s %14s\n", "SITE", "LINK", "OUTBOX", "BACKLOG", "LAST CONTACT")
	for _, s := range fl.sites {
		link, depth := "?", "?"
		if st, err := s.api.Sync(ctx); err == nil {
			link, depth = "OFFLINE", fmt.Sprint(st.Outbox.Depth)
			if st.Uplink.Connected {
				link = "connected"
			}
		}
		backlog, contact := "-", "never"
		if f, err := hq.Site(ctx, s.id); err == nil {
			backlog = fmt.Sprint(f.Backlog)
			if f.LastContact != nil {
				contact = time.Since(*f.LastContact).Round(time.Second).String() + " ago"
			}
		}
		fmt.Fprintf(&b, "%-13s %-10s %8s %9s %14s\n", s.id, link, depth, backlog, contact)
	}
	text := b.String()
	if tty && prev > 0 {
		fmt.Fprintf(out, "\x1b[%dA\x1b[J", prev)
	}
	fmt.Fprint(out, text)
	return strings.Count(text, "\n")
}

// checkTotals waits for every site to drain to every node, then prints and
// compares central's totals with the sum of the sites' own.
func (fl *fleet) checkTotals(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fmt.Fprintf(out, "waiting for every site to drain to central…\n")
	for {
		pending := ""
		for _, s := range fl.sites {
			st, err := s.api.Sync(ctx)
			if err != nil {
				return err
			}
			for i, hq := range fl.hq {
				f, err := hq.Site(ctx, s.id)
				var ae *client.Error
				if err != nil && !(errors.As(err, &ae) && ae.Status == 404) {
					return err
				}
				if f.Watermark < st.Outbox.LastSeq {
					pending = fmt.Sprintf("%s at %s: %d of %d", s.id, fl.nodes[i].Dir(), f.Watermark, st.Outbox.LastSeq)
				}
			}
		}
		if pending == "" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sites did not drain within 60s (%s)", pending)
		case <-time.After(200 * time.Millisecond):
		}
	}
	from, to := wideRange()
	var siteTx int64
	var siteRev wire.Money
	fmt.Fprintf(out, "\n%-22s %10s %14s\n", "TOTALS", "SALES", "REVENUE")
	for _, s := range fl.sites {
		a, err := s.api.Sales(ctx, edgeapi.SalesQuery{GroupBy: "product", Window: "month", From: from, To: to})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "site %-17s %10d %14s\n", s.id, a.Totals.Transactions, a.Totals.Revenue)
		siteTx += a.Totals.Transactions
		siteRev += a.Totals.Revenue
	}
	fmt.Fprintf(out, "%-22s %10d %14s\n", "sum of the sites", siteTx, siteRev)
	var mismatch []string
	for i, hq := range fl.hq {
		a, err := hq.Sales(ctx, hqapi.SalesQuery{GroupBy: "site", Window: "month", From: from, To: to})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "central-%d %12s %10d %14s\n", i+1, "", a.Totals.Transactions, a.Totals.Revenue)
		if a.Totals.Transactions != siteTx || a.Totals.Revenue != siteRev {
			mismatch = append(mismatch, fmt.Sprintf("central-%d", i+1))
		}
	}
	if len(mismatch) > 0 {
		return fmt.Errorf("totals differ: %s != the sum of the sites", strings.Join(mismatch, ", "))
	}
	fmt.Fprintln(out, "central's totals equal the sum of the sites' on every node ✓")
	return nil
}

func (fl *fleet) close() {
	var wg sync.WaitGroup
	for _, s := range fl.sites {
		if s.link != nil {
			s.link.Close()
		}
		wg.Add(1)
		go func() { defer wg.Done(); s.node.Close() }()
	}
	wg.Wait()
	for _, n := range fl.nodes {
		if n != nil {
			wg.Add(1)
			go func() { defer wg.Done(); n.Close() }()
		}
	}
	wg.Wait()
}

// pinnedHTTP is an HTTP client for the simulator that trusts only the CA
// certificate in caFile.
func pinnedHTTP(caFile string) (*http.Client, error) {
	tc, err := tlsca.ClientConfig(caFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig, tr.MaxIdleConnsPerHost = tc, 8
	return &http.Client{Timeout: 15 * time.Second, Transport: tr}, nil
}
