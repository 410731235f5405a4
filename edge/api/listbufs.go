package api

import (
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/arraypool"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

// The list handlers read their rows into arrays kept here and give them
// back once the answer is written (see internal/arraypool).
var (
	faultBufs    arraypool.Pool[store.Fault]
	auditBufs    arraypool.Pool[store.AuditEntry]
	detailBufs   = arraypool.Pool[byte]{Limit: 1 << 20} // the audit entries' details, one array
	movementBufs arraypool.Pool[store.StockMovement]
	lotBufs      arraypool.Pool[store.LotRow]
	aggBufs      arraypool.Pool[store.AggRow]
	salesRowBufs arraypool.Pool[edgeapi.SalesRow]
	paymentBufs  arraypool.Pool[edgeapi.Payment]
)
