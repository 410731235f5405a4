// Package testkit is what every vendsync test needs and nothing role
// specific: polling for a condition with a deadline, free ports, a log that
// is quiet unless asked, a cuttable TCP link, and a plain embedded JetStream
// server on a random port with its store in t.TempDir(). Starting hubs,
// leaf nodes and hub clusters is in testkit/natstest, whole central nodes and
// sites in testkit/fleet; those import the roles, this package imports none,
// so any package's own tests can use it.
package testkit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/natsserver"
	"github.com/vendsync/vendsync/internal/tcplink"
)

// PollInterval is the pause between two checks of a condition.
const PollInterval = 20 * time.Millisecond

// CheckFor calls cond until it returns nil, failing t with cond's last error
// if it has not after timeout. cond runs at least once, and once more after
// the deadline passes.
func CheckFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	CheckForEvery(t, timeout, PollInterval, cond)
}

// CheckForEvery is CheckFor checking every so often: for a condition that
// costs the system under test more than a read (one that signs in, say,
// against a server that limits sign-ins).
func CheckForEvery(t testing.TB, timeout, every time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", timeout, err)
		}
		time.Sleep(every)
	}
}

// Eventually is CheckFor for a condition that says only yes or no: it fails
// t naming what it waited for.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	CheckFor(t, timeout, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

// Consistently calls cond every PollInterval for d, failing t the first
// time it returns an error: for what must stay true (a revoked site stays
// out), where CheckFor is for what must become true.
func Consistently(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := cond(); err != nil {
			t.Fatalf("no longer true after %s: %v", d-time.Until(deadline).Round(time.Millisecond), err)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(PollInterval)
	}
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1. They are released
// before FreePorts returns (a cluster must know its route ports before any
// node starts), so another process could take one in between: use port -1
// wherever a server can choose its own.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for _, a := range FreeAddrs(t, n) {
		ports = append(ports, a.Port)
	}
	return ports
}

// FreeAddr is one free loopback address, host:port (see FreePorts).
func FreeAddr(t testing.TB) string {
	t.Helper()
	return FreeAddrs(t, 1)[0].String()
}

// FreeAddrs returns n distinct free loopback TCP addresses (see FreePorts).
//
// The ports come from below the kernel's ephemeral range
// (ip_local_port_range), at random: the kernel hands out ports from that
// range to every listener on port 0 and every outgoing connection, of any
// process, so a port taken from it could be someone's again before the
// server binds it (a cluster test failed so, its leaf port the source
// port of another package's connection). Below it, only another pick like
// this one can collide.
func FreeAddrs(t testing.TB, n int) []*net.TCPAddr {
	t.Helper()
	out := make([]*net.TCPAddr, 0, n)
	lo, hi := 10000, ephemeralLow()
	for tries := 0; len(out) < n; tries++ {
		port := 0 // the kernel's choice, when there is no room below its range
		if hi-lo >= 1000 && tries < 100*n {
			port = lo + rand.IntN(hi-lo)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			if port != 0 {
				continue // taken: another
			}
			t.Fatalf("free port: %v", err)
		}
		defer ln.Close() // all held until the end, so that they differ
		out = append(out, ln.Addr().(*net.TCPAddr))
	}
	return out
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// where it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= 0 {
		return 32768
	}
	return lo
}

// Logger is a logger for the component under test: silent, unless
// VENDSYNC_TEST_LOG is set, then written to the test's log at debug level.
func Logger(t testing.TB) zerolog.Logger {
	if os.Getenv("VENDSYNC_TEST_LOG") != "" {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

// Link is a cuttable TCP link (see tcplink.Link).
type Link = tcplink.Link

// NewLink starts a link on a random loopback port forwarding to target
// (host:port, or a URL such as a hub's LeafURL); it is closed when the test
// ends.
func NewLink(t testing.TB, target string) *Link {
	t.Helper()
	l, err := tcplink.Listen("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// StartServer starts a plain embedded nats-server with JetStream in domain
// ("" = none), listening for clients on a random loopback port, its store in
// t.TempDir(); it is shut down when the test ends.
func StartServer(t testing.TB, domain string) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := natsserver.Start(ctx, &server.Options{
		ServerName: "test", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, JetStreamDomain: domain, StoreDir: t.TempDir(),
	}, natsserver.Config{Log: natsserver.Log{Logger: Logger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// Connect connects a client to srv over TCP; it is closed when the test ends.
func Connect(t testing.TB, srv *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect to %s: %v", srv.ClientURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream starts a server as StartServer does and returns a JetStream
// handle on a client connected to it.
func JetStream(t testing.TB, domain string) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(Connect(t, StartServer(t, domain)))
	if err != nil {
		t.Fatal(err)
	}
	return js
}
