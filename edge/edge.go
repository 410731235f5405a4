// Package edge runs a site appliance: the store, the single writer with the
// rule packages it runs, the alert sweeper and the HTTP API, with New → Open
// → Close.
package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/api"
	"github.com/vendsync/vendsync/edge/fault"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/edge/telemetry"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/web"
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

	Logger zerolog.Logger
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
		Logger:          zerolog.Nop(),
	}
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
	if len(c.HubURLs) > 0 && c.LeafSeed == "" {
		return errors.New("leaf seed: required to connect to central (from `vendsync central site add`)")
	}
	if c.ForwardBatch < 0 {
		return errors.New("forward batch must not be negative")
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
	return ingest.Config{MaxBatch: c.MaxBatch}.Validate()
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
	n.Store, err = store.Open(ctx, n.cfg.Dir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.Metrics = web.NewMetrics("vendsync_edge")
	if err = n.openRules(ctx); err != nil {
		return err
	}
	if err = n.openSync(ctx); err != nil {
		return err
	}
	signer, err := auth.NewSigner(n.Store.Site.TokenKey, n.Store.Site.ID, n.cfg.TokenTTL)
	if err != nil {
		return err
	}
	now := n.cfg.Ingest.Now
	if now == nil {
		now = time.Now
	}
	n.handler = api.New(api.Config{Store: n.Store, Machines: n.Machines, Stock: n.Stock, Sales: n.Sales, Telemetry: n.Telemetry, Faults: n.Faults,
		Signer: signer, Metrics: n.Metrics, Logger: n.cfg.Logger, Now: now, Uplink: n.uplinkState})
	if n.ln, err = net.Listen("tcp", n.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("listen %s: %w", n.cfg.HTTPAddr, err)
	}
	n.srv = &http.Server{Handler: n.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	bg, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.g, bg = errgroup.WithContext(bg)
	ln := n.ln
	n.g.Go(func() error {
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	n.g.Go(func() error { return n.sweep(bg) })
	if n.Forwarder != nil {
		n.g.Go(func() error { return n.poke(bg) })
	}
	n.log.Info().Str("site", n.Store.Site.ID).Str("http", n.ln.Addr().String()).Msg("edge started")
	return nil
}

// openRules starts the writer with every rule package on it. A new rule
// package is built here, after those it depends on, and before Open.
func (n *Node) openRules(ctx context.Context) error {
	c := n.cfg.Ingest
	w, err := ingest.New(n.Store, ingest.Config{MaxBatch: c.MaxBatch, Now: c.Now, Logger: n.cfg.Logger, Registerer: n.Metrics.Registry})
	if err != nil {
		return err
	}
	n.Machines = machine.New(w)
	if n.Telemetry, err = telemetry.New(w, n.Machines, c.telemetry()); err != nil {
		return err
	}
	n.Stock = stock.New(w, n.Machines, stock.Config{Thresholds: c.Thresholds, MaxClockSkew: c.MaxClockSkew})
	if n.Sales, err = sale.New(w, n.Machines, n.Stock, c.sale()); err != nil {
		return err
	}
	n.Faults = fault.New(w, n.Machines, c.MaxClockSkew)
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

// Addr is the address the API listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// URL is the API's base URL.
func (n *Node) URL() string { return "http://" + n.Addr() }

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
	n.log.Info().Msg("edge stopped")
	return errors.Join(errs...)
}
