// Package edge runs a site appliance: the store, the single writer with the
// rule packages it runs, the alert sweeper and the HTTP API, with New → Open
// → Close.
package edge

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/api"
	"github.com/vendsync/vendsync/edge/backup"
	"github.com/vendsync/vendsync/edge/dex/audit"
	"github.com/vendsync/vendsync/edge/fault"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/edge/lease"
	"github.com/vendsync/vendsync/edge/lot"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/order"
	"github.com/vendsync/vendsync/edge/payment"
	"github.com/vendsync/vendsync/edge/promotion"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/edge/telemetry"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/dirlock"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/migrations"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/forward"
)

// CredentialsFile is the file `edge init` writes the first admin credential to.
const CredentialsFile = "admin-credentials.json"

// Credentials are client credentials as written to disk.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Config configures a running edge. DefaultConfig gives the defaults.
type Config struct {
	// Dir is the data directory made by Init.
	Dir string
	// HTTPAddr is where the API listens, e.g. 127.0.0.1:8080 (port 0: any free port).
	HTTPAddr string
	// Ingest tunes the writer, the rules and the alert thresholds.
	Ingest IngestConfig
	// SweepEvery is how often time-driven alerts are evaluated.
	SweepEvery time.Duration
	// TokenTTL is the lifetime of access tokens.
	TokenTTL time.Duration
	// ShutdownTimeout bounds how long Close waits for in-flight requests.
	ShutdownTimeout time.Duration
	// HTTPLimits bound the API's connections, headers and timeouts.
	HTTPLimits web.ServerLimits
	// TLSCertFile and TLSKeyFile serve the API over TLS (a provisioned site
	// has them in DIR/tls/, issued by the fleet CA). Empty: plaintext, for
	// tests in one process; `vendsync edge run` refuses that without
	// --insecure-http.
	TLSCertFile, TLSKeyFile string
	// HubCAFile is the CA certificate the hub's leaf port must present a
	// certificate from: the leaf link then runs over TLS. Empty: plaintext.
	HubCAFile string
	// RateLimits bound token requests and writes per client and address,
	// and lock a client id out after repeated wrong secrets.
	RateLimits web.RateLimits
	// Retention is how long raw telemetry and audit rows are kept, and how
	// often older ones are pruned.
	Retention Retention
	// AuthRefresh is how often the node rereads revoked clients and the
	// token signing key, which other processes may change (`edge client
	// revoke`, `edge rotate-key`): the longest a revoked token still works.
	AuthRefresh time.Duration

	// NATSListen is host:port for on-site NATS clients of the embedded
	// server; "" serves in-process clients only.
	NATSListen string
	// HubURLs are central's leaf listeners (nats-leaf://host:port). None:
	// the site runs standalone and its outbox simply grows.
	HubURLs []string
	// LeafSeed is the site's NKEY seed for the leaf connection (issued by
	// `vendsync central site add`); required with HubURLs.
	LeafSeed string
	// HubURLsOnly connects only to HubURLs, never to the addresses central's
	// nodes gossip. It is the default: those addresses are central's own view
	// of itself (often loopback or a private network), not what a site in
	// the field can reach; list every node in HubURLs instead.
	HubURLsOnly bool
	// ForwardBatch is how many outbox events go up in one message.
	ForwardBatch int
	// HeartbeatEvery is how often the site tells central it is connected
	// (0: DefaultHeartbeatEvery).
	HeartbeatEvery time.Duration
	// Backup, when its Dir is set, keeps generations of the site database
	// there (edge/backup); before a migration, a copy goes there too (or
	// into Dir when Backup.Dir is empty).
	Backup backup.Config

	// BinaryVersion is this binary's version (`vendsync version`), reported
	// to central in every heartbeat and in GET /sync.
	BinaryVersion string

	Logger zerolog.Logger

	// OrderManualAccept makes every pre-order wait for the operator's
	// accept or reject (no auto-accept).
	OrderManualAccept bool
	// OrderFreshCount is how recently a product's count must have changed
	// for a pre-order of it to be auto-accepted (0: an hour).
	OrderFreshCount time.Duration
	// Payments configures the payments ledger's gateway (edge/payment).
	Payments PaymentsConfig
	// OrderSubstituteWindow is how long a customer has to answer a
	// substitute offer before it counts as refused (0: 15 minutes).
	OrderSubstituteWindow time.Duration
}

