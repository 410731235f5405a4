// Package hub runs central's embedded nats-server: the JetStream domain "hub"
// that sites reach over leaf connections, the FLEET ingest stream and the
// downlink CONFIG key-value bucket, and the site registry (central/sitereg)
// whose NKEY users may connect to it.
package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/siteauth"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/natsserver"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Config configures the hub's embedded server.
type Config struct {
	ServerName    string   // unique per hub node
	StoreDir      string   // JetStream storage
	ClientListen  string   // host:port for NATS clients; "" = in-process only
	LeafListen    string   // host:port sites connect their leaf nodes to; "" = none
	ClusterName   string   // JetStream cluster name; "" = single node
	ClusterListen string   // host:port for routes between hub nodes
	Routes        []string // nats-route://host:port of the other hub nodes
	Replicas      int      // replicas of FLEET, CONFIG and the site registry: 1, or 3 in a cluster
	// ClusterAdvertise is the host:port the other nodes are told to reach
	// this node's routes at when they learn of it from a third (default:
	// ClusterListen); for a node behind a NAT or proxy.
	ClusterAdvertise string
	// LeafTLS, when set, makes the leaf listener TLS-only with this server
	// configuration (its certificate may come from GetCertificate).
	LeafTLS *tls.Config
	// RouteTLS, when set, makes the cluster routes TLS-only with this
	// configuration, for both the accepting and the dialling side: it must
	// require and verify the peer's certificate (tlsca.NodeMutualConfig).
	// nil: plaintext routes, for tests in one process and --insecure-routes.
	RouteTLS *tls.Config
	// ClientTLS, when set, makes the NATS client port TLS-only (in-process
	// connections are not affected). Clients authenticate with an NKEY
	// either way.
	ClientTLS *tls.Config

	IngestMaxAge   time.Duration // FLEET retention by age; 0 = unlimited
	IngestMaxBytes int64         // FLEET retention by size; 0 = unlimited
	ConfigHistory  int           // revisions kept per CONFIG key

	ReadyTimeout time.Duration // how long Open waits for the server and JetStream
	Logger       zerolog.Logger
	// ServerLogLevel is the embedded server's own log level: "" = warn (info
	// when Logger is at debug), or trace, debug, info, warn, error.
	ServerLogLevel string
}

// DefaultConfig returns a single-node configuration: FLEET kept 90 days, no
// size limit (a size limit must fit the disk: JetStream refuses a stream whose
// MaxBytes exceeds the storage it can reserve).
func DefaultConfig() Config {
	return Config{
		ServerName:    "hub-1",
		LeafListen:    "0.0.0.0:7422",
		Replicas:      1,
		IngestMaxAge:  90 * 24 * time.Hour,
		ConfigHistory: 5,
		ReadyTimeout:  time.Minute,
		Logger:        zerolog.Nop(),
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.ServerName == "":
		return errors.New("hub config: ServerName is required")
	case c.StoreDir == "":
		return errors.New("hub config: StoreDir is required")
	case c.Replicas != 1 && c.Replicas != 3:
		return fmt.Errorf("hub config: Replicas must be 1 or 3, not %d", c.Replicas)
	case c.Replicas > 1 && c.ClusterName == "":
		return errors.New("hub config: Replicas > 1 needs ClusterName")
	case c.ClusterName != "" && c.ClusterListen == "":
		return errors.New("hub config: ClusterName needs ClusterListen")
	case c.ConfigHistory < 0 || c.ConfigHistory > 64:
		return fmt.Errorf("hub config: ConfigHistory must be 0..64, not %d", c.ConfigHistory)
	}
	for name, addr := range map[string]string{"ClientListen": c.ClientListen, "LeafListen": c.LeafListen, "ClusterListen": c.ClusterListen} {
		if addr == "" {
			continue
		}
		if _, _, err := natsserver.SplitHostPort(addr); err != nil {
			return fmt.Errorf("hub config: %s: %w", name, err)
		}
	}
	if _, err := natsserver.ParseLevel(c.ServerLogLevel, c.Logger); err != nil {
		return fmt.Errorf("hub config: ServerLogLevel: %w", err)
	}
	return nil
}

// Hub is central's running nats-server.
type Hub struct {
	cfg Config
	log zerolog.Logger

	auth *siteauth.Authenticator
	kp   nkeys.KeyPair // the hub's internal user

	mu     sync.Mutex
	srv    *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	reg    *sitereg.Registry
	cancel context.CancelFunc // stops following reg and users
	g      *errgroup.Group
	bg     context.Context    // the followers' context, ended by cancel
	users  jetstream.KeyValue // UsersBucket
}

// New checks cfg; it starts nothing.
func New(cfg Config) (*Hub, error) {
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = time.Minute
	}
	if cfg.ConfigHistory == 0 {
		cfg.ConfigHistory = 1
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("new hub: internal user: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("new hub: internal user: %w", err)
	}
	return &Hub{
		cfg:  cfg,
		log:  cfg.Logger.With().Str("component", "hub").Str("server", cfg.ServerName).Logger(),
		auth: siteauth.NewAuthenticator(pub),
		kp:   kp,
	}, nil
}

