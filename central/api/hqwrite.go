package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/vendsync/vendsync/central/hqlog"
	"github.com/vendsync/vendsync/central/purchasing"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// Central-owned inventory and purchasing writes go through the HQ log
// (central/hqlog): the node that takes the request checks it, puts every
// value it makes up (ids, secrets, times) in the entry's data, and
// submits it; every node applies it in log order through the kind's
// handler, so every node's read model holds the same depots, vans,
// transfers, suppliers, orders and subscriptions. Without an HQ log
// (Config.HQLog nil, in tests) an operation applies directly.
//
// Operations that are idempotent by a key of their own (transfers by
// transferId, bulk updates by requestKey, receipts by receiptKey) submit a
// fresh entry per request: the read model's own idempotency, applied in log
// order on every node, makes a retry apply once and answers it as a replay
// (Idempotent-Replayed), or refuses a different body under the same key,
// exactly as on one node.

// hqOp is one kind of central-owned write: apply runs on every node, inside
// the entry's transaction.
type hqOp[In, Out any] struct {
	s     *server
	kind  string
	apply func(ctx context.Context, in In) (Out, error)
}

// newHQOp registers kind's handler with the HQ log (if any) and returns the
// operation.
func newHQOp[In, Out any](s *server, kind string, apply func(ctx context.Context, in In) (Out, error)) *hqOp[In, Out] {
	if s.cfg.HQLog != nil {
		s.cfg.HQLog.Handle(kind, func(ctx context.Context, e hqlog.Entry) (any, error) {
			var in In
			if err := json.Unmarshal(e.Data, &in); err != nil {
				return nil, fmt.Errorf("decode %s: %w", kind, err)
			}
			out, err := apply(ctx, in)
			if err != nil {
				return nil, hqRefusal(err)
			}
			return out, nil
		})
	}
	return &hqOp[In, Out]{s: s, kind: kind, apply: apply}
}

// do runs the operation for request r: through the HQ log, deduplicated by
// key ("" makes one), or directly without one.
func (o *hqOp[In, Out]) do(r *http.Request, key string, in In) (Out, error) {
	if o.s.cfg.HQLog == nil {
		return o.apply(r.Context(), in)
	}
	var out Out
	err := o.s.cfg.HQLog.Do(r.Context(), o.kind, who(r), key, in, &out)
	return out, err
}

// hqSync makes this node catch up with the HQ log before a check that
// reads central-owned state here (nothing to do without an HQ log).
func (s *server) hqSync(r *http.Request) error {
	if s.cfg.HQLog == nil {
		return nil
	}
	return s.cfg.HQLog.Sync(r.Context())
}

// hqRefusal makes the read model's and the API's refusals *errs.Error (the
// HQ log keeps those as an entry's outcome; any other error stops the
// entry, to be applied again). Messages and statuses stay as the API
// answered them before.
func hqRefusal(err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	var we *web.Error
	switch {
	case errors.As(err, &we):
		kind := errs.Internal
		switch we.Status {
		case http.StatusBadRequest:
			kind = errs.Invalid
		case http.StatusNotFound:
			kind = errs.NotFound
		case http.StatusConflict:
			kind = errs.Conflict
		case http.StatusUnprocessableEntity:
			kind = errs.Unprocessable
		case http.StatusForbidden:
			kind = errs.Forbidden
		}
		if kind == errs.Internal {
			return err
		}
		return &errs.Error{Kind: kind, Code: we.Code, Message: we.Message, Field: we.Field}
	case errors.Is(err, readmodel.ErrInvalidQuery):
		return &errs.Error{Kind: errs.Invalid, Code: "INVALID", Message: err.Error()}
	case errors.Is(err, readmodel.ErrNotFound):
		return &errs.Error{Kind: errs.NotFound, Code: "NOT_FOUND", Message: err.Error()}
	}
	return err
}

// hqOps are the central-owned inventory and purchasing writes.
type hqOps struct {
	depotAdd       *hqOp[readmodel.Depot, readmodel.Depot]
	vanAdd         *hqOp[readmodel.Van, readmodel.Van]
	skuAdd         *hqOp[readmodel.SKU, readmodel.SKU]
	transferCreate *hqOp[readmodel.TransferIn, readmodel.Transfer]
	bulk           *hqOp[bulkEntry, replayable[readmodel.BulkResult]]
	channelSync    *hqOp[readmodel.ChannelSyncIn, readmodel.BulkResult]
	supplierAdd    *hqOp[readmodel.SupplierRow, struct{}]
	poCreate       *hqOp[readmodel.PORow, readmodel.PORow]
	poSend         *hqOp[poEntry, readmodel.PORow]
	poCancel       *hqOp[poEntry, readmodel.PORow]
	poReceive      *hqOp[receiptEntry, receiptResult]
	subscribe      *hqOp[readmodel.Subscription, struct{}]
	unsubscribe    *hqOp[poEntry, struct{}]
}

