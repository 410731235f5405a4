// Package leaf runs a site's embedded nats-server: its own JetStream domain
// (the site id), storage on the appliance, and a leaf connection to central
// that comes and goes with the network.
package leaf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/natsserver"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Config configures a site's embedded server.
type Config struct {
	SiteID     string   // the site id: JetStream domain and server name "site-<id>"
	StoreDir   string   // JetStream storage
	ListenAddr string   // host:port for local NATS clients; "" = in-process only
	HubURLs    []string // nats-leaf://host:port of central's leaf listeners; none = standalone
	// HubURLsOnly connects only to HubURLs, ignoring the leaf URLs central's
	// nodes gossip (their own listen addresses), for a site that must reach
	// central through a given address: a proxy, NAT or a load balancer.
	HubURLsOnly bool
	CredsSeed   string // the site's NKEY user seed for the leaf connection
	// HubTLS, when set, makes the leaf connection TLS with this client
	// configuration (its RootCAs pin the fleet CA).
	HubTLS *tls.Config
	// ClientTLS, when set, makes the local client port (ListenAddr)
	// TLS-only with this server configuration.
	ClientTLS *tls.Config
	// UsersFile is the site's file of operators' NATS users
	// (natsusers.SiteFile), reread while running. With a ListenAddr, the
	// local client port admits only those users (NKEY) with their role's
	// permissions; none when the file is missing.
	UsersFile string

	// ReconnectInterval is the pause between leaf reconnect attempts
	// (nats-server retries forever); 0 = 2s.
	ReconnectInterval time.Duration
	// ReadyTimeout bounds how long Open waits for the server; 0 = 30s.
	ReadyTimeout time.Duration
	Logger       zerolog.Logger
	// ServerLogLevel is the embedded server's own log level: "" = warn (info
	// when Logger is at debug), or trace, debug, info, warn, error.
	ServerLogLevel string
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if err := envelope.ValidateSiteID(c.SiteID); err != nil {
		return fmt.Errorf("leaf config: SiteID: %w", err)
	}
	if c.StoreDir == "" {
		return errors.New("leaf config: StoreDir is required")
	}
	if c.ListenAddr != "" {
		if _, _, err := natsserver.SplitHostPort(c.ListenAddr); err != nil {
			return fmt.Errorf("leaf config: ListenAddr: %w", err)
		}
	}
	if _, err := natsserver.ParseLevel(c.ServerLogLevel, c.Logger); err != nil {
		return fmt.Errorf("leaf config: ServerLogLevel: %w", err)
	}
	if len(c.HubURLs) > 0 {
		if c.CredsSeed == "" {
			return errors.New("leaf config: CredsSeed is required with HubURLs")
		}
		if _, err := nkeys.FromSeed([]byte(c.CredsSeed)); err != nil {
			return fmt.Errorf("leaf config: CredsSeed: %w", err)
		}
		for _, u := range c.HubURLs {
			if _, err := url.Parse(u); err != nil {
				return fmt.Errorf("leaf config: HubURLs %q: %w", u, err)
			}
		}
	}
	return nil
}