// DefaultConfig returns the defaults for a site in dir.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:        "127.0.0.1:8080",
		HubURLsOnly:     true,
		Ingest:          DefaultIngestConfig(),
		SweepEvery:      30 * time.Second,
		TokenTTL:        time.Hour,
		ShutdownTimeout: 10 * time.Second,
		HTTPLimits:      web.DefaultServerLimits(),
		AuthRefresh:     time.Second,
		RateLimits:      web.DefaultRateLimits(),
		Retention:       DefaultRetention(),
		Logger:          zerolog.Nop(),
	}
}

// Retention is how long the site keeps rows that only grow: raw telemetry
// (a machine reporting every few seconds writes gigabytes a day) and the
// audit log (refused logins included). Zero keeps them forever.
type Retention struct {
	Telemetry time.Duration
	Audit     time.Duration
	// Every is how often rows past their age are deleted.
	Every time.Duration
}

// DefaultRetention keeps raw telemetry 30 days and audit rows 365 days,
// pruned hourly.
func DefaultRetention() Retention {
	return Retention{Telemetry: 30 * 24 * time.Hour, Audit: 365 * 24 * time.Hour, Every: time.Hour}
}

// Validate names the first bad field.
func (r Retention) Validate() error {
	switch {
	case r.Telemetry < 0, r.Audit < 0:
		return errors.New("retention must not be negative (0 keeps rows forever)")
	case (r.Telemetry > 0 || r.Audit > 0) && r.Every <= 0:
		return errors.New("retention: the prune interval must be positive")
	case r.Telemetry > 0 && r.Telemetry < time.Hour, r.Audit > 0 && r.Audit < time.Hour:
		return errors.New("retention: keep rows at least an hour")
	}
	return nil
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("dir: required (the site's data directory)")
	}
	if c.HTTPAddr == "" {
		return errors.New("http: required (host:port to listen on)")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("http %q: not host:port", c.HTTPAddr)
	}
	if c.SweepEvery <= 0 {
		return errors.New("sweep interval must be positive")
	}
	if c.TokenTTL < time.Minute {
		return errors.New("token ttl must be at least a minute")
	}
	if c.AuthRefresh <= 0 {
		return errors.New("auth refresh interval must be positive")
	}
	if err := c.RateLimits.Validate(); err != nil {
		return err
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("tls cert and tls key go together")
	}
	if err := c.Retention.Validate(); err != nil {
		return err
	}
	if len(c.HubURLs) > 0 && c.LeafSeed == "" {
		return errors.New("leaf seed: required to connect to central (from `vendsync central site add`)")
	}
	if c.ForwardBatch < 0 {
		return errors.New("forward batch must not be negative")
	}
	if err := c.HTTPLimits.Validate(); err != nil {
		return fmt.Errorf("http limits: %w", err)
	}
	if c.Backup.Dir != "" {
		if err := c.Backup.Validate(); err != nil {
			return err
		}
	}
	return c.Ingest.Validate()
}

