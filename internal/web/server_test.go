package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// serve starts NewServer on a Listen listener with lim and returns its
// address; h defaults to a handler that reads the body and answers 204.
func serve(t *testing.T, lim ServerLimits, h http.Handler) string {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	ln, err := Listen("127.0.0.1:0", lim, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, lim, zerolog.Nop())
	done := make(chan error, 1)
	go func() { done <- Serve(srv, ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closes c (after whatever answer)
// within d.
func closedWithin(c net.Conn, d time.Duration) (bool, string) {
	c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false, string(b)
	}
	return true, string(b)
}

func TestServer_OversizedHeaderIs431(t *testing.T) {
	lim := DefaultServerLimits()
	lim.MaxHeaderBytes = 4 << 10
	addr := serve(t, lim, nil)
	c := dial(t, addr)
	go fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n", strings.Repeat("a", 64<<10))
	closed, answer := closedWithin(c, 5*time.Second)
	if !closed || !strings.HasPrefix(answer, "HTTP/1.1 431") {
		t.Fatalf("closed %v, answer %.80q; want 431 and close", closed, answer)
	}
}

func TestServer_UnfinishedHeadersAreCut(t *testing.T) {
	lim := DefaultServerLimits()
	lim.ReadHeaderTimeout = 300 * time.Millisecond
	addr := serve(t, lim, nil)
	c := dial(t, addr)
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if closed, _ := closedWithin(c, 5*time.Second); !closed {
		t.Fatal("a connection that never finished its headers was kept open")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cut after %v, want about the read header timeout", d)
	}
}

func TestServer_SlowBodyIsCut(t *testing.T) {
	lim := DefaultServerLimits()
	lim.ReadHeaderTimeout, lim.ReadTimeout = 200*time.Millisecond, 500*time.Millisecond
	addr := serve(t, lim, nil)
	c := dial(t, addr)
	if _, err := fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	cut := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		// one byte every 100 ms: 1000 bytes would take 100 s
		for range 1000 {
			if _, err := c.Write([]byte("x")); err != nil {
				cut <- time.Since(start)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	if closed, answer := closedWithin(c, 10*time.Second); !closed || strings.Contains(answer, "204") {
		t.Fatalf("a body trickled at 10 bytes/s was not cut off (closed %v, answer %q)", closed, answer)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cut after %v, want about the read timeout", d)
	}
}

func TestLimitListener_CapsConnections(t *testing.T) {
	lim := DefaultServerLimits()
	lim.MaxConns, lim.MaxConnsPerIP = 4, 0
	addr := serve(t, lim, nil)
	// Four idle keep-alive connections take every slot...
	for range 4 {
		c := dial(t, addr)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	// ...so a fifth is not served until one of them closes.
	extra := dial(t, addr)
	fmt.Fprintf(extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	extra.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := http.ReadResponse(bufio.NewReader(extra), nil); err == nil {
		t.Fatal("a fifth connection was served past MaxConns 4")
	}
}

func TestLimitListener_CapsConnectionsPerIP(t *testing.T) {
	lim := DefaultServerLimits()
	lim.MaxConns, lim.MaxConnsPerIP = 100, 3
	addr := serve(t, lim, nil)
	for range 3 {
		c := dial(t, addr)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	extra := dial(t, addr)
	fmt.Fprintf(extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if closed, answer := closedWithin(extra, 5*time.Second); !closed || answer != "" {
		t.Fatalf("a fourth connection from one address: closed %v, answer %q; want closed unanswered", closed, answer)
	}
}

// TestServer_SlowHeaderFloodKeepsMemoryBounded opens many connections that
// each send a large unfinished header and checks the server's heap stays
// within what the limits allow (before them, each connection buffered up to
// 1 MB of header).
func TestServer_SlowHeaderFloodKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 300 connections")
	}
	const conns, perConn = 300, 256 << 10
	lim := DefaultServerLimits()
	addr := serve(t, lim, nil)
	before := heapInuse()
	var wg sync.WaitGroup
	cs := make([]net.Conn, conns)
	for i := range cs {
		cs[i] = dial(t, addr)
		wg.Go(func() {
			fmt.Fprintf(cs[i], "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
			chunk := []byte(strings.Repeat("a", 16<<10))
			for sent := 0; sent < perConn; sent += len(chunk) {
				cs[i].SetWriteDeadline(time.Now().Add(2 * time.Second))
				if _, err := cs[i].Write(chunk); err != nil {
					return // the server gave up on us: the point
				}
			}
		})
	}
	wg.Wait()
	grown := int64(heapInuse()) - int64(before)
	// Allowed: per connection the header limit plus bufio and conn state.
	if max := int64(conns) * int64(lim.MaxHeaderBytes+32<<10); grown > max {
		t.Fatalf("heap grew %d MB under %d unfinished %d KB headers; want under %d MB", grown>>20, conns, perConn>>10, max>>20)
	}
	t.Logf("heap grew %.1f MB under %d connections each sending a %d KB unfinished header", float64(grown)/(1<<20), conns, perConn>>10)
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestServerLimits_Validate(t *testing.T) {
	if err := DefaultServerLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultServerLimits()
	bad.MaxConns = 0
	if bad.Validate() == nil {
		t.Fatal("MaxConns 0 accepted")
	}
}

// TestServer_DeclaredOversizedBodyIsRefusedBeforeItIsSent: a request whose
// Content-Length is over a handler's limit, sent as curl sends a large body
// (Expect: 100-continue, then wait), gets 413 BODY_TOO_LARGE at once, not
// "100 Continue" followed by a connection closed while the body is still
// being sent; through Decode and ReadBody alike. A body within the limit
// still gets its "100 Continue".
func TestServer_DeclaredOversizedBodyIsRefusedBeforeItIsSent(t *testing.T) {
	type in struct {
		Name string `json:"name"`
	}
	h := http.NewServeMux()
	h.Handle("POST /decode", Handler(func(w http.ResponseWriter, r *http.Request) error {
		var v in
		if err := Decode(w, r, &v, 1024); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	h.Handle("POST /read", Handler(func(w http.ResponseWriter, r *http.Request) error {
		if _, err := ReadBody(w, r, 1024, nil); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	addr := serve(t, DefaultServerLimits(), h)
	for _, path := range []string{"/decode", "/read"} {
		c := dial(t, addr)
		if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", path, 10<<20); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body was sent: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"BODY_TOO_LARGE"`) || !strings.Contains(string(b), "1024 bytes") {
			t.Fatalf("%s: answer %d %s; want 413 BODY_TOO_LARGE naming the limit", path, resp.StatusCode, b)
		}

		// Within the limit: told to continue, then answered.
		c = dial(t, addr)
		body := `{"name":"x"}`
		if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", path, len(body)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("%s: first line %q, %v; want 100 Continue", path, line, err)
		}
		if _, err := br.ReadString('\n'); err != nil { // the blank line after it
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, body); err != nil {
			t.Fatal(err)
		}
		resp, err = http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: answer %v, %v; want 204", path, resp, err)
		}
	}
}
