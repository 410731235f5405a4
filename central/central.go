// Package central runs one central node: the embedded NATS hub (JetStream
// domain "hub", a leafnode listener for sites, optionally one of a cluster),
// the aggregator that consumes the fleet's events into this node's SQLite read
// model, the shared site registry and HQ credentials, and the HQ HTTP API.
// Every node answers queries from its own read model.
package central

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/aggregator"
	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/dashboard"
	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/central/hqlog"
	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/central/liveness"
	"github.com/vendsync/vendsync/central/promotion"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/central/webhook"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/dirlock"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Files in a central node's data directory.
const (
	ReadModelFile   = "central.db"
	CredentialsFile = "admin-credentials.json"
	// CAFile is the fleet CA's certificate, written by every node: what
	// clients and sites pin (copy it to them; it is not secret).
	CAFile = "ca.pem"
	// NodeCertFile and NodeKeyFile are this node's certificate from the
	// fleet CA, kept so that its leaf port serves TLS from the moment it
	// starts (the CA itself lives in the shared bucket).
	NodeCertFile = "tls/node.crt"
	NodeKeyFile  = "tls/node.key"
)

// Config configures a central node. DefaultConfig gives the defaults.
type Config struct {
	// Dir holds the node's JetStream store (nats/), its read model and
	// admin-credentials.json, an HQ ADMIN credential of this node's own
	// written on its first start.
	Dir string
	// ServerName is unique per node (default "central-1").
	ServerName string
	// HTTPAddr is where the HQ API listens.
	HTTPAddr string
	// ClientListen is host:port for NATS clients ("" = in-process only).
	ClientListen string
	// LeafListen is host:port sites connect their leaf nodes to.
	LeafListen string
	// ClusterName, ClusterListen and Routes make this node one of a
	// JetStream cluster; empty ClusterName runs a single node.
	ClusterName   string
	ClusterListen string
	Routes        []string
	// ClusterAdvertise is where the other nodes are told to reach this
	// node's routes (default ClusterListen); for a NAT or a proxy.
	ClusterAdvertise string
	// Replicas of the fleet stream and shared buckets: 1, or 3 in a cluster.
	Replicas int
	// TokenTTL is the lifetime of HQ access tokens.
	TokenTTL time.Duration
	// StaleAfter is how long a site not connected may stay unheard before
	// its figures are reported stale (0: api.DefaultStaleAfter).
	StaleAfter time.Duration
	// HeartbeatTimeout is how long without a heartbeat makes a site
	// disconnected (0: liveness.DefaultTimeout).
	HeartbeatTimeout time.Duration
	// ReadyTimeout bounds how long Open waits for the hub (and cluster).
	ReadyTimeout    time.Duration
	ShutdownTimeout time.Duration
	// HTTPLimits bound the HQ API's connections, headers and timeouts.
	HTTPLimits web.ServerLimits
	// RateLimits bound token requests and writes per client and address,
	// and lock a client id out after repeated wrong secrets.
	RateLimits web.RateLimits
	// HTTPTLS serves the HQ API over TLS and LeafTLS the sites' leaf port,
	// both with a certificate the fleet CA (made on the fleet's first start,
	// shared by every node) issues this node for localhost, the listen
	// addresses and TLSHosts. TLSCertFile and TLSKeyFile give the HQ API
	// another certificate (one from a public CA, say). The zero value is
	// plaintext, for tests in one process; `vendsync central run` turns TLS
	// on unless told --insecure-http / --insecure-leaf.
	HTTPTLS, LeafTLS        bool
	TLSCertFile, TLSKeyFile string
	TLSHosts                []string
	// RouteTLS makes the cluster routes TLS with mutual authentication:
	// each node presents its certificate from the fleet CA and accepts only
	// another central node's (tlsca.NodeMutualConfig); plaintext and
	// certificate-less route connections are refused. A node that has no
	// certificate yet (a new cluster's first start: the fleet CA lives in a
	// bucket the routes must replicate first) needs FleetCAFile. NATSTLS
	// serves the NATS client port (ClientListen) over TLS with the node's
	// certificate. Both are off in the zero value (tests in one process);
	// `vendsync central run` turns them on unless told --insecure-routes /
	// --insecure-nats.
	RouteTLS, NATSTLS bool
	// FleetCAFile is a fleet CA (certificate and key, PEM, mode 0600) made
	// before the cluster's first start by `vendsync central fleet-ca`, the
	// same file for every node: a node without a certificate issues itself
	// one from it, and the fleet stores it as its CA if it has none yet. It
	// is refused if the fleet (or this node) already has another CA.
	FleetCAFile string
	Logger      zerolog.Logger
	// PromotionEvery is how often promotions and quota leases are
	// reconciled (0: promotion.DefaultEvery).
	PromotionEvery time.Duration
	// WebhookAllowPrivate lets alert webhooks reach loopback and private
	// addresses (refused by default: see central/webhook).
	WebhookAllowPrivate bool
	// Payments is the gateway pre-orders are paid and refunded through
	// (nil: the node takes no orders).
	Payments payment.Provider
	// OrderReadyIn and OrderWindow are a pre-order's estimated preparation
	// time and how long after it it may be picked up (0: 5m and 2h);
	// RefundEvery is how often orders closed without a pickup are
	// refunded (0: 30s).
	OrderReadyIn, OrderWindow, RefundEvery time.Duration
	// OrderCurrency is the ISO 4217 currency pre-orders are priced and
	// paid in (empty: USD).
	OrderCurrency string
}

