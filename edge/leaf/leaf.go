// Package leaf runs a site's embedded nats-server: its own JetStream domain
// (the site id), storage on the appliance, and a leaf connection to central
// that comes and goes with the network.
package leaf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

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

	// ReconnectInterval is the pause between leaf reconnect attempts
	// (nats-server retries forever); 0 = 2s.
	ReconnectInterval time.Duration
	// ReadyTimeout bounds how long Open waits for the server; 0 = 30s.
	ReadyTimeout time.Duration
	Logger       zerolog.Logger
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
		if _, _, err := splitHostPort(c.ListenAddr); err != nil {
			return fmt.Errorf("leaf config: ListenAddr: %w", err)
		}
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
	return &Node{cfg: cfg, log: cfg.Logger.With().Str("component", "leaf").Str("site", cfg.SiteID).Logger()}, nil
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
	}
	if c.ListenAddr == "" {
		o.DontListen = true
	} else {
		host, port, err := splitHostPort(c.ListenAddr)
		if err != nil {
			return nil, err
		}
		o.Host, o.Port = host, port
	}
	if len(c.HubURLs) > 0 {
		urls := make([]*url.URL, 0, len(c.HubURLs))
		for _, s := range c.HubURLs {
			u, err := url.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("hub url %q: %w", s, err)
			}
			urls = append(urls, u)
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
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("open leaf: %w", err)
	}
	srv.SetLoggerV2(serverLogger{n.log}, false, false, false)
	go srv.Start()
	wait := n.cfg.ReadyTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
		wait = time.Until(d)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		return fmt.Errorf("open leaf: server not ready after %s", wait)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return errors.New("open leaf: jetstream did not start (see server log)")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name(ServerName(n.cfg.SiteID)+"-internal"),
		nats.CustomInboxPrefix(envelope.InboxPrefix(n.cfg.SiteID)), nats.MaxReconnects(-1))
	if err != nil {
		srv.Shutdown()
		return fmt.Errorf("open leaf: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return fmt.Errorf("open leaf: %w", err)
	}
	n.mu.Lock()
	n.srv, n.nc, n.js = srv, nc, js
	n.mu.Unlock()
	n.log.Info().Strs("hubs", n.cfg.HubURLs).Msg("site server ready")
	return nil
}

// Close closes the in-process client and shuts the server down.
func (n *Node) Close() {
	n.mu.Lock()
	srv, nc := n.srv, n.nc
	n.srv, n.nc, n.js = nil, nil, nil
	n.mu.Unlock()
	if nc != nil {
		nc.Close()
	}
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
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

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}
