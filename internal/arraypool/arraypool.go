// Package arraypool keeps arrays for reads that are made often and thrown
// away at once: the edge's long lists. A 500-row list's array was most of
// the garbage its request left, and the collector that garbage called for
// set the p99 of those lists (BENCHMARKS.md, wave 13).
package arraypool

import "sync"

// Max is the longest array a Pool keeps by default: a longer one (a limit
// past the usual 500 or 1,000 rows) is left to the collector.
const Max = 4096

// Pool keeps arrays of T. Its zero value is ready; it is safe for
// concurrent use.
type Pool[T any] struct {
	pool sync.Pool
	// Limit is the longest array kept (0: Max); bytes want more.
	Limit int
}

// Get returns an empty array with room, or nil when none is kept.
func (p *Pool[T]) Get() []T {
	if a, ok := p.pool.Get().(*[]T); ok {
		return (*a)[:0]
	}
	return nil
}

// Put gives a back for a later Get, cleared so that it keeps no rows'
// strings alive. The caller must not use a afterwards.
func (p *Pool[T]) Put(a []T) {
	limit := p.Limit
	if limit == 0 {
		limit = Max
	}
	if a == nil || cap(a) > limit {
		return
	}
	clear(a)
	a = a[:0]
	p.pool.Put(&a)
}
