package web

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// ServerLimits bound what clients can hold of an HTTP server: header size,
// how long each part of a request and an idle connection may take, and how
// many connections are open at once (in all and from one address). Every
// vendsync listener uses them, so no unauthenticated client can grow the
// server's memory or hold a connection without bound.
type ServerLimits struct {
	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds reading the request line and headers (and
	// the TLS handshake).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included: a client
	// trickling its body is cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the answer, from the end of the request
	// headers; a handler streaming a long answer extends it with
	// http.ResponseController.SetWriteDeadline.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration
	// MaxConns bounds open connections; beyond it new ones wait in the
	// kernel's accept queue until one closes.
	MaxConns int
	// MaxConnsPerIP bounds open connections from one remote address;
	// beyond it a new one is closed at once (0: no per-address bound).
	MaxConnsPerIP int
}

// DefaultServerLimits are the limits of the edge and central APIs: 32 KB
// of headers, 10 s to send them, a minute for a whole request, two for an
// answer, 1,024 connections, 256 from one address.
func DefaultServerLimits() ServerLimits {
	return ServerLimits{
		MaxHeaderBytes:    32 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxConns:          1024,
		MaxConnsPerIP:     256,
	}
}

// Validate names the first bad limit.
func (l ServerLimits) Validate() error {
	switch {
	case l.MaxHeaderBytes < 1<<10:
		return fmt.Errorf("max header bytes %d: need at least 1024", l.MaxHeaderBytes)
	case l.ReadHeaderTimeout <= 0, l.ReadTimeout <= 0, l.WriteTimeout <= 0, l.IdleTimeout <= 0:
		return errors.New("http timeouts must all be positive")
	case l.ReadHeaderTimeout > l.ReadTimeout:
		return errors.New("read header timeout must not exceed read timeout")
	case l.MaxConns < 1:
		return fmt.Errorf("max conns %d: must be at least 1", l.MaxConns)
	case l.MaxConnsPerIP < 0:
		return fmt.Errorf("max conns per ip %d: must not be negative", l.MaxConnsPerIP)
	}
	return nil
}

// NewServer returns an http.Server for h with lim's header size and
// timeouts; serve it on a listener from Listen, which adds the connection
// bounds. Server errors (bad TLS handshakes, oversized headers) go to log at
// debug level.
func NewServer(h http.Handler, lim ServerLimits, log zerolog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		ErrorLog:          serverErrorLog(log),
	}
}

func serverErrorLog(l zerolog.Logger) *log.Logger {
	return log.New(debugWriter{l.With().Str("component", "http-server").Logger()}, "", 0)
}

// debugWriter logs each line it is given at debug level: what net/http
// reports (handshake failures, oversized headers) is routine noise from the
// network, not an operator's concern.
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Listen listens on addr (host:port) with lim's connection bounds and, when
// tlsCfg is not nil, TLS (HTTP/1.1 only; the server's ReadHeaderTimeout
// bounds the handshake). It returns an error if the address cannot be
// listened on.
func Listen(addr string, lim ServerLimits, tlsCfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	ln = LimitListener(ln, lim.MaxConns, lim.MaxConnsPerIP)
	if tlsCfg != nil {
		c := tlsCfg.Clone()
		c.NextProtos = []string{"http/1.1"}
		if c.MinVersion < tls.VersionTLS12 {
			c.MinVersion = tls.VersionTLS12
		}
		ln = tls.NewListener(ln, c)
	}
	return ln, nil
}

// LimitListener returns a listener that keeps at most maxConns of ln's
// connections open (Accept waits for one to close) and at most perIP from
// one remote IP (more are closed as soon as they are accepted; 0: no bound).
func LimitListener(ln net.Listener, maxConns, perIP int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, maxConns), perIP: perIP, byIP: map[string]int{}, done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	perIP     int
	mu        sync.Mutex
	byIP      map[string]int
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		ip := remoteIP(c)
		if !l.admit(ip) {
			c.Close()
			continue
		}
		return &limitConn{Conn: c, release: func() { l.leave(ip); <-l.sem }}, nil
	}
}

func (l *limitListener) admit(ip string) bool {
	if l.perIP <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip] >= l.perIP {
		return false
	}
	l.byIP[ip]++
	return true
}

func (l *limitListener) leave(ip string) {
	if l.perIP <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Serve serves srv on ln until srv is shut down, and then returns nil.
func Serve(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}
