package dashboard

import (
	"sync"
	"time"
)

// memo keeps the answers of slow, slowly changing computations (the
// hour-of-week chart over four weeks, the drivers' route over the whole
// fleet) for a while, so live refreshes and many viewers do not recompute
// them. One computation per key runs at a time; the others wait for it.
type memo struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*memoEntry
}

type memoEntry struct {
	at   time.Time
	val  any
	err  error
	done chan struct{} // closed when val and err are set
}

func newMemo(ttl time.Duration, max int, now func() time.Time) *memo {
	return &memo{ttl: ttl, max: max, now: now, entries: map[string]*memoEntry{}}
}

// peek returns a fresh answer for key, if there is one.
func (m *memo) peek(key string) (any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok || m.now().Sub(e.at) >= m.ttl {
		return nil, false
	}
	select {
	case <-e.done:
		return e.val, e.err == nil
	default:
		return nil, false
	}
}

// get returns the answer for key, computing it when there is none or it
// is older than the ttl. A failed computation is not kept.
func (m *memo) get(key string, compute func() (any, error)) (any, error) {
	m.mu.Lock()
	e, ok := m.entries[key]
	if ok && m.now().Sub(e.at) < m.ttl {
		m.mu.Unlock()
		<-e.done
		return e.val, e.err
	}
	if len(m.entries) >= m.max {
		m.evict()
	}
	e = &memoEntry{at: m.now(), done: make(chan struct{})}
	m.entries[key] = e
	m.mu.Unlock()

	e.val, e.err = compute()
	close(e.done)
	if e.err != nil {
		m.mu.Lock()
		if m.entries[key] == e {
			delete(m.entries, key)
		}
		m.mu.Unlock()
	}
	return e.val, e.err
}

// evict drops expired entries, or the oldest one if none expired. The
// caller holds m.mu.
func (m *memo) evict() {
	var oldest string
	var at time.Time
	for k, e := range m.entries {
		if m.now().Sub(e.at) >= m.ttl {
			delete(m.entries, k)
			continue
		}
		if oldest == "" || e.at.Before(at) {
			oldest, at = k, e.at
		}
	}
	if len(m.entries) >= m.max && oldest != "" {
		delete(m.entries, oldest)
	}
}

// clear drops every entry (benchmarks measure cold pages with it).
func (m *memo) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = map[string]*memoEntry{}
}