// options builds the server options from the config.
func (h *Hub) options() (*server.Options, error) {
	c := h.cfg
	o := &server.Options{
		ServerName:                 c.ServerName,
		JetStream:                  true,
		JetStreamDomain:            envelope.HubDomain,
		StoreDir:                   c.StoreDir,
		CustomClientAuthentication: h.auth,
		AlwaysEnableNonce:          true, // NKEY signatures need a nonce in INFO
		NoSigs:                     true,
		NoLog:                      false,
	}
	switch {
	case c.ClientListen == "" && c.ClusterName != "":
		// nats-server 2.15 starts routing only after the client accept loop
		// is up, so DontListen would keep a cluster from ever forming. Listen
		// on a random loopback port instead; every client must authenticate.
		o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
	case c.ClientListen == "":
		o.DontListen = true
	default:
		host, port, err := natsserver.SplitHostPort(c.ClientListen)
		if err != nil {
			return nil, fmt.Errorf("client listen: %w", err)
		}
		o.Host, o.Port = host, port
	}
	if c.ClientTLS != nil && !o.DontListen {
		o.TLSConfig, o.TLSTimeout = c.ClientTLS, 5 // seconds
	}
	if c.LeafListen != "" {
		host, port, err := natsserver.SplitHostPort(c.LeafListen)
		if err != nil {
			return nil, fmt.Errorf("leaf listen: %w", err)
		}
		o.LeafNode.Host, o.LeafNode.Port = host, port
		// Sites never need each other's interest; without isolation every
		// site's inbox and watermark subscriptions would be sent to every
		// other site.
		o.LeafNode.IsolateLeafnodeInterest = true
		if c.LeafTLS != nil {
			o.LeafNode.TLSConfig = c.LeafTLS
			o.LeafNode.TLSTimeout = 5 // seconds
		}
	}
	if c.ClusterName != "" {
		host, port, err := natsserver.SplitHostPort(c.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("cluster listen: %w", err)
		}
		o.Cluster.Name = c.ClusterName
		o.Cluster.Host, o.Cluster.Port = host, port
		o.Cluster.Advertise = c.ClusterAdvertise
		routes, err := natsserver.ParseURLs(c.Routes)
		if err != nil {
			return nil, fmt.Errorf("routes: %w", err)
		}
		o.Routes = routes
		if c.RouteTLS != nil {
			o.Cluster.TLSConfig, o.Cluster.TLSTimeout = c.RouteTLS, 5 // seconds
		}
	}
	return o, nil
}

// Open starts the server, waits until it accepts connections and JetStream is
// enabled (and, in a cluster, current), connects the internal client,
// creates or updates FLEET and CONFIG, and admits the registry's sites. It
// fails if any of these does not happen before ctx ends or ReadyTimeout
// passes.
func (h *Hub) Open(ctx context.Context) error {
	opts, err := h.options()
	if err != nil {
		return fmt.Errorf("open hub: %w", err)
	}
	srv, err := natsserver.Start(ctx, opts, natsserver.Config{
		Log:          natsserver.Log{Logger: h.log, Level: h.cfg.ServerLogLevel, Hints: hints},
		ReadyTimeout: h.cfg.ReadyTimeout,
		Prepare:      h.auth.Bind,
	})
	if err != nil {
		return fmt.Errorf("open hub: %w", err)
	}
	h.mu.Lock()
	h.srv = srv
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, h.cfg.ReadyTimeout)
	defer cancel()
	if h.cfg.ClusterName != "" {
		if err := natsserver.WaitCurrent(ctx, srv); err != nil {
			h.Close()
			return fmt.Errorf("open hub: %w", err)
		}
	}
	// Its own inbox prefix keeps its replies (which carry the HQ
	// credentials bucket's values) away from operators' NATS users, who
	// receive on the default one (siteauth.UserPermissions).
	nc, js, err := natsserver.Connect(srv, nats.Nkey(mustPublic(h.kp), h.kp.Sign), nats.CustomInboxPrefix(siteauth.InternalInboxPrefix))
	if err != nil {
		h.Close()
		return fmt.Errorf("open hub: %w", err)
	}
	h.mu.Lock()
	h.nc, h.js = nc, js
	h.mu.Unlock()
	if err := h.ensureStreams(ctx); err != nil {
		h.Close()
		return fmt.Errorf("open hub: %w", err)
	}
	if err := h.openSites(ctx); err != nil {
		h.Close()
		return fmt.Errorf("open hub: %w", err)
	}
	if err := h.openUsers(ctx); err != nil {
		h.Close()
		return fmt.Errorf("open hub: %w", err)
	}
	h.log.Info().Str("leaf", h.LeafURL()).Str("client", h.ClientURL()).Msg("hub ready")
	return nil
}

