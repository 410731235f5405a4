package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/sync/envelope"
)

// notifier tells open pages that this node's read model changed. The
// aggregator pushes a site's watermark on NATS after every batch it commits;
// the notifier then compares the read model's stream position with the last
// one announced, so a push from another node's aggregator (whose batch this
// node has not applied yet) announces nothing until this node's own push
// follows. Announcements are at least coalesce apart: a burst of batches
// makes one refresh.
type notifier struct {
	store    *readmodel.Store
	coalesce time.Duration

	mu      sync.Mutex
	subs    map[chan uint64]struct{}
	last    uint64
	lastAt  time.Time
	pending bool
	sub     *nats.Subscription
	done    chan struct{}
	closed  bool
}

func newNotifier(store *readmodel.Store, coalesce time.Duration) *notifier {
	return &notifier{store: store, coalesce: coalesce, subs: map[chan uint64]struct{}{}, done: make(chan struct{})}
}

// listen subscribes to every site's watermark pushes.
func (n *notifier) listen(nc *nats.Conn) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sub != nil || n.closed {
		return nil
	}
	if pos, err := n.store.Position(context.Background()); err == nil {
		n.last = pos
	}
	sub, err := nc.Subscribe(envelope.SubjectWatermarkPushAll, func(*nats.Msg) { n.poke() })
	if err != nil {
		return fmt.Errorf("subscribe to commits: %w", err)
	}
	n.sub = sub
	return nil
}

// gather is how long a check waits for the pushes of the same moment.
const gather = 50 * time.Millisecond

// poke schedules a check unless one is already due: soon after the push,
// or coalesce after the last announcement.
func (n *notifier) poke() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending || n.closed {
		return
	}
	n.pending = true
	time.AfterFunc(max(gather, time.Until(n.lastAt.Add(n.coalesce))), n.check)
}

// check announces the read model's position if it moved.
func (n *notifier) check() {
	n.mu.Lock()
	n.pending = false
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	pos, err := n.store.Position(ctx)
	cancel()
	if err != nil {
		return // the next push checks again
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if pos == n.last || n.closed {
		return
	}
	n.last, n.lastAt = pos, time.Now()
	for ch := range n.subs {
		// Buffered by one: a page that has not yet taken the previous
		// notice refreshes once for both.
		select {
		case <-ch:
		default:
		}
		ch <- pos
	}
}

// subscribe returns a channel of announced positions and its cancel.
func (n *notifier) subscribe() (<-chan uint64, func()) {
	ch := make(chan uint64, 1)
	n.mu.Lock()
	n.subs[ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(n.subs, ch)
		n.mu.Unlock()
	}
}

// close stops listening and ends every stream.
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	if n.sub != nil {
		_ = n.sub.Unsubscribe()
	}
	close(n.done)
}

// events is GET /ui/events: a server-sent event stream that says
// "position" (the read model's) first, "change" after this node's read
// model moved and "tick" every Tick, and ends with "signedout" once the
// session is gone.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request, s *session) error {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	ch, cancel := d.live.subscribe()
	defer cancel()
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The position now: a page read at an older one refreshes at once
	// (a change committed between the page's reading and this stream).
	pos, err := d.cfg.Store.Position(r.Context())
	if err != nil {
		return err
	}
	if !send("retry: 3000\nevent: position\ndata: %d\n\n", pos) {
		return nil
	}
	tick := time.NewTicker(d.cfg.Tick)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-d.live.done:
			return nil
		case pos := <-ch:
			if !send("event: change\ndata: %d\n\n", pos) {
				return nil
			}
		case <-tick.C:
			if _, err := d.current(r); errors.Is(err, errNoSession) {
				send("event: signedout\ndata: \n\n")
				return nil
			}
			if !send("event: tick\ndata: \n\n") {
				return nil
			}
		}
	}
}