// IngestConfig tunes the writer and the rules it runs.
// DefaultIngestConfig gives the defaults.
type IngestConfig struct {
	Thresholds alert.Thresholds
	// AmountTolerance is how far a sale's amount may differ from price ×
	// quantity, as a fraction of it (0.10 = 10%), on top of one cent.
	AmountTolerance float64
	// MaxClockSkew is how far in the future an event timestamp may be.
	MaxClockSkew time.Duration
	// MaxBatch caps how many requests share one transaction.
	MaxBatch int
	// TelemetrySummaryEvery is how often a machine's telemetry summary goes
	// up to central when nothing changes.
	TelemetrySummaryEvery time.Duration
	// Now is the site's clock (default time.Now).
	Now func() time.Time
	// DEX tunes DEX reconciliation (its alert threshold).
	DEX audit.Config
	// FoodSafetyWindow is how long a machine may stay above its
	// temperature limit before its perishable lots go on hold (0: the
	// default, lot.DefaultConfig).
	FoodSafetyWindow time.Duration
	// Fsync is how a write is made durable before it is acknowledged:
	// ingest.FsyncInline (the default: each commit fsyncs itself,
	// synchronous=FULL), ingest.FsyncPipelined (the WAL is fsynced while
	// the writer runs the next batch) or ingest.FsyncLog (a single sale
	// is made durable by its record in the intake log).
	Fsync ingest.Fsync
	// SyncHook runs each WAL fsync of a pipelined writer (ingest.Config):
	// tests only.
	SyncHook func(sync func() error) error
}

// DefaultIngestConfig returns the defaults.
func DefaultIngestConfig() IngestConfig {
	sc, tc := sale.DefaultConfig(), telemetry.DefaultConfig()
	return IngestConfig{
		Thresholds:            tc.Thresholds,
		AmountTolerance:       sc.AmountTolerance,
		MaxClockSkew:          sc.MaxClockSkew,
		MaxBatch:              ingest.DefaultConfig().MaxBatch,
		TelemetrySummaryEvery: tc.SummaryEvery,
		Now:                   time.Now,
		DEX:                   audit.DefaultConfig(),
		FoodSafetyWindow:      lot.DefaultConfig().FoodSafetyWindow,
		Fsync:                 ingest.DefaultConfig().Fsync,
	}
}

func (c IngestConfig) sale() sale.Config {
	return sale.Config{AmountTolerance: c.AmountTolerance, MaxClockSkew: c.MaxClockSkew}
}

func (c IngestConfig) telemetry() telemetry.Config {
	return telemetry.Config{Thresholds: c.Thresholds, MaxClockSkew: c.MaxClockSkew, SummaryEvery: c.TelemetrySummaryEvery}
}

// Validate names the first bad field.
func (c IngestConfig) Validate() error {
	if err := c.sale().Validate(); err != nil {
		return err
	}
	if err := c.telemetry().Validate(); err != nil {
		return err
	}
	if c.FoodSafetyWindow < 0 {
		return fmt.Errorf("food-safety window must not be negative")
	}
	if err := c.DEX.Validate(); err != nil {
		return err
	}
	return ingest.Config{MaxBatch: c.MaxBatch, Fsync: c.Fsync}.Validate()
}

// Init creates a site in dir and its first ADMIN credential, written to
// dir/admin-credentials.json (0600). It fails if dir already holds a site.
func Init(ctx context.Context, dir string, site store.SiteInit) (Credentials, error) {
	st, err := store.Init(ctx, dir, site)
	if err != nil {
		return Credentials{}, err
	}
	defer st.Close()
	c, secret, err := st.AddClient(ctx, auth.RoleAdmin, "", "initial admin")
	if err != nil {
		return Credentials{}, err
	}
	creds := Credentials{ClientID: c.ClientID, ClientSecret: secret}
	if err := WriteCredentials(filepath.Join(dir, CredentialsFile), creds); err != nil {
		return Credentials{}, err
	}
	return creds, nil
}

// InitTLS gives a standalone site a certificate for its API, valid for
// hosts: a CA made for this one purpose signs it and is then forgotten (its
// key is never written), so DIR/tls/ca.pem is what the site's clients pin.
// A site provisioned by central gets a certificate from the fleet CA
// instead ('provision site' replaces these files).
func InitTLS(dir, site string, hosts []string) error {
	ca, err := tlsca.New("vendsync site "+site+" CA", time.Now())
	if err != nil {
		return err
	}
	leaf, err := ca.Issue("vendsync site "+site, hosts, time.Now())
	if err != nil {
		return err
	}
	return tlsca.WriteSite(dir, leaf.CertPEM, leaf.KeyPEM, ca.CertPEM)
}