// ensureStreams creates or updates FLEET and CONFIG, retrying while the
// cluster elects a meta leader.
func (h *Hub) ensureStreams(ctx context.Context) error {
	fleet := jetstream.StreamConfig{
		Name:        envelope.StreamIngest,
		Subjects:    []string{envelope.SubjectBatchAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  2 * time.Minute,
		Replicas:    h.cfg.Replicas,
		MaxAge:      h.cfg.IngestMaxAge,
		MaxBytes:    orUnlimited(h.cfg.IngestMaxBytes),
		AllowDirect: true,
	}
	kv := jetstream.KeyValueConfig{
		Bucket:      envelope.BucketConfig,
		Description: "per-site configuration pushed to sites: <site>.<kind>.<id...>",
		History:     uint8(h.cfg.ConfigHistory),
		Storage:     jetstream.FileStorage,
		Replicas:    h.cfg.Replicas,
	}
	return retry(ctx, func(ctx context.Context) error {
		if _, err := h.js.CreateOrUpdateStream(ctx, fleet); err != nil {
			return fmt.Errorf("ensure stream %s: %w", fleet.Name, err)
		}
		if _, err := h.js.CreateOrUpdateKeyValue(ctx, kv); err != nil {
			return fmt.Errorf("ensure kv %s: %w", kv.Bucket, err)
		}
		return nil
	})
}

// Close stops the internal client and shuts the server down, waiting for it.
func (h *Hub) Close() {
	h.mu.Lock()
	nc, srv, cancel, g := h.nc, h.srv, h.cancel, h.g
	h.nc, h.js, h.srv, h.reg, h.cancel, h.g, h.bg, h.users = nil, nil, nil, nil, nil, nil, nil, nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		_ = g.Wait() // the loop ends only on cancel
	}
	natsserver.Stop(nc, srv)
}

// Conn returns the hub's in-process client, nil before Open.
func (h *Hub) Conn() *nats.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nc
}

// JetStream returns a JetStream handle in the hub domain, nil before Open.
func (h *Hub) JetStream() jetstream.JetStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.js
}

// Server returns the embedded server, nil before Open.
func (h *Hub) Server() *server.Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.srv
}

// LeafURL returns nats-leaf://host:port of the leaf listener, "" if none.
func (h *Hub) LeafURL() string {
	srv := h.Server()
	if srv == nil || h.cfg.LeafListen == "" {
		return ""
	}
	v, err := srv.Varz(nil)
	if err != nil || v.LeafNode.Port <= 0 {
		return ""
	}
	return "nats-leaf://" + natsserver.DialAddr(net.ParseIP(v.LeafNode.Host), v.LeafNode.Port)
}

// ClientURL returns nats://host:port of the client listener, "" if none.
func (h *Hub) ClientURL() string {
	srv := h.Server()
	if srv == nil || h.cfg.ClientListen == "" {
		return ""
	}
	return srv.ClientURL()
}

// ClusterURL returns nats-route://host:port of the route listener, "" if none.
func (h *Hub) ClusterURL() string {
	srv := h.Server()
	if srv == nil || h.cfg.ClusterName == "" {
		return ""
	}
	addr := srv.ClusterAddr()
	if addr == nil {
		return ""
	}
	return "nats-route://" + natsserver.DialAddr(addr.IP, addr.Port)
}

// hints say what to do about the server errors an operator can fix.
var hints = []natsserver.Hint{{
	Match: "authentication error",
	Hint: "a site or client presented a key central does not know (a revoked site, or one whose key was rotated " +
		"and not yet replaced at the site): 'vendsync central site list' shows the registered sites",
}, {
	// nats-server warns whenever the dialling side of a route skips its own
	// host name check; tlsca.NodeMutualConfig does that check's work itself.
	Match: "solicited routes will not be verified",
	Hint: "vendsync verifies every route peer itself: its certificate must chain to the fleet CA and name a " +
		"central node (host names are not checked); this warning does not apply",
}, {
	Match: "TLS route handshake error",
	Hint: "a route peer without a central node certificate from this fleet's CA was refused (a node started " +
		"with another --fleet-ca, a plaintext --insecure-routes node, or something that is not a central node)",
}}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func mustPublic(kp nkeys.KeyPair) string {
	pub, err := kp.PublicKey()
	if err != nil {
		panic(err) // a key pair made by nkeys.CreateUser always has one
	}
	return pub
}

// startFollower runs follow in g (until g's context ends) and waits until
// it calls its ready, it ends or ctx ends, whichever comes first. name
// names what it follows in the errors.
func startFollower(ctx context.Context, g *errgroup.Group, name string, follow func(ready func()) error) error {
	ready, failed := make(chan struct{}), make(chan error, 1)
	g.Go(func() error {
		err := follow(func() { close(ready) })
		failed <- err
		return err
	})
	select {
	case <-ready:
		return nil
	case err := <-failed:
		if err == nil {
			err = errors.New("stopped before it was ready") // a follower ends only with the hub
		}
		return fmt.Errorf("follow %s: %w", name, err)
	case <-ctx.Done():
		return fmt.Errorf("load %s: %w", name, ctx.Err())
	}
}

// retry runs f until it succeeds or ctx ends, backing off up to a second.
func retry(ctx context.Context, f func(context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		// A JetStream request made while the cluster has no meta leader can
		// go unanswered, so bound each attempt.
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		if wait < time.Second {
			wait *= 2
		}
	}
}
