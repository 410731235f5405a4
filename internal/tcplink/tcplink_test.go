package tcplink_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/tcplink"
	"github.com/vendsync/vendsync/internal/testkit"
)

// greeter answers every connection with its name and a newline, then echoes.
func greeter(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintln(c, name)
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// hello dials addr and reads the greeting.
func hello(addr string) (net.Conn, string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		c.Close()
		return nil, "", err
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, strings.TrimSpace(line), nil
}

func TestLink_CutAndRestore(t *testing.T) {
	l, err := tcplink.Listen("127.0.0.1:0", "nats-leaf://"+greeter(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, want := l.URL(), "nats-leaf://"+l.Addr(); got != want {
		t.Fatalf("URL() = %q, want %q", got, want)
	}
	c, got, err := hello(l.Addr())
	if err != nil || got != "a" {
		t.Fatalf("through the link: %q, %v; want a", got, err)
	}
	defer c.Close()

	l.Cut()
	if l.Up() {
		t.Fatal("Up() after Cut")
	}
	// The open connection is closed.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read on a cut link = %v, want the connection closed", err)
	}
	// New ones are refused.
	if c2, got, err := hello(l.Addr()); err == nil {
		c2.Close()
		t.Fatalf("connected through a cut link: %q", got)
	}

	// Restored towards another target.
	l.Restore(greeter(t, "b"))
	testkit.CheckFor(t, 5*time.Second, func() error {
		c, got, err := hello(l.Addr())
		if err != nil {
			return err
		}
		c.Close()
		if got != "b" {
			return fmt.Errorf("restored link reached %q, want b", got)
		}
		return nil
	})
}

func TestHostPort(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "url", in: "nats-leaf://127.0.0.1:7422", want: "127.0.0.1:7422"},
		{name: "host:port", in: "127.0.0.1:7422", want: "127.0.0.1:7422"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tcplink.HostPort(tc.in); got != tc.want {
				t.Fatalf("HostPort(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