// DefaultConfig returns a single-node configuration.
func DefaultConfig() Config {
	return Config{
		ServerName: "central-1", HTTPAddr: "127.0.0.1:9080", LeafListen: "127.0.0.1:7422",
		Replicas: 1, TokenTTL: time.Hour, ReadyTimeout: time.Minute, ShutdownTimeout: 10 * time.Second,
		HTTPLimits: web.DefaultServerLimits(), RateLimits: web.DefaultRateLimits(), Logger: zerolog.Nop(),
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("dir: required (the node's data directory)")
	case c.ServerName == "":
		return errors.New("server name: required, unique per node")
	case c.HTTPAddr == "":
		return errors.New("http: required (host:port)")
	case c.Replicas != 1 && c.Replicas != 3:
		return fmt.Errorf("replicas %d: must be 1 or 3", c.Replicas)
	case c.Replicas == 3 && c.ClusterName == "":
		return errors.New("replicas 3 needs a cluster (--cluster-name, --routes)")
	case c.TokenTTL < time.Minute:
		return errors.New("token ttl must be at least a minute")
	case c.StaleAfter < 0:
		return errors.New("stale after: must not be negative")
	case c.HeartbeatTimeout < 0:
		return errors.New("heartbeat timeout: must not be negative")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("http %q: not host:port", c.HTTPAddr)
	}
	if err := c.HTTPLimits.Validate(); err != nil {
		return fmt.Errorf("http limits: %w", err)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("tls cert and tls key go together")
	}
	return c.RateLimits.Validate()
}

// Node is a running central node.
type Node struct {
	cfg Config
	log zerolog.Logger

	Hub        *hub.Hub
	Store      *readmodel.Store
	Aggregator *aggregator.Aggregator
	Liveness   *liveness.Tracker
	// HQLog replicates central's own writes to every node (central/hqlog).
	HQLog     *hqlog.Log
	Sites     *sitereg.Registry
	Auth      *hqauth.Store
	Publisher *downlink.Publisher
	Metrics   *web.Metrics
	Dashboard *dashboard.Dashboard
	// CA is the fleet's certificate authority (nil until Open has it).
	CA *tlsca.CA

	cert atomic.Pointer[tls.Certificate] // this node's, from CA
	// routeCA is the CA certificate (PEM) the routes trust, read before the
	// hub starts; nil without route TLS.
	routeCA []byte
	// proposedCA is FleetCAFile's CA, nil without one.
	proposedCA *tlsca.CA

	handler http.Handler
	httpsOn bool
	srv     *http.Server
	ln      net.Listener
	cancel  context.CancelFunc
	g       *errgroup.Group
	lock    *dirlock.Lock // keeps a second process off cfg.Dir

	// Promotions is the shared promotions store; PromotionDistributor
	// sends promotions and quota leases down to the sites.
	Promotions           *promotion.Store
	PromotionDistributor *promotion.Distributor
	// Forecast keeps the demand forecast up to date from the read model,
	// off the ingest path (central/forecast).
	Forecast *forecast.Job
	// Webhooks delivers alert notifications to subscribers.
	Webhooks *webhook.Dispatcher
}

// New validates cfg and returns an unopened node.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("central config: %w", err)
	}
	return &Node{cfg: cfg, log: cfg.Logger.With().Str("component", "central").Str("node", cfg.ServerName).Logger()}, nil
}