// Node is a site's running nats-server.
type Node struct {
	cfg Config
	log zerolog.Logger

	users *usersAuth    // nil without a ListenAddr
	kp    nkeys.KeyPair // the in-process client's user, with users
	stop  chan struct{} // ends users.follow
	wg    sync.WaitGroup

	mu  sync.Mutex
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

// New checks cfg; it starts nothing.
func New(cfg Config) (*Node, error) {
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.ReconnectInterval == 0 {
		cfg.ReconnectInterval = 2 * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With().Str("component", "leaf").Str("site", cfg.SiteID).Logger()}
	if cfg.ListenAddr != "" {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, fmt.Errorf("new leaf: internal user: %w", err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("new leaf: internal user: %w", err)
		}
		n.kp, n.users = kp, newUsersAuth(pub, cfg.UsersFile, n.log)
	}
	return n, nil
}

// ServerName is the site server's name, unique in the fleet: site-<id>.
func ServerName(site string) string { return "site-" + site }

func (n *Node) options() (*server.Options, error) {
	c := n.cfg
	o := &server.Options{
		ServerName:      ServerName(c.SiteID),
		JetStream:       true,
		JetStreamDomain: c.SiteID,
		StoreDir:        c.StoreDir,
		NoSigs:          true,
		// Replies to the server's own JetStream API requests (the downlink
		// mirror's consumer creation) name the stream and consumer, so
		// central can let each site receive only its own (siteauth).
		FeatureFlags: map[string]bool{"js_api_reply_v2": true},
	}
	if c.ListenAddr == "" {
		o.DontListen = true
	} else {
		host, port, err := natsserver.SplitHostPort(c.ListenAddr)
		if err != nil {
			return nil, err
		}
		o.Host, o.Port = host, port
		// Anyone on the site's network can reach the port: only the
		// site's operator users get in.
		o.CustomClientAuthentication, o.AlwaysEnableNonce = n.users, true
		if c.ClientTLS != nil {
			o.TLSConfig, o.TLSTimeout = c.ClientTLS, 5 // seconds
		}
	}
	if len(c.HubURLs) > 0 {
		urls, err := natsserver.ParseURLs(c.HubURLs)
		if err != nil {
			return nil, fmt.Errorf("hub urls: %w", err)
		}
		o.LeafNode.ReconnectInterval = c.ReconnectInterval
		o.LeafNode.Remotes = []*server.RemoteLeafOpts{{
			URLs:                    urls,
			Nkey:                    c.CredsSeed,
			IgnoreDiscoveredServers: c.HubURLsOnly,
			TLS:                     c.HubTLS != nil,
			TLSConfig:               c.HubTLS,
			TLSTimeout:              5, // seconds
		}}
	}
	return o, nil
}

// Open starts the server and waits until it accepts connections and JetStream
// runs in the site's domain, then connects the in-process client. The leaf
// connection to central is made in the background and retried forever:
// being offline is normal. It returns an error if the server or JetStream
// does not start.
func (n *Node) Open(ctx context.Context) error {
	opts, err := n.options()
	if err != nil {
		return fmt.Errorf("open leaf: %w", err)
	}
	ncfg := natsserver.Config{
		Log:          natsserver.Log{Logger: n.log, Level: n.cfg.ServerLogLevel, Hints: n.hints()},
		ReadyTimeout: n.cfg.ReadyTimeout,
	}
	copts := []nats.Option{nats.CustomInboxPrefix(envelope.InboxPrefix(n.cfg.SiteID))}
	if n.users != nil {
		ncfg.Prepare = n.users.bind
		pub, _ := n.kp.PublicKey()
		copts = append(copts, nats.Nkey(pub, n.kp.Sign))
	}
	srv, err := natsserver.Start(ctx, opts, ncfg)
	if err != nil {
		return fmt.Errorf("open leaf: %w", err)
	}
	nc, js, err := natsserver.Connect(srv, copts...)
	if err != nil {
		natsserver.Stop(nil, srv)
		return fmt.Errorf("open leaf: %w", err)
	}
	var stop chan struct{}
	if n.users != nil {
		stop = make(chan struct{})
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.users.follow(stop)
		}()
	}
	n.mu.Lock()
	n.srv, n.nc, n.js, n.stop = srv, nc, js, stop
	n.mu.Unlock()
	n.log.Info().Strs("hubs", n.cfg.HubURLs).Msg("site server ready")
	return nil
}

// Close closes the in-process client and shuts the server down.
func (n *Node) Close() {
	n.mu.Lock()
	srv, nc := n.srv, n.nc
	n.srv, n.nc, n.js = nil, nil, nil
	stop := n.stop
	n.stop = nil
	n.mu.Unlock()
	if stop != nil {
		close(stop)
		n.wg.Wait()
	}
	natsserver.Stop(nc, srv)
}

// Conn returns the in-process client (inbox prefix _INBOX_<site>), nil before
// Open. Requests across the leaf must use a connection with that prefix:
// central only lets a site receive its own inbox.
func (n *Node) Conn() *nats.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nc
}

// JetStream returns a JetStream handle in the site's own domain, nil before Open.
func (n *Node) JetStream() jetstream.JetStream {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.js
}

// Server returns the embedded server, nil before Open.
func (n *Node) Server() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Connected reports whether the leaf connection to central is up.
func (n *Node) Connected() bool {
	srv := n.Server()
	return srv != nil && srv.NumLeafNodes() > 0
}

// ClientURL returns nats://host:port of the local client listener, "" if none.
func (n *Node) ClientURL() string {
	srv := n.Server()
	if srv == nil || n.cfg.ListenAddr == "" {
		return ""
	}
	return srv.ClientURL()
}

// hints say what to do about the server errors an operator can fix.
func (n *Node) hints() []natsserver.Hint {
	return []natsserver.Hint{{
		Match: "Authorization Violation",
		Hint: "central refuses this site's leaf key (revoked, or a newer key was issued): re-provision it with " +
			"'vendsync provision site --site " + n.cfg.SiteID + " --rotate' (or 'vendsync central site add " + n.cfg.SiteID +
			" --rotate') and restart with the new leaf seed",
	}}
}
