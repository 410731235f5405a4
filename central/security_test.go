package central_test

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

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
)

// TestCentral_HTTPLimits: central's HQ API cuts a body trickled in slower
// than its read timeout (it had none: 1 byte/s held a connection ~17 h) and
// refuses an oversized header.
func TestCentral_HTTPLimits(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), func(cfg *central.Config) {
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

func hqGet(t *testing.T, base, path, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCentral_DataIsPrivateAndKeyRotates: the node's directory is made
// 0700 and its read model 0600; `POST /auth/rotate-key` (what `vendsync
// central rotate-key` calls) and a rotation made by another node (a write
// to the shared bucket) both make every earlier token refused.
func TestCentral_DataIsPrivateAndKeyRotates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	c := fleet.StartCentral(t, dir, nil)
	defer c.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, central.ReadModelFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}

	creds, err := edge.ReadCredentials(filepath.Join(dir, central.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	old := hqToken(t, c.URL(), creds)
	if got := hqGet(t, c.URL(), "/clients", old); got != 200 {
		t.Fatalf("before rotation: %d", got)
	}
	req, _ := http.NewRequest(http.MethodPost, c.URL()+"/auth/rotate-key", strings.NewReader(`{"confirm":true}`))
	req.Header.Set("Authorization", "Bearer "+old)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /auth/rotate-key: %d", resp.StatusCode)
	}
	if got := hqGet(t, c.URL(), "/clients", old); got != 401 {
		t.Fatalf("a token signed before rotate-key: %d, want 401", got)
	}
	fresh := hqToken(t, c.URL(), creds)
	if got := hqGet(t, c.URL(), "/clients", fresh); got != 200 {
		t.Fatalf("a token signed after rotate-key: %d", got)
	}

	// Another node rotating writes the shared bucket; this node follows.
	if _, err := c.Auth.RotateKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, func() error { // the node takes the new key
		if got := hqGet(t, c.URL(), "/clients", fresh); got != 401 {
			return fmt.Errorf("a token signed before the second rotation: %d, want 401", got)
		}
		return nil
	})
}