// bulkEntry is an inventory.bulk entry.
type bulkEntry struct {
	Key   string               `json:"key"`
	Hash  []byte               `json:"hash"`
	By    string               `json:"by"`
	Lines []readmodel.BulkLine `json:"lines"`
}

// replayable carries a result whose Replayed flag JSON leaves out.
type replayable[T any] struct {
	Result   T    `json:"result"`
	Replayed bool `json:"replayed"`
}

// poEntry names one purchase order (or subscription).
type poEntry struct {
	ID string `json:"id"`
}

// receiptEntry is a po.receive entry.
type receiptEntry struct {
	ID    string                  `json:"id"`
	Key   string                  `json:"key"`
	By    string                  `json:"by"`
	Lines []readmodel.ReceiptLine `json:"lines"`
}

// receiptResult is a po.receive outcome.
type receiptResult struct {
	PO       readmodel.PORow    `json:"po"`
	Lots     []readmodel.LotRow `json:"lots"`
	Replayed bool               `json:"replayed"`
}

// newHQOps registers every central-owned inventory and purchasing write.
func (s *server) newHQOps() *hqOps {
	st := s.cfg.Store
	return &hqOps{
		depotAdd:       newHQOp(s, "depot.add", st.CreateDepot),
		vanAdd:         newHQOp(s, "van.add", st.CreateVan),
		skuAdd:         newHQOp(s, "sku.add", st.CreateSKU),
		transferCreate: newHQOp(s, "transfer.create", st.CreateTransfer),
		bulk: newHQOp(s, "inventory.bulk", func(ctx context.Context, in bulkEntry) (replayable[readmodel.BulkResult], error) {
			res, err := st.BulkUpdate(ctx, in.Key, in.Hash, in.By, in.Lines)
			return replayable[readmodel.BulkResult]{Result: res, Replayed: res.Replayed}, err
		}),
		channelSync: newHQOp(s, "channel.sync", st.ChannelSync),
		supplierAdd: newHQOp(s, "supplier.add", func(ctx context.Context, in readmodel.SupplierRow) (struct{}, error) {
			return struct{}{}, st.CreateSupplier(ctx, in)
		}),
		poCreate: newHQOp(s, "po.create", st.CreatePurchaseOrder),
		poSend: newHQOp(s, "po.send", func(ctx context.Context, in poEntry) (readmodel.PORow, error) {
			return st.SetPOStatus(ctx, in.ID, purchasing.Send, func(po readmodel.PORow) error {
				// The supplier's minimum is HQ-log state: the same on every node.
				sups, err := st.Suppliers(ctx, po.SupplierID)
				if err != nil || len(sups) == 0 {
					return err
				}
				if min := sups[0].MinOrderCents; po.Total() < min {
					return errs.Errorf(errs.Unprocessable, "BELOW_MIN_ORDER", "lines", "purchase order %s totals %s, below supplier %s's minimum order of %s",
						po.ID, wire.Money(po.Total()), po.SupplierID, wire.Money(min))
				}
				return nil
			})
		}),
		poCancel: newHQOp(s, "po.cancel", func(ctx context.Context, in poEntry) (readmodel.PORow, error) {
			return st.SetPOStatus(ctx, in.ID, purchasing.Cancel, nil)
		}),
		poReceive: newHQOp(s, "po.receive", func(ctx context.Context, in receiptEntry) (receiptResult, error) {
			po, lots, replayed, err := st.ReceivePurchaseOrder(ctx, in.ID, in.Key, in.By, in.Lines)
			return receiptResult{PO: po, Lots: lots, Replayed: replayed}, err
		}),
		subscribe: newHQOp(s, "alert.subscribe", func(ctx context.Context, in readmodel.Subscription) (struct{}, error) {
			return struct{}{}, st.CreateSubscription(ctx, in)
		}),
		unsubscribe: newHQOp(s, "alert.unsubscribe", func(ctx context.Context, in poEntry) (struct{}, error) {
			return struct{}{}, st.DeleteSubscription(ctx, in.ID)
		}),
	}
}
