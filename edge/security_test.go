package edge_test

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
)

func dialSite(t *testing.T, s *edgetest.Site) net.Conn {
	t.Helper()
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestNode_HTTPLimits: the edge refuses an oversized header, cuts a client
// that never finishes its headers, and caps open connections.
func TestNode_HTTPLimits(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Configure: func(c *edge.Config) {
		c.HTTPLimits.MaxHeaderBytes = 8 << 10
		c.HTTPLimits.ReadHeaderTimeout = 500 * time.Millisecond
		c.HTTPLimits.MaxConns, c.HTTPLimits.MaxConnsPerIP = 8, 0
	}})

	big := dialSite(t, s)
	go fmt.Fprintf(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 1<<20))
	big.SetReadDeadline(time.Now().Add(10 * time.Second))
	if answer, _ := io.ReadAll(big); !strings.HasPrefix(string(answer), "HTTP/1.1 431") {
		t.Fatalf("a 1 MB header: answer %.60q, want 431", answer)
	}

	// Eight connections that never finish their headers hold every slot
	// only until the read header timeout cuts them.
	start := time.Now()
	stuck := make([]net.Conn, 8)
	for i := range stuck {
		stuck[i] = dialSite(t, s)
		fmt.Fprintf(stuck[i], "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	}
	for _, c := range stuck {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("an unfinished request was not cut: %v", err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("unfinished headers held connections %v", d)
	}
	resp, err := s.HTTP.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz after the flood: %d", resp.StatusCode)
	}
}