// Open starts the hub, the read model, the aggregator and the HTTP API. On
// the node's first start (no Dir/admin-credentials.json) it creates an HQ
// ADMIN client of the node's own and writes its credentials there.
func (n *Node) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	tightened, err := secfile.MkdirAll(n.cfg.Dir)
	if err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if tightened {
		n.log.Warn().Str("dir", n.cfg.Dir).Msg("data directory was open to other users; made it 0700")
	}
	if n.lock, err = dirlock.Acquire(n.cfg.Dir); err != nil {
		return err
	}
	hcfg := hub.DefaultConfig()
	hcfg.ServerName, hcfg.StoreDir = n.cfg.ServerName, filepath.Join(n.cfg.Dir, "nats")
	hcfg.ClientListen, hcfg.LeafListen = n.cfg.ClientListen, n.cfg.LeafListen
	hcfg.ClusterName, hcfg.ClusterListen, hcfg.Routes = n.cfg.ClusterName, n.cfg.ClusterListen, n.cfg.Routes
	hcfg.ClusterAdvertise = n.cfg.ClusterAdvertise
	hcfg.Replicas, hcfg.Logger = n.cfg.Replicas, n.cfg.Logger
	n.loadNodeCert()
	if err := n.loadRouteCA(); err != nil {
		return err
	}
	if n.cfg.LeafTLS {
		hcfg.LeafTLS = &tls.Config{GetCertificate: n.nodeCert, MinVersion: tls.VersionTLS12}
	}
	if n.routeCA != nil {
		if hcfg.RouteTLS, err = tlsca.NodeMutualConfig(n.routeCA, func() (*tls.Certificate, error) { return n.nodeCert(nil) }); err != nil {
			return err
		}
	}
	if n.cfg.NATSTLS && n.cfg.ClientListen != "" {
		hcfg.ClientTLS = &tls.Config{GetCertificate: n.nodeCert, MinVersion: tls.VersionTLS12}
	}
	if n.cfg.ReadyTimeout > 0 {
		hcfg.ReadyTimeout = n.cfg.ReadyTimeout
	}
	if n.Hub, err = hub.New(hcfg); err != nil {
		return err
	}
	if err = n.Hub.Open(ctx); err != nil {
		n.Hub = nil
		return fmt.Errorf("start hub: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.g, _ = errgroup.WithContext(bg)

	js := n.Hub.JetStream()
	// The hub admits the sites of the shared registry; the API registers and
	// revokes them there.
	n.Sites = n.Hub.Registry()
	// A new cluster answers "JetStream temporarily unavailable" until its
	// meta leader settles, and a node that gave up would take its vote
	// away from the others: retry the shared-state set-up until ReadyTimeout.
	var signer *auth.Signer
	var configKV jetstream.KeyValue
	credPath := filepath.Join(n.cfg.Dir, CredentialsFile)
	err = retry(ctx, n.cfg.ReadyTimeout, n.log, func(ctx context.Context) error {
		var err error
		if n.Auth == nil {
			if n.Auth, err = hqauth.Open(ctx, js, n.cfg.Replicas); err != nil {
				return err
			}
		}
		created, err := n.Auth.EnsureAdmin(ctx, credPath, "admin of node "+n.cfg.ServerName)
		if err != nil {
			return err
		}
		if created {
			n.log.Info().Str("file", credPath).Msg("this node's HQ admin credential written")
		}
		if signer, err = n.Auth.Signer(n.cfg.TokenTTL); err != nil {
			return err
		}
		if n.CA == nil {
			if err := n.openCA(ctx); err != nil {
				return err
			}
		}
		if n.Publisher, err = downlink.NewPublisher(ctx, js); err != nil {
			return err
		}
		if configKV, err = js.KeyValue(ctx, envelope.BucketConfig); err != nil {
			return fmt.Errorf("open config bucket: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n.g.Go(func() error { return n.followSigningKey(bg, signer) })
	if n.Store, err = readmodel.Open(ctx, filepath.Join(n.cfg.Dir, ReadModelFile), readmodel.WithLogger(n.cfg.Logger)); err != nil {
		return err
	}
	n.Metrics = web.NewMetrics("vendsync_central")
	n.Aggregator, err = aggregator.New(aggregator.Config{
		JS: js, NC: n.Hub.Conn(), Store: n.Store, Durable: "agg-" + n.cfg.ServerName, Logger: n.cfg.Logger,
		Registerer: n.Metrics.Registry,
	})
	if err != nil {
		return err
	}
	if err = retry(ctx, n.cfg.ReadyTimeout, n.log, n.Aggregator.Open); err != nil {
		n.Aggregator = nil
		return fmt.Errorf("start aggregator: %w", err)
	}
	n.Forecast = forecast.NewJob(forecast.JobConfig{Store: n.Store, Logger: n.cfg.Logger})
	if err = n.Forecast.Open(ctx); err != nil {
		return fmt.Errorf("start forecast: %w", err)
	}
	if n.Liveness, err = liveness.New(liveness.Config{
		Conn: n.Hub.Conn(), Recorder: n.Store, Timeout: n.cfg.HeartbeatTimeout, Logger: n.cfg.Logger,
	}); err != nil {
		return err
	}
	if err = n.Liveness.Open(ctx); err != nil {
		n.Liveness = nil
		return fmt.Errorf("start liveness: %w", err)
	}
	if err = n.openPromotions(ctx, js); err != nil {
		return err
	}
	n.Webhooks = webhook.New(webhook.Config{Queue: n.Store.Webhooks(), AllowPrivate: n.cfg.WebhookAllowPrivate, Logger: n.cfg.Logger,
		Active: func(ctx context.Context) bool { lead, _ := n.leadsHQLog(ctx); return lead }})
	if err = n.Webhooks.Open(ctx); err != nil {
		return fmt.Errorf("start webhooks: %w", err)
	}
	orders, err := n.orderSettings(ctx)
	if err != nil {
		return err
	}
	n.HQLog = hqlog.New(hqlog.Config{JS: js, Store: n.Store, Replicas: n.cfg.Replicas, Logger: n.cfg.Logger})
	apiHandler := api.New(api.Config{
		Store: n.Store, Auth: n.Auth, Signer: signer, Publisher: n.Publisher, Sites: n.Sites,
		ConfigKV: configKV, Catalog: catalog{n.Store}, Metrics: n.Metrics, Logger: n.cfg.Logger,
		StaleAfter: n.cfg.StaleAfter, Ready: n.Aggregator.CaughtUp, Behind: n.Aggregator.Behind,
		Limiter: web.NewLimiter(n.cfg.RateLimits, nil), CA: n.CA, NATSUsers: n.Hub, HQLog: n.HQLog,
		Promotions: n.Promotions, PokePromotions: n.PromotionDistributor.Poke,
		WebhookAllowPrivate: n.cfg.WebhookAllowPrivate, Orders: orders,
	})
	// Handlers are registered by api.New; entries are applied from here on.
	if err = retry(ctx, n.cfg.ReadyTimeout, n.log, n.HQLog.Open); err != nil {
		return fmt.Errorf("start hq log: %w", err)
	}
	n.Dashboard, err = dashboard.New(dashboard.Config{
		Store: n.Store, Auth: n.Auth, Signer: signer, API: apiHandler, JS: js, Replicas: n.cfg.Replicas,
		NC: n.Hub.Conn(), Sites: n.Sites, Metrics: n.Metrics, Logger: n.cfg.Logger, StaleAfter: n.cfg.StaleAfter,
	})
	if err != nil {
		return err
	}
	if err = retry(ctx, n.cfg.ReadyTimeout, n.log, n.Dashboard.Open); err != nil {
		return fmt.Errorf("start dashboard: %w", err)
	}
	n.handler = n.Dashboard.Wrap(apiHandler)
	var httpTLS *tls.Config
	switch {
	case n.cfg.TLSCertFile != "":
		if httpTLS, err = tlsca.ServerConfig(n.cfg.TLSCertFile, n.cfg.TLSKeyFile); err != nil {
			return err
		}
	case n.cfg.HTTPTLS:
		httpTLS = &tls.Config{GetCertificate: n.nodeCert, MinVersion: tls.VersionTLS12}
	}
	if n.ln, err = web.Listen(n.cfg.HTTPAddr, n.cfg.HTTPLimits, httpTLS); err != nil {
		return err
	}
	n.httpsOn = httpTLS != nil
	n.srv = web.NewServer(n.handler, n.cfg.HTTPLimits, n.cfg.Logger)
	srv, ln := n.srv, n.ln
	n.g.Go(func() error { return web.Serve(srv, ln) })
	if orders.Payments != nil {
		n.g.Go(func() error { return n.refundLoop(bg, orders) })
	}
	n.log.Info().Str("http", n.ln.Addr().String()).Str("leaf", n.Hub.LeafURL()).Msg("central node started")
	return nil
}

// URL is the HQ API's base URL (https:// when it serves TLS).
func (n *Node) URL() string {
	if n.httpsOn {
		return "https://" + n.ln.Addr().String()
	}
	return "http://" + n.ln.Addr().String()
}

// CAPath is the file holding the fleet CA's certificate, for clients and
// sites to pin.
func (n *Node) CAPath() string { return filepath.Join(n.cfg.Dir, CAFile) }

// nodeCert serves this node's certificate to TLS handshakes; until the CA
// is known (a first start, before the cluster forms) there is none and the
// handshake fails: clients and sites retry.
func (n *Node) nodeCert(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := n.cert.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("this node has no certificate from the fleet CA yet")
}

// tlsHosts are the names this node's certificate is valid for.
func (n *Node) tlsHosts() []string {
	return append(tlsca.DefaultHosts(n.cfg.HTTPAddr, n.cfg.LeafListen, n.cfg.ClientListen, n.cfg.ClusterListen), n.cfg.TLSHosts...)
}

// loadNodeCert takes the certificate kept from the last start, if any, so
// that TLS works before the fleet CA can be read from the bucket.
func (n *Node) loadNodeCert() {
	certFile, keyFile := filepath.Join(n.cfg.Dir, NodeCertFile), filepath.Join(n.cfg.Dir, NodeKeyFile)
	if secfile.Check(keyFile) != nil {
		return
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return
	}
	n.cert.Store(&c)
}

// openCA reads (or, on the fleet's first start, creates) the fleet CA,
// issues this node a certificate from it, and writes the CA certificate
// and the node's certificate to Dir.
func (n *Node) openCA(ctx context.Context) error {
	ca, err := n.Auth.FleetCAFrom(ctx, time.Now(), n.proposedCA)
	if err != nil {
		return err
	}
	if n.routeCA != nil && !samePEMCert(n.routeCA, ca.CertPEM) {
		return fmt.Errorf("the fleet's CA (in the shared bucket) is not the one this node's routes trust (%s, --fleet-ca): "+
			"every node must be given the same --fleet-ca", n.CAPath())
	}
	if n.proposedCA != nil && !samePEMCert(n.proposedCA.CertPEM, ca.CertPEM) {
		return fmt.Errorf("--fleet-ca %s: the fleet already has another CA", n.cfg.FleetCAFile)
	}
	return n.issueNodeCert(ca)
}

// issueNodeCert issues this node a certificate from ca and writes it, and
// the CA certificate, to Dir.
func (n *Node) issueNodeCert(ca *tlsca.CA) error {
	leaf, err := ca.Issue(tlsca.NodeName(n.cfg.ServerName), n.tlsHosts(), time.Now())
	if err != nil {
		return err
	}
	c, err := leaf.TLSCertificate()
	if err != nil {
		return fmt.Errorf("node certificate: %w", err)
	}
	if _, err := secfile.MkdirAll(filepath.Dir(filepath.Join(n.cfg.Dir, NodeKeyFile))); err != nil {
		return err
	}
	for path, b := range map[string][]byte{CAFile: ca.CertPEM, NodeCertFile: leaf.CertPEM, NodeKeyFile: leaf.KeyPEM} {
		if err := secfile.Write(filepath.Join(n.cfg.Dir, path), b); err != nil {
			return err
		}
	}
	n.cert.Store(&c)
	n.CA = ca
	return nil
}

// loadRouteCA reads FleetCAFile and, with route TLS in a cluster, the CA
// the routes are to trust: the one this node wrote on an earlier start, or
// FleetCAFile's, from which a node without a certificate then issues
// itself one. It returns an error if a clustered node with route TLS has
// neither, or if FleetCAFile is unreadable, readable by others, or not the
// CA this node already has.
func (n *Node) loadRouteCA() error {
	if n.cfg.FleetCAFile != "" {
		if err := secfile.Check(n.cfg.FleetCAFile); err != nil {
			return fmt.Errorf("--fleet-ca: %w", err)
		}
		b, err := os.ReadFile(n.cfg.FleetCAFile)
		if err != nil {
			return fmt.Errorf("--fleet-ca: %w", err)
		}
		if n.proposedCA, err = tlsca.Parse(b); err != nil {
			return fmt.Errorf("--fleet-ca %s: %w", n.cfg.FleetCAFile, err)
		}
	}
	have, err := os.ReadFile(n.CAPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read fleet ca: %w", err)
	}
	if n.proposedCA != nil {
		if have != nil && !samePEMCert(have, n.proposedCA.CertPEM) {
			return fmt.Errorf("--fleet-ca %s: not the fleet CA this node already has (%s)", n.cfg.FleetCAFile, n.CAPath())
		}
		if have == nil || n.cert.Load() == nil {
			if err := n.issueNodeCert(n.proposedCA); err != nil {
				return err
			}
			n.CA, have = nil, n.proposedCA.CertPEM // the shared bucket's CA is still to be read
		}
	}
	if !n.cfg.RouteTLS || n.cfg.ClusterName == "" {
		return nil
	}
	if have == nil || n.cert.Load() == nil {
		return errors.New("route tls: this node has no certificate from the fleet CA yet, and its routes need one " +
			"before the cluster forms: make the fleet CA once with 'vendsync central fleet-ca --out fleet-ca.pem' " +
			"and start every node with --fleet-ca fleet-ca.pem (or --insecure-routes for local development only)")
	}
	n.routeCA = have
	return nil
}

// samePEMCert reports whether a and b hold the same first certificate.
func samePEMCert(a, b []byte) bool {
	ba, _ := pem.Decode(a)
	bb, _ := pem.Decode(b)
	return ba != nil && bb != nil && bytes.Equal(ba.Bytes, bb.Bytes)
}

// Handler is the node's HTTP handler: the HQ API and the dashboard at /ui/.
func (n *Node) Handler() http.Handler { return n.handler }

// Close stops the API, the aggregator and the hub, in that order.
func (n *Node) Close() error {
	var errs []error
	if n.Dashboard != nil {
		// Ends the dashboard's event streams, which would hold Shutdown.
		errs = append(errs, n.Dashboard.Close())
	}
	if n.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
		errs = append(errs, n.srv.Shutdown(ctx))
		cancel()
	}
	if n.Forecast != nil {
		errs = append(errs, n.Forecast.Close())
	}
	if n.Aggregator != nil {
		errs = append(errs, n.Aggregator.Close())
	}
	if n.Liveness != nil {
		errs = append(errs, n.Liveness.Close())
	}
	if n.PromotionDistributor != nil {
		errs = append(errs, n.PromotionDistributor.Close())
	}
	if n.cancel != nil {
		n.cancel()
		errs = append(errs, n.g.Wait())
	}
	if n.Webhooks != nil {
		errs = append(errs, n.Webhooks.Close())
	}
	if n.HQLog != nil {
		n.HQLog.Close()
	}
	if n.Store != nil {
		errs = append(errs, n.Store.Close())
	}
	if n.Hub != nil {
		n.Hub.Close()
	}
	errs = append(errs, n.lock.Release())
	n.lock = nil
	return errors.Join(errs...)
}

// followSigningKey keeps signer on the shared key (a rotation on any node
// reaches this one) until ctx ends.
func (n *Node) followSigningKey(ctx context.Context, signer *auth.Signer) error {
	return n.Auth.WatchSigningKey(ctx, signer, func(err error) {
		n.log.Warn().Err(err).Msg("token signing key")
	})
}

// retry runs f until it succeeds or timeout passes, bounding each attempt
// (a JetStream request made while a cluster has no leader may go unanswered).
func retry(ctx context.Context, timeout time.Duration, log zerolog.Logger, f func(context.Context) error) error {
	if timeout <= 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	wait := 50 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		log.Debug().Err(err).Msg("start-up step failed; retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// catalog adapts the read model to the API's Catalog.
type catalog struct{ st *readmodel.Store }

func (c catalog) Stockists(ctx context.Context, productID string) ([]api.Stockist, error) {
	ss, err := c.st.Stockists(ctx, productID)
	if err != nil {
		return nil, err
	}
	out := make([]api.Stockist, len(ss))
	for i, s := range ss {
		out[i] = api.Stockist{Site: s.Site, MachineID: s.MachineID}
	}
	return out, nil
}

// Dir is the node's data directory.
func (n *Node) Dir() string { return n.cfg.Dir }
