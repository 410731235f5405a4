package simulate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
)

// backfill fires the generator's timers in virtual time up to end, posting
// the sales through POST /events/batch in chunks of BatchSize with up to
// Concurrency chunks in flight.
//
// The edge can only be told about a restock now (PATCH carries no time), so
// a driver visit in the past is folded into the chunk it falls in: before
// that chunk is sent, and after every earlier chunk has been recorded, the
// product is set to what it will have at the end of the chunk plus what the
// chunk sells of it. The edge's stock then never goes negative while it
// records the chunk, and equals the simulator's when it is done. Chunks
// without a restock are pipelined.
func (r *runner) backfill(parent context.Context, g *generator, end time.Time) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	type key struct{ m, item int }

	jobs := make(chan []sale)
	var inflight, workers sync.WaitGroup
	for range r.cfg.Concurrency {
		workers.Go(func() {
			for chunk := range jobs {
				if err := r.postBatch(ctx, chunk); err != nil {
					cancel(err)
				}
				inflight.Done()
			}
		})
	}
	chunk := make([]sale, 0, r.cfg.BatchSize)
	sold := map[key]int{}       // in this chunk
	restocked := map[key]bool{} // in this chunk
	flush := func() bool {
		if len(restocked) > 0 {
			inflight.Wait()
			for k := range restocked {
				it := g.machines[k.m].items[k.item]
				err := r.patchStock(ctx, k.m, restockItem{item: k.item, productID: it.product.ID, qty: it.qty + sold[k]})
				if err != nil && ctx.Err() == nil {
					if errors.Is(err, ErrAuth) {
						cancel(err)
						return false
					}
					r.countError("", err)
				}
			}
		}
		clear(sold)
		clear(restocked)
		if len(chunk) == 0 {
			return ctx.Err() == nil
		}
		inflight.Add(1)
		select {
		case jobs <- chunk:
			chunk = make([]sale, 0, r.cfg.BatchSize)
			return true
		case <-ctx.Done():
			inflight.Done()
			return false
		}
	}

	ok := true
generate:
	for ctx.Err() == nil {
		at, more := g.peek()
		if !more || !at.Before(end) {
			break
		}
		for _, a := range g.fire() {
			switch a.kind {
			case actSale:
				sold[key{a.m, a.item}] += a.sale.Quantity
				chunk = append(chunk, a.sale)
				if len(chunk) == r.cfg.BatchSize {
					if ok = flush(); !ok {
						break generate
					}
				}
			case actRestock:
				for _, it := range a.restock {
					restocked[key{a.m, it.item}] = true
				}
			}
		}
	}
	if ok && ctx.Err() == nil {
		flush()
	}
	close(jobs)
	workers.Wait()
	return fatal(parent, ctx)
}

// failed reports whether the edge refused this event, and its error code.
func failed(b edgeapi.BatchResult) (string, bool) {
	if b.Error != nil && b.Error.Code != "" {
		return b.Error.Code, true
	}
	switch s := strings.ToUpper(b.Status); s {
	case "REJECTED", "FAILED", "ERROR", "INVALID":
		return s, true
	}
	return "", false
}

// postBatch posts one chunk and counts each event's outcome. It returns an
// error only when the run must stop.
func (r *runner) postBatch(ctx context.Context, chunk []sale) error {
	events := make([]edgeapi.Sale, len(chunk))
	for i, s := range chunk {
		events[i] = s.wire()
	}
	n := int64(len(chunk))
	r.st.salesSent.Add(n)
	r.st.backfilled.Add(n)
	ans, err := r.c.Batch(ctx, events)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrAuth) {
			return err
		}
		r.st.salesFailed.Add(n)
		r.countError("", err)
		return nil
	}
	results := ans.Results
	if len(results) != len(chunk) {
		// Unknown shape: a 2xx for the whole batch is taken as all recorded.
		r.warnBatchShape.Do(func() {
			r.log.Warn().Int("results", len(results)).Int("sent", len(chunk)).Msg("cannot read per-event results of /events/batch; counting the whole batch as accepted")
		})
		for _, s := range chunk {
			r.accepted(s.Amount)
		}
		return nil
	}
	byID := make(map[string]edgeapi.BatchResult, len(results))
	for _, res := range results {
		if res.TransactionID != "" {
			byID[res.TransactionID] = res
		}
	}
	for i, s := range chunk {
		res, found := byID[s.TransactionID]
		if !found {
			res = results[i]
		}
		if code, bad := failed(res); bad {
			r.st.salesFailed.Add(1)
			r.countError(code, nil)
			continue
		}
		r.accepted(s.Amount)
	}
	return nil
}
