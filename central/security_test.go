package central_test

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/fleettest"
)

// TestCentral_HTTPLimits: central's HQ API cuts a body trickled in slower
// than its read timeout (it had none: 1 byte/s held a connection ~17 h) and
// refuses an oversized header.
func TestCentral_HTTPLimits(t *testing.T) {
	c := fleettest.StartCentral(t, t.TempDir(), func(cfg *central.Config) {
		cfg.HTTPLimits.ReadHeaderTimeout, cfg.HTTPLimits.ReadTimeout = time.Second, 2*time.Second
		cfg.HTTPLimits.MaxHeaderBytes = 8 << 10
	})
	defer c.Close()
	u, err := url.Parse(c.URL())
	if err != nil {
		t.Fatal(err)
	}

	slow, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	start := time.Now()
	go func() {
		for range 99 {
			time.Sleep(200 * time.Millisecond)
			if _, err := slow.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	slow.SetReadDeadline(time.Now().Add(15 * time.Second))
	io.ReadAll(slow)
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("a body trickled at 5 bytes/s held the connection %v; want it cut after the 2 s read timeout", d)
	}

	big, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	go fmt.Fprintf(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 64<<10))
	big.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(big)
	if !strings.HasPrefix(string(answer), "HTTP/1.1 431") {
		t.Fatalf("a 64 KB header: answer %.60q, want 431", answer)
	}
}
