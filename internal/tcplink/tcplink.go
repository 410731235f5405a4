// Package tcplink is a TCP proxy that stands for a network link: it forwards
// connections to a target and can be cut (every connection closed, new ones
// refused) and restored, possibly towards a new target. Tests use it to take
// a site offline; the demo uses it to show a site losing its link.
package tcplink

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// dialTimeout bounds how long the link waits for its target per connection.
const dialTimeout = 2 * time.Second

// Link forwards TCP connections from its own listener to a target.
type Link struct {
	ln     net.Listener
	scheme string // of the target URL Listen was given, "" for host:port
	mu     sync.Mutex
	target string
	down   bool
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// Listen starts a link on addr ("127.0.0.1:0" for a random loopback port)
// that forwards to target: host:port, or a URL such as nats-leaf://host:port
// (then URL answers with the same scheme). It returns the listen error.
func Listen(addr, target string) (*Link, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcplink: %w", err)
	}
	scheme, _, ok := strings.Cut(target, "://")
	if !ok {
		scheme = ""
	}
	l := &Link{ln: ln, scheme: scheme, target: HostPort(target), conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

// Addr is the link's listen address, host:port.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// URL is the link's address with the scheme of the target Listen was given
// (nats-leaf://127.0.0.1:40123), or Addr if it had none.
func (l *Link) URL() string {
	if l.scheme == "" {
		return l.Addr()
	}
	return l.scheme + "://" + l.Addr()
}

// Cut closes every forwarded connection and refuses new ones until Restore.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	l.closeConnsLocked()
}

// Restore lets connections through again; a non-empty target (host:port or
// a URL) replaces the old one (central came back on another port).
func (l *Link) Restore(target string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = false
	if target != "" {
		l.target = HostPort(target)
	}
}

// Up reports whether the link lets connections through.
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down
}

// Close stops listening, closes every connection and waits for the link's
// goroutines.
func (l *Link) Close() error {
	l.mu.Lock()
	l.closed = true
	l.closeConnsLocked()
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

func (l *Link) closeConnsLocked() {
	for c := range l.conns {
		c.Close()
	}
	clear(l.conns)
}

func (l *Link) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l.mu.Lock()
		down, target := l.down || l.closed, l.target
		l.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		u, err := net.DialTimeout("tcp", target, dialTimeout)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		if l.down || l.closed { // cut while dialling
			l.mu.Unlock()
			c.Close()
			u.Close()
			continue
		}
		l.conns[c], l.conns[u] = struct{}{}, struct{}{}
		l.wg.Add(2)
		l.mu.Unlock()
		go l.pipe(u, c)
		go l.pipe(c, u)
	}
}

// pipe copies src to dst until either side closes, then closes both.
func (l *Link) pipe(dst, src net.Conn) {
	defer l.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	l.mu.Lock()
	delete(l.conns, dst)
	delete(l.conns, src)
	l.mu.Unlock()
}

// HostPort strips a URL's scheme: "nats-leaf://h:1" is "h:1"; a string
// without one is returned as is.
func HostPort(url string) string {
	if _, rest, ok := strings.Cut(url, "://"); ok {
		return rest
	}
	return url
}