// WriteCredentials writes creds as JSON to path with mode 0600, refusing to
// overwrite an existing file.
func WriteCredentials(path string, creds Credentials) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(creds); err != nil {
		f.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	return f.Close()
}

// ReadCredentials reads a credentials file.
func ReadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("read credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("read credentials %s: %w", path, err)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return Credentials{}, fmt.Errorf("read credentials %s: client_id and client_secret are required", path)
	}
	return c, nil
}

// Node is a running site appliance.
type Node struct {
	cfg     Config
	log     zerolog.Logger
	Store   *store.Store
	Writer  *ingest.Writer
	Metrics *web.Metrics
	handler http.Handler
	srv     *http.Server
	ln      net.Listener
	cancel  context.CancelFunc
	g       *errgroup.Group
	lock    *dirlock.Lock // keeps a second process off cfg.Dir
	signer  *auth.Signer

	// Leaf is the site's embedded NATS server (always running).
	Leaf *leaf.Node
	// Forwarder drains the outbox to central (nil when standalone).
	Forwarder *forward.Forwarder
	// Downlink applies central's configuration (nil when standalone).
	Downlink *downlink.Watcher

	// The rule packages, run by Writer.
	Machines  *machine.Rules
	Stock     *stock.Rules
	Sales     *sale.Rules
	Telemetry *telemetry.Rules
	Faults    *fault.Rules
	// Audit takes DEX files, visits and cash collections.
	Audit *audit.Rules
	// Promotions holds the site's promotions and prices sales with them.
	Promotions *promotion.Rules
	// Leases are the site's shares of fleet-wide promotion quotas.
	Leases *lease.Rules
	// Orders runs pre-orders placed at central.
	Orders *order.Rules
	// Payments is the payments ledger.
	Payments *payment.Rules
}

// New validates cfg and returns an unopened node.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("edge config: %w", err)
	}
	return &Node{cfg: cfg, log: cfg.Logger.With().Str("component", "edge").Logger()}, nil
}

