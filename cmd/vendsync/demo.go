package main

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
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/simulate"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

type demoOptions struct {
	dir          string
	duration     time.Duration
	backfill     time.Duration
	rate         float64
	machines     int
	every        time.Duration
	offlineAfter time.Duration
	offlineFor   time.Duration
	logFile      string
}

// demoSites are the demo fleet; the last one's link to central goes down
// for a while and comes back.
var demoSites = []struct {
	id, name, city, tz, prefix string
	lat, lng                   float64
}{
	{"blr-techpark", "Tech Park", "Bangalore", "Asia/Kolkata", "BLR_", 12.97, 77.59},
	{"ber-hbf", "Hauptbahnhof", "Berlin", "Europe/Berlin", "BER_", 52.52, 13.37},
	{"nyc-midtown", "Midtown", "New York", "America/New_York", "NYC_", 40.75, -73.98},
}

func newDemoCmd(logs *logOptions) *cobra.Command {
	o := demoOptions{duration: 90 * time.Second, backfill: 24 * time.Hour, rate: 120, machines: 4, every: 2 * time.Second}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a whole fleet on this machine: 3-node central, 3 sites, simulated machines",
		Long: `Start a whole fleet on this machine, with no other setup:

  - a 3-node central cluster (HQ API on each node, replicated fleet stream);
  - three sites provisioned as an installer would ('vendsync provision site'):
    Bangalore (Asia/Kolkata), Berlin (Europe/Berlin), New York
    (America/New_York), each an edge with its own SQLite store;
  - the simulator driving --machines machines per site: --backfill of history
    first, then live sales, telemetry, faults and restocks;
  - the New York site's link to central goes down after --offline-after for
    --offline-for (it keeps selling; its outbox grows) and comes back.

It prints the URLs and the HQ credentials file, then a summary that updates
in place: sales per city at central, open alerts, each site's link, outbox
and last contact. At the end (--duration, or Ctrl-C) it waits for every site
to drain, prints central's totals and the sum of the sites' own totals, and
exits non-zero if they differ.

Without --dir the data lives in a temporary directory removed at the end;
with --dir it is kept and a later run continues from it. Logs go to
DIR/demo.log, so the terminal shows only the summary.`,
		Example: `  vendsync demo                          # 90 seconds, then the totals
  vendsync demo --duration 0 --dir .demo   # until Ctrl-C, keep the data
  # meanwhile, in another terminal (the demo prints the exact command):
  vendsync query sales --central http://127.0.0.1:PORT --credentials .demo/central-1/admin-credentials.json --by city`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("offline-after") {
				o.offlineAfter = 30 * time.Second
				if o.duration > 0 {
					o.offlineAfter = o.duration / 4
				}
			}
			if !cmd.Flags().Changed("offline-for") {
				o.offlineFor = 30 * time.Second
				if o.duration > 0 {
					o.offlineFor = o.duration / 4
				}
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), logs, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "keep the fleet's data here (default: a temporary directory, removed at exit)")
	f.DurationVar(&o.duration, "duration", o.duration, "how long to run; 0 runs until Ctrl-C")
	f.DurationVar(&o.backfill, "backfill", o.backfill, "history to generate per site before live traffic")
	f.Float64Var(&o.rate, "rate", o.rate, "sales per minute per site at the daily peak")
	f.IntVar(&o.machines, "machines", o.machines, "simulated machines per site")
	f.DurationVar(&o.every, "refresh", o.every, "how often the summary is redrawn")
	f.DurationVar(&o.offlineAfter, "offline-after", 0, "when New York's link goes down (default: a quarter of --duration, or 30s)")
	f.DurationVar(&o.offlineFor, "offline-for", 0, "how long it stays down; 0: never goes down (default: a quarter of --duration, or 30s)")
	f.StringVar(&o.logFile, "log-file", "", "where logs go (default DIR/demo.log)")
	return cmd
}

// demoFleet is the running demo.
type demoFleet struct {
	dir     string
	nodes   []*central.Node
	hqCreds string
	sites   []*demoSite
	log     zerolog.Logger
}

type demoSite struct {
	id, city, tz string
	dir          string
	node         *edge.Node
	link         *linkProxy // nil: direct to central
	stats        simulate.Stats
}

