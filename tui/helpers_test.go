package tui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/envelope"
)

func init() {
	// Golden output must not depend on the terminal running the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
}

// t0 is the site clock: a Monday noon, UTC.
var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// world is a real edge for one site, a real central read model fed with the
// site's outbox, and central's route endpoint serving route.Candidates of it.
type world struct {
	t       *testing.T
	site    *edgetest.Site
	addr    string // the edge's fixed listen address (kept across restarts)
	rm      *readmodel.Store
	central *httptest.Server
	creds   edge.Credentials
	synced  uint64
	mu      sync.Mutex
}

// newWorld starts the site with machines M1 (P1 low, P2 empty, P3 expired)
// and M2 (P1 well stocked), syncs it to central and returns it.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t}
	w.site = edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0), Configure: func(c *edge.Config) {
		c.TokenTTL = 24 * time.Hour
		if w.addr != "" {
			c.HTTPAddr = w.addr
		}
	}})
	w.addr = w.site.Node.Addr()
	s := w.site
	s.Machine("M1")
	s.Machine("M2")
	s.Product("M1", "P1", 150, 2, map[string]any{"name": "Cola", "lowStockLimit": 5, "casePack": 6})
	s.Product("M1", "P2", 100, 0, map[string]any{"name": "Chips", "parLevel": 8})
	s.Product("M1", "P3", 200, 4, map[string]any{"name": "Sandwich", "expiryDate": "2025-03-01", "lowStockLimit": 2})
	s.Product("M2", "P1", 150, 20, map[string]any{"name": "Cola", "lowStockLimit": 5})
	w.creds = s.Client(auth.RoleDriver, "")

	rm, err := readmodel.Open(context.Background(), filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Close() })
	w.rm = rm
	w.sync()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/token", func(rw http.ResponseWriter, r *http.Request) {
		var c client.Credentials
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil || c.ClientID != w.creds.ClientID || c.ClientSecret != w.creds.ClientSecret {
			http.Error(rw, `{"error":{"code":"INVALID_CLIENT","message":"bad credentials"}}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(rw).Encode(map[string]any{"access_token": "central-token", "expires_in": 3600})
	})
	mux.HandleFunc("GET /routes/candidates", func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer central-token" {
			http.Error(rw, `{"error":{"code":"UNAUTHENTICATED","message":"token required"}}`, http.StatusUnauthorized)
			return
		}
		cs, err := route.CandidatesAt(r.Context(), rm, t0)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(rw).Encode(map[string]any{"candidates": cs})
	})
	w.central = httptest.NewServer(mux)
	t.Cleanup(w.central.Close)
	return w
}

// sync applies the site's outbox events not yet applied to the read model,
// as central's aggregator does with the batches the forwarder sends.
func (w *world) sync() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	rows, err := w.site.DB().Query(`SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq`, w.synced)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	b := &envelope.Batch{V: envelope.Version, Site: "test-site", TZ: "UTC"}
	for rows.Next() {
		var seq uint64
		var payload []byte
		if err := rows.Scan(&seq, &payload); err != nil {
			w.t.Fatal(err)
		}
		var ev envelope.Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			w.t.Fatal(err)
		}
		if b.First == 0 {
			b.First = seq
		}
		b.Last = seq
		b.Events = append(b.Events, ev)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	if len(b.Events) == 0 {
		return
	}
	if _, err := w.rm.Apply(context.Background(), b.Last, b); err != nil {
		w.t.Fatalf("apply batch %s: %v", b.MsgID(), err)
	}
	w.synced = b.Last
}

func (w *world) driverCreds() client.Credentials {
	return client.Credentials{ClientID: w.creds.ClientID, ClientSecret: w.creds.ClientSecret}
}

func (w *world) edgeURL() string { return "http://" + w.addr }

// model returns a model wired to the world, caching in dir.
func (w *world) model(dir string, retry time.Duration) (*model, *Queue) {
	w.t.Helper()
	q, err := OpenQueue(dir)
	if err != nil {
		w.t.Fatal(err)
	}
	c := NewHTTPClient(w.central.URL, w.edgeURL(), w.driverCreds(), w.driverCreds(), 5*time.Second, nil)
	n := 0
	m := newModel(deps{client: c, queue: q, edgeURL: w.edgeURL(), cacheDir: dir, exportDir: dir, now: func() time.Time { return t0 }, retryEvery: retry, loc: time.UTC,
		newID: func() string { n++; return "visit-" + strings.Repeat("x", n) }})
	return m, q
}

// waitFor waits until the program's output shows every one of want.
func waitFor(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	// Read the program's output as it comes and look for every string in
	// all of it (teatest.WaitFor re-reads from scratch on each check and
	// could miss a frame that arrived between two checks).
	var seen bytes.Buffer
	buf := make([]byte, 1<<16)
	testkit.CheckFor(t, 15*time.Second, func() error {
		for {
			n, _ := tm.Output().Read(buf)
			if n == 0 {
				break
			}
			seen.Write(buf[:n])
		}
		for _, s := range want {
			if !bytes.Contains(seen.Bytes(), []byte(s)) {
				return fmt.Errorf("waiting for %q: %q not seen; last output:\n%s", want, s, tail(seen.Bytes(), 2000))
			}
		}
		return nil
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func keys(tm *teatest.TestModel, ks ...string) {
	for _, k := range ks {
		switch k {
		case "enter":
			tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		case "tab":
			tm.Send(tea.KeyMsg{Type: tea.KeyTab})
		case "esc":
			tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
		case "down":
			tm.Send(tea.KeyMsg{Type: tea.KeyDown})
		case "up":
			tm.Send(tea.KeyMsg{Type: tea.KeyUp})
		case "backspace":
			tm.Send(tea.KeyMsg{Type: tea.KeyBackspace})
		default:
			tm.Type(k)
		}
	}
}

func writeCreds(t *testing.T, c edge.Credentials) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "driver.json")
	b, _ := json.Marshal(c)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
