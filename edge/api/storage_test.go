package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
)

// logLines is a concurrency-safe log sink that counts lines by substring.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), sub)
}

// TestStorageFull_Answers503AndRecovers fills a real edge's database up to
// a size limit (PRAGMA max_page_count makes SQLite return SQLITE_FULL, as a
// full disk does): sales answer 503 STORAGE_FULL with Retry-After, /readyz
// says not ready, the state is logged once, and raising the limit recovers
// without a restart.
func TestStorageFull_Answers503AndRecovers(t *testing.T) {
	logs := &logLines{}
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0), Configure: func(c *edge.Config) {
		c.Logger = zerolog.New(logs)
	}})
	s.Machine("M1")
	s.Product("M1", "P1", 250, 100_000)
	tok := s.Token(auth.RoleMachine, "M1")
	ctx := context.Background()

	if r := s.Do("GET", "/readyz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("readyz before: %d %s", r.Status, r.Body)
	}
	w := s.Node.Store.DB.W // the writer's one connection: the limit holds for it
	var pages int64
	if err := w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
		t.Fatal(err)
	}

	// Sell until the database is full; every sale before that is accepted.
	var full edgetest.Response
	accepted := 0
	for i := range 5000 {
		r := s.Do("POST", "/events/sales", tok, s.Sale(fmt.Sprintf("tx-%05d", i), "M1", "P1", 1, 250))
		if r.Status == http.StatusCreated {
			accepted++
			continue
		}
		full = r
		break
	}
	if full.Status == 0 {
		t.Fatal("5000 sales fitted under the page limit: the limit did not bite")
	}
	if got, want := full.Status, http.StatusServiceUnavailable; got != want {
		t.Fatalf("sale on a full store: status %d, want %d: %s", got, want, full.Body)
	}
	if got, want := full.Error(t).Code, "STORAGE_FULL"; got != want {
		t.Fatalf("sale on a full store: code %q, want %q", got, want)
	}
	if full.Header.Get("Retry-After") == "" {
		t.Fatal("sale on a full store: no Retry-After")
	}
	// More refused sales are not logged one by one.
	for i := range 20 {
		r := s.Do("POST", "/events/sales", tok, s.Sale(fmt.Sprintf("tx-full-%d", i), "M1", "P1", 1, 250))
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("sale %d on a full store: status %d: %s", i, r.Status, r.Body)
		}
	}
	r := s.Do("GET", "/readyz", "", nil)
	if r.Status != http.StatusServiceUnavailable || r.Error(t).Code != "STORAGE_FULL" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz on a full store: %d %s %v, want 503 STORAGE_FULL with Retry-After", r.Status, r.Body, r.Header)
	}
	if got := logs.count("storage full"); got != 1 {
		t.Fatalf("%d log lines say the storage is full, want 1:\n%s", got, logs.b.String())
	}
	if got := logs.count("request failed") + logs.count("write transaction failed"); got != 0 {
		t.Fatalf("%d log lines per refused request, want none:\n%s", got, logs.b.String())
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT count(*) FROM sales_events`), int64(accepted); got != want {
		t.Fatalf("sales recorded = %d, want the %d accepted", got, want)
	}

	// Room again: ready without a restart, and the refused sale goes in.
	if _, err := w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if r := s.Do("GET", "/readyz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("readyz after room is made: %d %s", r.Status, r.Body)
	}
	if r := s.Do("POST", "/events/sales", tok, s.Sale("tx-full-0", "M1", "P1", 1, 250)); r.Status != http.StatusCreated {
		t.Fatalf("sale after room is made: %d %s", r.Status, r.Body)
	}
	if got := logs.count("storage no longer full"); got != 1 {
		t.Fatalf("%d log lines say the storage recovered, want 1", got)
	}
}