func runDemo(ctx context.Context, out io.Writer, logs *logOptions, o demoOptions) (err error) {
	started := time.Now()
	if o.machines < 1 || o.rate <= 0 {
		return errors.New("--machines and --rate must be positive")
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vendsync-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logPath := o.logFile
	if logPath == "" {
		logPath = filepath.Join(dir, "demo.log")
	}
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	defer lf.Close()
	lvl, err := zerolog.ParseLevel(logs.level)
	if err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", logs.level)
	}
	log := zerolog.New(lf).Level(lvl).With().Timestamp().Logger()
	fl := &demoFleet{dir: dir, log: log}
	defer fl.close()

	fmt.Fprintf(out, "vendsync demo — data in %s, logs in %s\n", dir, logPath)
	fmt.Fprintf(out, "starting a 3-node central cluster…\n")
	if err := fl.startCentral(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "provisioning 3 sites…\n")
	if err := fl.startSites(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "fleet up in %s\n\n", time.Since(started).Round(100*time.Millisecond))
	fl.printAccess(out)

	runCtx := ctx
	if o.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	// Simulators: history first (a modest rate, so it takes seconds), then live.
	var sims errgroup.Group
	for i, s := range fl.sites {
		creds, err := edge.ReadCredentials(filepath.Join(s.dir, edge.CredentialsFile))
		if err != nil {
			return err
		}
		loc, _ := time.LoadLocation(s.tz)
		sim := simulate.DefaultConfig()
		sim.EdgeURL, sim.ClientID, sim.ClientSecret = s.node.URL(), creds.ClientID, creds.ClientSecret
		if sim.HTTPClient, err = httpClient(filepath.Join(s.dir, tlsca.TLSDir, tlsca.CAFile), 15*time.Second); err != nil {
			return err
		}
		sim.HTTPClient.Transport.(*http.Transport).MaxIdleConnsPerHost = 8
		sim.Machines, sim.City, sim.Building, sim.Timezone, sim.SalesPerMinute = o.machines, s.city, demoSites[i].name, loc, o.rate
		sim.MachinePrefix, sim.Seed, sim.TelemetryEvery = demoSites[i].prefix, int64(i+1), 5*time.Second
		sim.Products, sim.Concurrency = 8, 4
		sim.Logger = log.With().Str("component", "simulator").Str("site", s.id).Logger()
		sims.Go(func() error {
			if o.backfill > 0 {
				h := sim
				h.Backfill, h.BackfillOnly, h.SalesPerMinute = o.backfill, true, min(o.rate, 10)
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
	// One site's link goes down for a while and comes back.
	flaky := fl.sites[len(fl.sites)-1]
	if o.offlineFor > 0 {
		go func() {
			select {
			case <-runCtx.Done():
				return
			case <-time.After(o.offlineAfter):
			}
			log.Info().Str("site", flaky.id).Msg("demo: cutting the site's link to central")
			flaky.link.cut()
			select {
			case <-runCtx.Done():
			case <-time.After(o.offlineFor):
			}
			offline := !flaky.node.Leaf.Connected()
			flaky.link.restore()
			log.Info().Str("site", flaky.id).Bool("wasOffline", offline).Msg("demo: link restored")
		}()
	}

	tty := false
	if f, ok := out.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	every := o.every
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
	flaky.link.restore()
	lines = fl.drawSummary(out, tty, lines)
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
	if simErr != nil && !errors.Is(simErr, context.Canceled) && !errors.Is(simErr, context.DeadlineExceeded) {
		return fmt.Errorf("simulator: %w", simErr)
	}
	return fl.checkTotals(out)
}

func (s *demoSite) addStats(st simulate.Stats) {
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
func (fl *demoFleet) startCentral(ctx context.Context) error {
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
	fl.nodes = make([]*central.Node, 3)
	var g errgroup.Group
	for i := range 3 {
		cfg := central.DefaultConfig()
		cfg.Dir = filepath.Join(fl.dir, fmt.Sprintf("central-%d", i+1))
		cfg.ServerName = fmt.Sprintf("central-%d", i+1)
		cfg.HTTPAddr, cfg.LeafListen = "127.0.0.1:0", leafs[i]
		cfg.HTTPTLS, cfg.LeafTLS = true, true // as `central run` does
		cfg.ClusterName, cfg.ClusterListen, cfg.Replicas = "hq", routes[i], 3
		cfg.ReadyTimeout = 90 * time.Second
		for j, r := range routes {
			if j != i {
				cfg.Routes = append(cfg.Routes, "nats-route://"+r)
			}
		}
		cfg.Logger = fl.log
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
	for _, n := range fl.nodes {
		if p := filepath.Join(n.Dir(), central.CredentialsFile); fileExists(p) {
			fl.hqCreds = p
			return nil
		}
	}
	return errors.New("no node wrote the HQ admin credentials")
}

// startSites provisions the sites (idempotent: a kept --dir is reused) and
// starts their edges.
func (fl *demoFleet) startSites(ctx context.Context) error {
	var hubs []string
	for _, n := range fl.nodes {
		hubs = append(hubs, n.Hub.LeafURL())
	}
	for i, d := range demoSites {
		s := &demoSite{id: d.id, city: d.city, tz: d.tz, dir: filepath.Join(fl.dir, "site-"+d.id)}
		siteHubs := hubs
		if i == len(demoSites)-1 {
			var err error
			if s.link, err = newLinkProxy(strings.TrimPrefix(hubs[0], "nats-leaf://")); err != nil {
				return err
			}
			siteHubs = []string{s.link.url()}
		}
		spec := siteSpec{central: fl.nodes[i%3].URL(), credentials: fl.hqCreds, out: s.dir, site: d.id, name: d.name, city: d.city, tz: d.tz,
			lat: d.lat, lng: d.lng, hasLat: true, hasLng: true, hubs: siteHubs, http: "127.0.0.1:0", ca: fl.nodes[0].CAPath()}
		if err := provisionSite(ctx, io.Discard, spec); err != nil {
			return fmt.Errorf("provision %s: %w", d.id, err)
		}
		seed, err := os.ReadFile(filepath.Join(s.dir, LeafSeedFile))
		if err != nil {
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
		cfg.Logger = fl.log.With().Str("site", d.id).Logger()
		if s.node, err = edge.New(cfg); err != nil {
			return err
		}
		// Not ctx: the edge must outlive a Ctrl-C to drain to central at the end.
		if err := s.node.Open(context.Background()); err != nil {
			s.node = nil
			return fmt.Errorf("start site %s: %w", d.id, err)
		}
		fl.sites = append(fl.sites, s)
	}
	return nil
}

func (fl *demoFleet) printAccess(out io.Writer) {
	fmt.Fprintf(out, "HQ API      ")
	for i, n := range fl.nodes {
		if i > 0 {
			fmt.Fprint(out, "  ")
		}
		fmt.Fprint(out, n.URL())
	}
	fmt.Fprintf(out, "\nHQ login    %s (ADMIN client credentials)\n", fl.hqCreds)
	for _, s := range fl.sites {
		note := ""
		if s.link != nil {
			note = "  (its link to central will go down and come back)"
		}
		fmt.Fprintf(out, "site        %-13s %s  %s%s\n", s.id, s.node.URL(), filepath.Join(s.dir, edge.CredentialsFile), note)
	}
	fmt.Fprintf(out, "fleet CA    %s (every API and leaf link is TLS; clients pin it with --ca)\n", fl.nodes[0].CAPath())
	fmt.Fprintf(out, "try         vendsync query sales --central %s --credentials %s --ca %s --by city\n", fl.nodes[0].URL(), fl.hqCreds, fl.nodes[0].CAPath())
	fmt.Fprintf(out, "            vendsync query sites --central %s --credentials %s --ca %s\n\n", fl.nodes[1].URL(), fl.hqCreds, fl.nodes[1].CAPath())
}

var wideRange = struct{ from, to time.Time }{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}

// drawSummary prints the live summary; on a terminal it redraws in place.
func (fl *demoFleet) drawSummary(out io.Writer, tty bool, prev int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var b strings.Builder
	hq := fl.nodes[0].Store
	fmt.Fprintf(&b, "── %s ── central (node central-1) ──\n", time.Now().Format("15:04:05"))
	alerts := map[string]int{}
	if as, err := hq.Alerts(ctx, readmodel.AlertFilter{Status: "OPEN", Limit: 1000}); err == nil {
		for _, a := range as {
			alerts[a.City]++
		}
	}
	if res, err := hq.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.ByCity, Window: bucket.Month, From: wideRange.from, To: wideRange.to}); err == nil {
		type tot struct{ tx, rev int64 }
		byCity := map[string]tot{}
		for _, r := range res.Rows {
			t := byCity[r.Key]
			t.tx += r.TxCount
			t.rev += r.RevenueCents
			byCity[r.Key] = t
		}
		fmt.Fprintf(&b, "%-10s %8s %12s %12s\n", "CITY", "SALES", "REVENUE", "OPEN ALERTS")
		for _, d := range demoSites {
			t := byCity[d.city]
			fmt.Fprintf(&b, "%-10s %8d %12s %12d\n", d.city, t.tx, wire.Money(t.rev), alerts[d.city])
		}
	}
	fmt.Fprintf(&b, "%-13s %-10s %8s %9s %14s\n", "SITE", "LINK", "OUTBOX", "BACKLOG", "LAST CONTACT")
	for _, s := range fl.sites {
		link := "connected"
		if s.node.Leaf == nil || !s.node.Leaf.Connected() {
			link = "OFFLINE"
		}
		depth := "?"
		if st, err := s.node.Store.OutboxStats(ctx, time.Now()); err == nil {
			depth = fmt.Sprint(st.Depth)
		}
		backlog, contact := "-", "never"
		if f, err := hq.Site(ctx, s.id); err == nil {
			backlog = fmt.Sprint(f.Backlog)
			if !f.LastContact.IsZero() {
				contact = time.Since(f.LastContact).Round(time.Second).String() + " ago"
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
func (fl *demoFleet) checkTotals(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fmt.Fprintf(out, "waiting for every site to drain to central…\n")
	for {
		pending := ""
		for _, s := range fl.sites {
			st, err := s.node.Store.OutboxStats(ctx, time.Now())
			if err != nil {
				return err
			}
			for _, n := range fl.nodes {
				f, err := n.Store.Site(ctx, s.id)
				if err != nil && !errors.Is(err, readmodel.ErrNotFound) {
					return err
				}
				if f.Contiguous < st.LastSeq {
					pending = fmt.Sprintf("%s at %s: %d of %d", s.id, n.Dir(), f.Contiguous, st.LastSeq)
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
	var siteTx, siteRev int64
	fmt.Fprintf(out, "\n%-22s %10s %14s\n", "TOTALS", "SALES", "REVENUE")
	for _, s := range fl.sites {
		_, tot, err := s.node.Store.SalesAgg(ctx, "product", bucket.Month, wideRange.from, wideRange.to)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "site %-17s %10d %14s\n", s.id, tot.Transactions, tot.Revenue)
		siteTx += tot.Transactions
		siteRev += int64(tot.Revenue)
	}
	fmt.Fprintf(out, "%-22s %10d %14s\n", "sum of the sites", siteTx, wire.Money(siteRev))
	var mismatch []string
	for i, n := range fl.nodes {
		res, err := n.Store.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.BySite, Window: bucket.Month, From: wideRange.from, To: wideRange.to})
		if err != nil {
			return err
		}
		var tx, rev int64
		for _, r := range res.Rows {
			tx += r.TxCount
			rev += r.RevenueCents
		}
		fmt.Fprintf(out, "central-%d %12s %10d %14s\n", i+1, "", tx, wire.Money(rev))
		if tx != siteTx || rev != siteRev {
			mismatch = append(mismatch, fmt.Sprintf("central-%d", i+1))
		}
	}
	if len(mismatch) > 0 {
		return fmt.Errorf("totals differ: %s != the sum of the sites", strings.Join(mismatch, ", "))
	}
	fmt.Fprintln(out, "central's totals equal the sum of the sites' on every node ✓")
	return nil
}

func (fl *demoFleet) close() {
	var wg sync.WaitGroup
	for _, s := range fl.sites {
		if s.link != nil {
			s.link.close()
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

// linkProxy forwards TCP to central's leaf port and can cut the link, like
// a site's network going down and coming back.
type linkProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newLinkProxy(target string) (*linkProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &linkProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

func (p *linkProxy) url() string { return "nats-leaf://" + p.ln.Addr().String() }

func (p *linkProxy) cut() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *linkProxy) restore() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *linkProxy) close() { p.ln.Close(); p.cut() }

func (p *linkProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				return
			}
			u, err := net.DialTimeout("tcp", p.target, 2*time.Second)
			if err != nil {
				c.Close()
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				u.Close()
				return
			}
			p.conns[c], p.conns[u] = struct{}{}, struct{}{}
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) { io.Copy(dst, src); dst.Close(); src.Close() }
			go pipe(c, u)
			go pipe(u, c)
		}()
	}
}
