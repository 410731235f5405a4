//go:build torture

package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// ackedSale is one sale the edge acknowledged (2xx), as the ledger keeps it.
type ackedSale struct {
	site, machine, tx, product string
	qty                        int64
	amount                     wire.Money
}

// ledger is every acknowledged sale, and what the sellers saw on the way.
type ledger struct {
	mu    sync.Mutex
	sales map[string]ackedSale // by site/tx
	// inDoubt are sales sent without a definitive answer when the sellers
	// stopped (the edge may or may not have committed them): they are sent
	// again, with the same id, once everything is healed.
	inDoubt []edgeapi.Sale
	doubtAt []*site

	refused        map[string]int64 // 4xx answers by code
	transient      atomic.Int64     // no answer, 5xx or 429: sent again with the same id
	replaysSent    atomic.Int64     // acked sales deliberately sent again
	replaysOK      atomic.Int64     // ... answered as replays
	replayNotFirst atomic.Int64     // ... answered 201 as if new: counted twice at the edge
	storageFull    atomic.Int64     // answers 503 STORAGE_FULL (disk full at the site)
	recoveredDoubt atomic.Int64     // a retry after no answer that was a replay: the first attempt had committed
}

func newLedger() *ledger {
	return &ledger{sales: map[string]ackedSale{}, refused: map[string]int64{}}
}

func (l *ledger) ack(s *site, sale edgeapi.Sale) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := s.id + "/" + sale.TransactionID
	if _, dup := l.sales[k]; dup {
		return false
	}
	l.sales[k] = ackedSale{site: s.id, machine: sale.MachineID, tx: sale.TransactionID, product: sale.ProductID, qty: sale.Quantity, amount: sale.Amount}
	return true
}

func (l *ledger) acked(s *site, tx string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.sales[s.id+"/"+tx]
	return ok
}

func (l *ledger) refuse(code string) {
	l.mu.Lock()
	l.refused[code]++
	l.mu.Unlock()
}

func (l *ledger) doubt(s *site, sale edgeapi.Sale) {
	l.mu.Lock()
	l.inDoubt, l.doubtAt = append(l.inDoubt, sale), append(l.doubtAt, s)
	l.mu.Unlock()
}

// totals are one key's transactions, quantity and revenue.
type totals struct {
	tx, qty int64
	rev     wire.Money
}

// byMachine sums the ledger per site and machine, and stock sold per site,
// machine and product.
func (l *ledger) byMachine() (map[string]map[string]totals, map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[string]totals{}
	sold := map[string]int64{}
	for _, s := range l.sales {
		if out[s.site] == nil {
			out[s.site] = map[string]totals{}
		}
		t := out[s.site][s.machine]
		t.tx++
		t.qty += s.qty
		t.rev += s.amount
		out[s.site][s.machine] = t
		sold[s.site+"/"+s.machine+"/"+s.product] += s.qty
	}
	return out, sold
}

// sell posts sales as machine m of site s until ctx is done. Each sale has
// a fresh transaction id; one that gets no definitive answer (no answer,
// 5xx, 429: the edge may have been killed, its disk full) is sent again
// with the same id until it does, and one that is acknowledged is now and
// then sent again on purpose: it must be answered as a replay.
func sell(ctx context.Context, l *ledger, s *site, m string, c *client.Edge, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x70727475))
	for n := 1; ctx.Err() == nil; n++ {
		p := products[rng.IntN(len(products))]
		q := int64(1 + rng.IntN(3))
		sale := edgeapi.Sale{TransactionID: fmt.Sprintf("%s-%d", m, n), MachineID: m, ProductID: p.id, Quantity: q,
			Amount: p.price * wire.Money(q), PaymentMethod: []string{"CASH", "CARD"}[rng.IntN(2)]}
		sale.Timestamp = s.now().UTC().Format(time.RFC3339Nano)
		if !post(ctx, l, s, c, sale, false) {
			return
		}
		if rng.IntN(40) == 0 && l.acked(s, sale.TransactionID) { // ~2.5% of acked sales are sent again
			l.replaysSent.Add(1)
			post(ctx, l, s, c, sale, true)
		}
		pause(ctx, time.Duration(40+rng.IntN(120))*time.Millisecond)
	}
}

// post sends sale until it has a definitive answer; false if ctx ended
// first (the sale is then in doubt).
func post(ctx context.Context, l *ledger, s *site, c *client.Edge, sale edgeapi.Sale, replay bool) bool {
	retried := false
	// The machine stamps the sale with the site's clock (machines take
	// their time from the site), skewed or not; a resend is the same sale,
	// same stamp.
	if sale.Timestamp == "" {
		sale.Timestamp = s.now().UTC().Format(time.RFC3339Nano)
	}
	for {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		res, err := c.Sale(cctx, sale)
		cancel()
		switch {
		case err == nil:
			if replay {
				if res.Replayed {
					l.replaysOK.Add(1)
				} else {
					l.replayNotFirst.Add(1)
				}
				return true
			}
			if retried && res.Replayed {
				l.recoveredDoubt.Add(1)
			} else if res.Replayed {
				// A fresh id answered as a replay: another sale shadowed it.
				l.refuse("FRESH_ID_ANSWERED_AS_REPLAY")
			}
			l.ack(s, sale)
			return true
		case client.Retryable(err):
			l.transient.Add(1)
			if client.HasCode(err, "STORAGE_FULL") {
				l.storageFull.Add(1)
			}
			retried = true
			if ctx.Err() != nil {
				if !replay {
					l.doubt(s, sale)
				}
				return false
			}
			pause(ctx, 300*time.Millisecond)
		case retried && !replay:
			// Refused on a resend: the site's clock moved under it (a
			// clock-skew restart) and the stamp is now out of range, yet
			// the first attempt may have committed. Settled at the end.
			l.doubt(s, sale)
			return true
		default:
			code := "ERROR"
			var ce *client.Error
			if errors.As(err, &ce) {
				code = fmt.Sprintf("%d %s", ce.Status, ce.Code)
			}
			l.refuse(code)
			return true
		}
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// resolveDoubts sends every in-doubt sale again (same id) now that the
// fleet is healed: a replay means the first attempt had committed, a 201
// that it had not; either way it is acked exactly once.
func (l *ledger) resolveDoubts(ctx context.Context) error {
	l.mu.Lock()
	sales, sites := l.inDoubt, l.doubtAt
	l.inDoubt, l.doubtAt = nil, nil
	l.mu.Unlock()
	for i, sale := range sales {
		s := sites[i]
		c := s.machines[sale.MachineID]
		deadline := time.Now().Add(2 * time.Minute)
		for {
			res, err := c.Sale(ctx, sale)
			if err == nil {
				if res.Replayed {
					l.recoveredDoubt.Add(1)
				}
				l.ack(s, sale)
				break
			}
			if !client.Retryable(err) || time.Now().After(deadline) {
				return fmt.Errorf("in-doubt sale %s at %s: %w", sale.TransactionID, s.id, err)
			}
			pause(ctx, 500*time.Millisecond)
		}
	}
	return nil
}
