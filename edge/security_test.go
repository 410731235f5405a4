package edge_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
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

// TestNode_RevokedClientRefusedAtOnce: a client revoked with `vendsync edge
// client revoke` (another process writing the site database) loses access
// within a second or two, not when its token expires.
func TestNode_RevokedClientRefusedAtOnce(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{})
	s.Machine("M1")
	drv := s.Client(auth.RoleDriver, "")
	tok := s.TokenFor(drv)
	if r := s.Do("GET", "/machines", tok, nil); r.Status != 200 {
		t.Fatalf("before revoke: %d %s", r.Status, r.Body)
	}
	other, err := store.Open(context.Background(), s.Dir) // as the CLI does
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeClient(context.Background(), drv.ClientID); err != nil {
		t.Fatal(err)
	}
	other.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.Do("GET", "/machines", tok, nil)
		if r.Status == 401 {
			if e := r.Error(t); e.Code != "UNAUTHENTICATED" {
				t.Fatalf("revoked: code %s", e.Code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked client's token still answers %d after 5 s", r.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Other clients keep working.
	if r := s.Do("GET", "/machines", s.AdminToken(), nil); r.Status != 200 {
		t.Fatalf("admin after another client's revocation: %d", r.Status)
	}
}

// TestNode_ForgedLongLivedTokenRefused: a token signed with the site's key
// but dated far beyond the token TTL (the year 3000) is refused.
func TestNode_ForgedLongLivedTokenRefused(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{})
	long, err := auth.NewSigner(s.Node.Store.Site.TokenKey, s.Node.Store.Site.ID, 200*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := long.Issue(auth.Claims{ClientID: s.Admin.ClientID, Role: auth.RoleAdmin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Do("GET", "/machines", tok, nil); r.Status != 401 {
		t.Fatalf("a token living 200 years: %d %s, want 401", r.Status, r.Body)
	}
}
