package forward_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/forward"
)

// logBuffer is a zerolog writer the test can read while the forwarder
// writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// count is how many log lines hold every one of parts.
func (l *logBuffer) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.Lines(l.b.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// While the site's disk is full the outbox cannot be trimmed and the
// forwarder retries; it says so once, not on every retry, and says once
// that it recovered.
func TestForwarder_FullDiskIsLoggedOncePerChange(t *testing.T) {
	const site = "s1"
	h := natstest.OpenHub(t, natstest.HubConfig(t))
	seed, _, err := h.IssueSite(site)
	if err != nil {
		t.Fatal(err)
	}
	agg := newAggregator(site)
	agg.Attach(t, h.Conn())
	t.Cleanup(agg.Detach)
	n := natstest.StartLeaf(t, site, seed, h.LeafURL())
	natstest.WaitConnected(t, n, true)

	var full atomic.Bool
	full.Store(true)
	var trims atomic.Int64
	ob := newOutbox(t, site)
	ob.onTrim = func(uint64) error {
		trims.Add(1)
		if full.Load() {
			return fmt.Errorf("write outbox: %w", syscall.ENOSPC)
		}
		return nil
	}
	var logs logBuffer
	reg := prometheus.NewPedanticRegistry()
	f := newForwarder(t, forward.Config{
		Site: site, TZ: "Europe/Paris", Conn: n.Conn(), Outbox: ob,
		PollInterval: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Registerer: reg, Logger: zerolog.New(&logs),
	})
	last := ob.Append(t, 50)
	f.Poke()
	testkit.CheckFor(t, 20*time.Second, func() error {
		// Sales go on: each batch brings a watermark, and a trim to try.
		last = ob.Append(t, 1)
		f.Poke()
		if got := trims.Load(); got < 5 {
			return fmt.Errorf("%d trims tried, want 5", got)
		}
		return nil
	})
	if got := logs.count(`"level":"error"`); got != 1 {
		t.Fatalf("%d error lines after %d failed trims, want 1:\n%s", got, trims.Load(), logs.b.String())
	}
	if got := logs.count(`"level":"error"`, "storage full"); got != 1 {
		t.Fatalf("%d storage-full lines, want 1", got)
	}

	full.Store(false)
	waitSynced(t, 20*time.Second, ob, agg, last)
	if got := logs.count("storage no longer full"); got != 1 {
		t.Fatalf("%d recovery lines, want 1", got)
	}
	if got := logs.count(`"level":"error"`); got != 1 {
		t.Fatalf("%d error lines, want 1", got)
	}
}
