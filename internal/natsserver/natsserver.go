// Package natsserver starts embedded nats-servers the way every role in
// vendsync needs them: JetStream checked (a JetStream start failure is only
// logged by the server), a cluster waited for until it is current, and the
// server's own log sent through zerolog at a quiet level. The roles (central's
// hub, a site's leaf node) build their options and call New then Start.
package natsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultReadyTimeout is how long Start waits for a server to accept
// connections when the caller gives no timeout.
const DefaultReadyTimeout = 30 * time.Second

// Config is how Start runs a server, beyond its options.
type Config struct {
	Log
	// ReadyTimeout bounds how long Start waits for the server; 0 means
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Prepare, if set, is called with the server before it starts (to bind
	// a custom authenticator).
	Prepare func(*server.Server)
}

// Start makes a server from opts that logs through cfg.Log, starts it and
// waits until it accepts connections and JetStream runs (every vendsync
// server runs JetStream), for at most cfg.ReadyTimeout or until ctx ends. A
// server that gives up while starting (a port in use, a JetStream store it
// cannot open) makes Start fail at once with the server's reason. On error
// the server is shut down.
func Start(ctx context.Context, opts *server.Options, cfg Config) (*server.Server, error) {
	if _, err := ParseLevel(cfg.Level, cfg.Logger); err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("new nats-server: %w", err)
	}
	l := newLogger(cfg.Log)
	srv.SetLoggerV2(l, l.debug(), l.trace(), false)
	if cfg.Prepare != nil {
		cfg.Prepare(srv)
	}
	timeout := cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	go srv.Start()
	if err := waitReady(srv, l, timeout); err != nil {
		srv.Shutdown()
		return nil, err
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, errors.New("jetstream did not start (see the server's log)")
	}
	return srv, nil
}

// waitReady waits until srv accepts connections, the server gives up
// starting (it logs a fatal error and returns) or timeout passes.
func waitReady(srv *server.Server, l *logger, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if msg := l.fatal(); msg != "" {
			return fmt.Errorf("nats-server did not start: %s", msg)
		}
		if srv.ReadyForConnections(50 * time.Millisecond) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats-server not ready after %s", timeout.Round(time.Millisecond))
		}
	}
}

// Connect makes srv's in-process client, named after the server, with opts
// added (credentials, an inbox prefix), reconnecting forever, and a
// JetStream handle on it in the server's own domain.
func Connect(srv *server.Server, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	opts = append([]nats.Option{nats.InProcessServer(srv), nats.Name(srv.Name() + "-internal"), nats.MaxReconnects(-1)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect in process: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// Stop closes the in-process client nc and shuts srv down, waiting for it;
// either may be nil.
func Stop(nc *nats.Conn, srv *server.Server) {
	if nc != nil {
		nc.Close()
	}
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// WaitCurrent polls until srv reports healthy and is current with its
// JetStream meta group (it has a leader), which a clustered server needs
// before streams can be created. It fails when ctx ends, naming the last
// health error.
func WaitCurrent(ctx context.Context, srv *server.Server) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last string
	for {
		hs := srv.Healthz(nil)
		if hs != nil && hs.StatusCode == 200 && srv.JetStreamIsCurrent() {
			return nil
		}
		if hs != nil {
			last = hs.Error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jetstream not current: %s: %w", last, ctx.Err())
		case <-t.C:
		}
	}
}

// SplitHostPort splits a listen address host:port; port -1 asks the server
// for a random port. It fails for a missing or bad port.
func SplitHostPort(addr string) (string, int, error) {
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

// ParseURLs parses route or leaf URLs, naming the first bad one.
func ParseURLs(urls []string) ([]*url.URL, error) {
	out := make([]*url.URL, 0, len(urls))
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("url %q: %w", s, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// DialAddr is host:port to dial a listener bound to ip and port: a listener
// on the unspecified address is dialled on loopback.
func DialAddr(ip net.IP, port int) string {
	host := "127.0.0.1"
	if ip != nil && !ip.IsUnspecified() {
		host = ip.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
