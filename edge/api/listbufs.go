package api

import (
	"sync"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

// A list answer is read into an array of the store's rows and encoded from
// it; a 500-row answer's array was most of the garbage the request left,
// and the collector it called for set the p99 of the edge's long lists
// (BENCHMARKS.md, wave 13). So the handlers read into arrays they keep in
// a listBuf and give back once the answer is written.

// listBuf keeps arrays of T for the list handlers.
type listBuf[T any] struct{ pool sync.Pool }

// maxListBuf is the longest array kept: a longer one (a limit past the
// usual 500 or 1,000) is left to the collector.
const maxListBuf = 2048

// get returns an empty array with room, or nil.
func (l *listBuf[T]) get() []T {
	if p, ok := l.pool.Get().(*[]T); ok {
		return (*p)[:0]
	}
	return nil
}

// put gives a back, cleared so that it keeps no rows' strings alive.
func (l *listBuf[T]) put(a []T) {
	if a == nil || cap(a) > maxListBuf {
		return
	}
	clear(a)
	a = a[:0]
	l.pool.Put(&a)
}

// The handlers' arrays.
var (
	faultBufs    listBuf[store.Fault]
	auditBufs    listBuf[store.AuditEntry]
	movementBufs listBuf[store.StockMovement]
	lotBufs      listBuf[store.LotRow]
	aggBufs      listBuf[store.AggRow]
	salesRowBufs listBuf[edgeapi.SalesRow]
	paymentBufs  listBuf[edgeapi.Payment]
)
