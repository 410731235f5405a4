package edge_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/web"
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

// TestInit_DataIsPrivate: a site's directory is 0700 (even one made
// beforehand with 0755) and its database 0600; the edge refuses to open a
// database other users can read (it holds the token signing key).
func TestInit_DataIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if _, err := edge.Init(context.Background(), dir, store.SiteInit{ID: "s1", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, store.DBFile): 0o600, filepath.Join(dir, edge.CredentialsFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}
	if err := os.Chmod(filepath.Join(dir, store.DBFile), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := edge.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr = dir, "127.0.0.1:0"
	n, err := edge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Open(context.Background())
	if err == nil {
		n.Close()
		t.Fatal("the edge started on a world-readable site.db")
	}
	if !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("refusal %q does not say how to fix it", err)
	}
}

// TestNode_RotateKey: `vendsync edge rotate-key` (another process writing
// the database) makes the running edge refuse every token signed before,
// and new tokens work.
func TestNode_RotateKey(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{})
	old := s.AdminToken()
	if r := s.Do("GET", "/machines", old, nil); r.Status != 200 {
		t.Fatalf("before rotation: %d", r.Status)
	}
	other, err := store.Open(context.Background(), s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RotateTokenKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	other.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Do("GET", "/machines", old, nil).Status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("a token signed with the old key still works 5 s after rotate-key")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := s.Do("GET", "/machines", s.TokenFor(s.Admin), nil); r.Status != 200 {
		t.Fatalf("a token signed after the rotation: %d %s", r.Status, r.Body)
	}
}

// TestNode_TokenLockoutAndAudit: wrong secrets for one client lock it out
// (the right secret then answers 429 with Retry-After instead of a token),
// and every refusal is in the site's audit log with the caller's address.
func TestNode_TokenLockoutAndAudit(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{})
	victim := s.Client(auth.RoleOps, "")
	auditor := s.AdminToken()
	lim := web.DefaultRateLimits()
	for i := range lim.LockoutAfter {
		r := s.Do("POST", "/auth/token", "", map[string]string{"client_id": victim.ClientID, "client_secret": "guess"})
		if r.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := s.Do("POST", "/auth/token", "", map[string]string{"client_id": victim.ClientID, "client_secret": victim.ClientSecret})
	if r.Status != http.StatusTooManyRequests || r.Error(t).Code != "LOCKED_OUT" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right secret after %d wrong ones: %d %s, want 429 LOCKED_OUT with Retry-After", lim.LockoutAfter, r.Status, r.Body)
	}
	var audit struct {
		Entries []struct {
			EntityID, Action, PerformedBy string
		} `json:"entries"`
	}
	s.Do("GET", "/audit?entityType=client&entityId="+victim.ClientID, auditor, nil).Decode(t, &audit)
	failed, locked := 0, 0
	for _, e := range audit.Entries {
		switch e.Action {
		case "AUTH_FAILED":
			failed++
		case "AUTH_LOCKED_OUT":
			locked++
		}
		if e.PerformedBy != "ip:127.0.0.1" {
			t.Fatalf("audit entry performed by %q, want the caller's address", e.PerformedBy)
		}
	}
	if failed != lim.LockoutAfter || locked != 1 {
		t.Fatalf("audit: %d AUTH_FAILED and %d AUTH_LOCKED_OUT, want %d and 1", failed, locked, lim.LockoutAfter)
	}
}

// TestNode_WritesRateLimited: a client posting faster than its write budget
// gets 429 RATE_LIMITED with Retry-After; reads still pass.
func TestNode_WritesRateLimited(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Configure: func(c *edge.Config) {
		c.RateLimits.WritesPerClient = web.Rate{PerSecond: 1, Burst: 5}
	}})
	s.Machine("M1")
	tok := s.Token(auth.RoleMachine, "M1")
	limited := 0
	for i := range 20 {
		r := s.Do("POST", "/events/telemetry", tok, map[string]any{"machineId": "M1", "temperature": 4, "timestamp": time.Now().UTC().Format(time.RFC3339)})
		switch r.Status {
		case http.StatusAccepted:
		case http.StatusTooManyRequests:
			limited++
			if r.Header.Get("Retry-After") == "" || r.Error(t).Code != "RATE_LIMITED" {
				t.Fatalf("429 without Retry-After or RATE_LIMITED: %s", r.Body)
			}
		default:
			t.Fatalf("telemetry %d: %d %s", i, r.Status, r.Body)
		}
	}
	if limited < 10 {
		t.Fatalf("%d of 20 quick writes limited with a burst of 5, want most", limited)
	}
	if r := s.Do("GET", "/machines/M1", tok, nil); r.Status != 200 {
		t.Fatalf("a read while writes are limited: %d", r.Status)
	}
}

// TestNode_RetentionPrunesOldRows: raw telemetry and audit rows older than
// their retention are deleted by the periodic prune; newer ones stay, and
// the machine's state is untouched.
func TestNode_RetentionPrunesOldRows(t *testing.T) {
	clock := edgetest.NewClock(time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	s := edgetest.Start(t, edgetest.Options{Clock: clock, Configure: func(c *edge.Config) {
		c.Retention = edge.Retention{Telemetry: 30 * 24 * time.Hour, Audit: 365 * 24 * time.Hour, Every: 50 * time.Millisecond}
	}})
	s.Machine("M1")
	tok := s.AdminToken()
	for _, age := range []time.Duration{40 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
		r := s.Do("POST", "/events/telemetry", tok, map[string]any{"machineId": "M1", "temperature": 4, "timestamp": clock.Now().Add(-age).Format(time.RFC3339)})
		if r.Status != http.StatusAccepted {
			t.Fatalf("telemetry %v ago: %d %s", age, r.Status, r.Body)
		}
	}
	for _, age := range []time.Duration{400 * 24 * time.Hour, 10 * 24 * time.Hour} {
		if err := s.Node.Store.RecordAuthFailure(context.Background(), s.Admin.ClientID, "10.0.0.9", "BAD_CREDENTIALS", clock.Now().Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int64 { return edgetest.Count(t, s.DB(), q) }
	deadline := time.Now().Add(10 * time.Second)
	for count(`SELECT COUNT(*) FROM telemetry_events`) != 2 || count(`SELECT COUNT(*) FROM audit_logs WHERE action = 'AUTH_FAILED'`) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d telemetry rows (want the 2 newer than 30 days), %d auth audit rows (want 1)",
				count(`SELECT COUNT(*) FROM telemetry_events`), count(`SELECT COUNT(*) FROM audit_logs WHERE action = 'AUTH_FAILED'`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := count(`SELECT COUNT(*) FROM telemetry_events WHERE event_time < ` + fmt.Sprint(clock.Now().Add(-30*24*time.Hour).UnixMilli())); n != 0 {
		t.Fatalf("%d telemetry rows older than 30 days left", n)
	}
	if n := count(`SELECT COUNT(*) FROM machine_state WHERE machine_id = 'M1' AND last_telemetry_at IS NOT NULL`); n != 1 {
		t.Fatalf("machine state lost its last telemetry")
	}
}