// Open opens the store, starts the writer and the sweeper, and starts
// serving HTTP. It fails if the directory holds no site or a newer schema.
func (n *Node) Open(ctx context.Context) (err error) {
	// A missing directory is left to store.Open, which says to run init.
	if n.lock, err = dirlock.Acquire(n.cfg.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	defer func() {
		if err != nil && n.Store == nil {
			n.lock.Release()
			n.lock = nil
		}
	}()
	// Phase durations, logged at debug level with "edge started".
	t0 := time.Now()
	var tBackup, tStore, tRules, tSync time.Duration
	// A database an older binary wrote is copied before it is migrated.
	if pre, err := backup.BeforeMigrate(ctx, n.cfg.Dir, migrations.Edge, n.cfg.Backup.Dir); err != nil {
		return err
	} else if pre != "" {
		n.log.Info().Str("file", pre).Msg("copied the database before migrating it")
	}
	tBackup = time.Since(t0)
	n.Store, err = store.Open(ctx, n.cfg.Dir)
	if err != nil {
		return err
	}
	tStore = time.Since(t0) - tBackup
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.Metrics = web.NewMetrics("vendsync_edge")
	// The NATS leaf needs nothing from the rules: it starts while they load.
	leafDone := make(chan error, 1)
	go func() { leafDone <- n.startLeaf(ctx) }()
	err = n.openRules(ctx)
	tRules = time.Since(t0) - tBackup - tStore
	if lerr := <-leafDone; err == nil {
		err = lerr
	}
	if err != nil {
		return err
	}
	if err = n.openUplink(ctx); err != nil {
		return err
	}
	tSync = time.Since(t0) - tBackup - tStore - tRules // the leaf's wait beyond the rules, and the uplink
	signer, err := auth.NewSigner(n.Store.Site.TokenKey, n.Store.Site.ID, n.cfg.TokenTTL)
	if err != nil {
		return err
	}
	n.signer = signer
	if err = n.refreshAuth(ctx); err != nil {
		return err
	}
	now := n.cfg.Ingest.Now
	if now == nil {
		now = time.Now
	}
	n.handler = api.New(api.Config{Store: n.Store, Machines: n.Machines, Stock: n.Stock, Sales: n.Sales, Telemetry: n.Telemetry, Faults: n.Faults, Audit: n.Audit, Promotions: n.Promotions, Orders: n.Orders,
		Signer: signer, Metrics: n.Metrics, Logger: n.cfg.Logger, Now: now, Uplink: n.uplinkState,
		Revoked: n.Store.Revoked, Limiter: web.NewLimiter(n.cfg.RateLimits, nil), Ready: n.Writer.Ready, Payments: n.Payments})
	var httpTLS *tls.Config
	if n.cfg.TLSCertFile != "" {
		if httpTLS, err = tlsca.ServerConfig(n.cfg.TLSCertFile, n.cfg.TLSKeyFile); err != nil {
			return err
		}
	}
	if n.ln, err = web.Listen(n.cfg.HTTPAddr, n.cfg.HTTPLimits, httpTLS); err != nil {
		return err
	}
	n.srv = web.NewServer(n.handler, n.cfg.HTTPLimits, n.cfg.Logger)
	bg, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.g, bg = errgroup.WithContext(bg)
	srv, ln := n.srv, n.ln
	n.g.Go(func() error { return web.Serve(srv, ln) })
	n.g.Go(func() error { return n.sweep(bg) })
	n.g.Go(func() error { return n.watchAuth(bg) })
	n.g.Go(func() error {
		return n.Audit.RunRecheck(bg, func(err error) { n.log.Error().Err(err).Msg("dex recheck") },
			func(k int) { n.log.Info().Int("revised", k).Msg("late sales: reconciliations revised") })
	})
	if n.cfg.Retention.Telemetry > 0 || n.cfg.Retention.Audit > 0 {
		n.g.Go(func() error { return n.prune(bg, now) })
	}
	if n.cfg.Backup.Dir != "" {
		bc := n.cfg.Backup
		bc.Logger = n.cfg.Logger
		b, err := backup.NewRunner(n.cfg.Dir, bc)
		if err != nil {
			return err
		}
		n.g.Go(func() error { return b.Run(bg) })
	}
	if n.Forwarder != nil {
		n.g.Go(func() error { return n.poke(bg) })
		n.g.Go(func() error { return n.heartbeat(bg) })
	}
	n.log.Info().Str("site", n.Store.Site.ID).Str("http", n.ln.Addr().String()).Msg("edge started")
	n.log.Debug().Dur("total", time.Since(t0)).Dur("backup", tBackup).Dur("store", tStore).Dur("rules", tRules).Dur("sync", tSync).
		Msg("start phases (ms)")
	return nil
}

// openRules starts the writer with every rule package on it. A new rule
// package is built here, after those it depends on, and before Open.
func (n *Node) openRules(ctx context.Context) error {
	c := n.cfg.Ingest
	w, err := ingest.New(n.Store, ingest.Config{MaxBatch: c.MaxBatch, Now: c.Now, Logger: n.cfg.Logger, Registerer: n.Metrics.Registry,
		Fsync: c.Fsync, SyncHook: c.SyncHook})
	if err != nil {
		return err
	}
	n.Machines = machine.New(w)
	if n.Telemetry, err = telemetry.New(w, n.Machines, c.telemetry()); err != nil {
		return err
	}
	lc := lot.DefaultConfig()
	if c.FoodSafetyWindow > 0 {
		lc.FoodSafetyWindow = c.FoodSafetyWindow
	}
	lots, err := lot.New(w, lc)
	if err != nil {
		return err
	}
	n.Telemetry.Watch(lots)
	n.Stock = stock.New(w, n.Machines, stock.Config{Thresholds: c.Thresholds, MaxClockSkew: c.MaxClockSkew, Lots: lots})
	if n.Sales, err = sale.New(w, n.Machines, n.Stock, c.sale()); err != nil {
		return err
	}
	n.Promotions = promotion.New(w)
	n.Sales.UsePromotions(n.Promotions)
	n.Faults = fault.New(w, n.Machines, c.MaxClockSkew)
	dc := c.DEX
	if dc.MaxClockSkew == 0 {
		dc.MaxClockSkew = c.MaxClockSkew
	}
	n.Audit = audit.New(w, n.Machines, n.Stock, dc)
	n.Leases = lease.New(w)
	n.Promotions.UseLeases(n.Leases)
	if err := n.openPayments(w); err != nil {
		return err
	}
	if n.Orders, err = order.New(w, n.Store.DB, n.Stock, n.Sales, n.orderConfig()); err != nil {
		return err
	}
	if err := w.Open(ctx); err != nil {
		return err
	}
	n.Writer = w
	return nil
}

func (n *Node) sweep(ctx context.Context) error {
	t := time.NewTicker(n.cfg.SweepEvery)
	defer t.Stop()
	for {
		if err := n.Writer.Sweep(ctx); err != nil && ctx.Err() == nil {
			n.log.Error().Err(err).Msg("alert sweep")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// refreshAuth rereads the revoked clients and the signing key.
func (n *Node) refreshAuth(ctx context.Context) error {
	key, err := n.Store.RefreshAuth(ctx)
	if err != nil {
		return err
	}
	if !n.signer.KeyIs(key) {
		if err := n.signer.Rotate(key); err != nil {
			return fmt.Errorf("rotate token key: %w", err)
		}
		n.log.Info().Msg("token signing key rotated: tokens signed before are refused")
	}
	return nil
}

// prune deletes telemetry and audit rows past their retention, at start
// and then every Retention.Every.
func (n *Node) prune(ctx context.Context, now func() time.Time) error {
	t := time.NewTicker(n.cfg.Retention.Every)
	defer t.Stop()
	for {
		var tb, ab time.Time
		if r := n.cfg.Retention; r.Telemetry > 0 {
			tb = now().Add(-r.Telemetry)
		}
		if r := n.cfg.Retention; r.Audit > 0 {
			ab = now().Add(-r.Audit)
		}
		tel, aud, err := n.Store.Prune(ctx, tb, ab)
		switch {
		case err != nil && ctx.Err() == nil:
			n.log.Error().Err(err).Msg("prune old telemetry and audit rows")
		case tel+aud > 0:
			n.log.Info().Int64("telemetry", tel).Int64("audit", aud).Msg("pruned rows past their retention")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// watchAuth keeps the revoked set and the signing key current.
func (n *Node) watchAuth(ctx context.Context) error {
	t := time.NewTicker(n.cfg.AuthRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := n.refreshAuth(ctx); err != nil && ctx.Err() == nil {
			n.log.Error().Err(err).Msg("reread revoked clients and token key")
		}
	}
}

// Addr is the address the API listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// URL is the API's base URL (https:// when it serves TLS).
func (n *Node) URL() string {
	if n.cfg.TLSCertFile != "" {
		return "https://" + n.Addr()
	}
	return "http://" + n.Addr()
}

// Handler is the API handler (for in-process tests).
func (n *Node) Handler() http.Handler { return n.handler }

// Close finishes in-flight requests, stops the loops, and closes the store.
func (n *Node) Close() error {
	var errs []error
	if n.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
		errs = append(errs, n.srv.Shutdown(ctx))
		cancel()
	}
	if n.cancel != nil {
		n.cancel()
		errs = append(errs, n.g.Wait())
	}
	if n.Downlink != nil {
		errs = append(errs, n.Downlink.Close())
	}
	if n.Forwarder != nil {
		errs = append(errs, n.Forwarder.Close())
	}
	if n.Leaf != nil {
		n.Leaf.Close()
	}
	if n.Writer != nil {
		errs = append(errs, n.Writer.Close())
	}
	if n.Store != nil {
		errs = append(errs, n.Store.Close())
	}
	errs = append(errs, n.lock.Release())
	n.lock = nil
	n.log.Info().Msg("edge stopped")
	return errors.Join(errs...)
}
