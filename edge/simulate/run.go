// Package simulate generates realistic traffic against a site's edge API: it
// registers machines and their products, then sends sales as a Poisson
// process that follows a daily seasonality curve, periodic telemetry with
// occasional temperature excursions, occasional faults, driver restocks, and
// resends of already accepted sales to exercise idempotency. It can also
// backfill historical sales in batches.
//
// With DEX on, it also keeps each machine's own DEX/UCS meters (through
// edge/dex/dextest), drops a share of sales that the machines still count,
// and uploads the machines' reads for the edge to reconcile.
//
// It is an ordinary HTTP client of the edge and imports nothing of it but
// the DEX file generator.
package simulate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// Stats counts what a run did.
type Stats struct {
	// SalesSent is the number of distinct sales posted, singly or in a batch
	// (resends and retries are not counted again).
	SalesSent int64
	// SalesAccepted is the number of sales the edge recorded.
	SalesAccepted int64
	// SalesReplayed is the number of deliberate resends of accepted sales
	// that the edge answered as replays (200).
	SalesReplayed int64
	// SalesFailed is the number of sales the edge refused or that failed
	// after every retry. A sale cut off by cancellation counts only as sent.
	SalesFailed int64
	// Backfilled is the number of SalesSent that were historical.
	Backfilled int64
	// Telemetry, Faults and Restocks count the readings, fault reports and
	// product refills the edge accepted.
	Telemetry int64
	Faults    int64
	Restocks  int64
	// Revenue is the sum of the amounts of accepted sales.
	Revenue Money
	// DEXReads is the number of DEX reads uploaded; Dropped the units the
	// machines vended and counted whose sales were never sent; Unreported
	// the units the edge's reconciliations of those reads found missing
	// from its ledger. With every read reconciled, Unreported = Dropped.
	DEXReads, Dropped, Unreported int64
	// Retries is the number of requests sent again after a transient failure
	// or a 401.
	Retries int64
	// Tokens is the number of access tokens fetched.
	Tokens int64
	// Errors counts every error seen by code (the edge's error code,
	// HTTP_<status> without one, NETWORK for connection failures), including
	// those that a retry then overcame. REPLAY_ACCEPTED_AS_NEW counts resends
	// that the edge recorded a second time.
	Errors map[string]int64
	// Timezone is the timezone the daily curve followed.
	Timezone string
	// Elapsed is the wall-clock duration of the run.
	Elapsed time.Duration
}

type counters struct {
	salesSent, salesAccepted, salesReplayed, salesFailed, backfilled atomic.Int64
	telemetry, faults, restocks, revenue, retries                    atomic.Int64

	mu     sync.Mutex
	errors map[string]int64
}

type runner struct {
	cfg *Config
	c   *client.Edge
	st  *counters
	log zerolog.Logger

	warnBatchShape sync.Once
	dex            *meters // nil unless cfg.DEX

	mu     sync.Mutex
	recent []recentSale // ring of accepted sales, for replays
	next   int
}

type recentSale struct {
	m    int
	sale edgeapi.Sale
}

const recentSize = 256

// Run sets up the configured machines and products on the edge (tolerating
// ones that exist, so it can be re-run), optionally backfills history, then
// sends live traffic until cfg.Duration has passed or ctx is done, and
// returns what it did. It returns a *FieldError for a bad config, an error
// wrapping ErrAuth if the credentials are refused, and an error if setup
// fails; a cancelled ctx after setup is a normal end (nil error).
func Run(ctx context.Context, cfg Config) (Stats, error) {
	started := time.Now()
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	runID := cfg.RunID
	if runID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		runID = hex.EncodeToString(b[:])
	}
	r := &runner{
		cfg: &cfg,
		st:  &counters{errors: map[string]int64{}},
		log: cfg.Logger.With().Str("component", "simulate").Str("run", runID).Logger(),
	}
	c, err := newClient(&cfg, func(code string) {
		r.st.retries.Add(1)
		r.countError(code, nil)
	})
	if err != nil { // Validate has checked the URL
		return Stats{}, &FieldError{Field: "EdgeURL", Reason: err.Error()}
	}
	r.c = c
	err = r.run(ctx, runID)
	st := r.stats()
	st.Elapsed = time.Since(started)
	return st, err
}

func (r *runner) run(ctx context.Context, runID string) error {
	cfg := r.cfg
	now := time.Now()
	g := newGenerator(cfg, runID)
	if err := r.setup(ctx, g, now); err != nil {
		return err
	}
	r.log.Info().Int("machines", cfg.Machines).Int("products", cfg.Products).Str("edge", cfg.EdgeURL).Msg("machines and products ready")

	if cfg.Backfill > 0 {
		g.begin(now.Add(-cfg.Backfill))
		t0 := time.Now()
		if err := r.backfill(ctx, g, now); err != nil {
			return err
		}
		r.log.Info().Stringer("span", cfg.Backfill).Int64("sales", r.st.backfilled.Load()).Stringer("took", time.Since(t0).Round(time.Millisecond)).Msg("backfill done")
		if cfg.BackfillOnly || ctx.Err() != nil {
			return nil
		}
	} else {
		g.begin(now)
	}
	if cfg.DEX {
		r.dex = newMeters(cfg, g)
		for m := range g.machines {
			if err := r.readDEX(ctx, m); err != nil {
				return fmt.Errorf("setup: first DEX read: %w", err)
			}
		}
	}
	live := time.Now()
	var end time.Time
	if cfg.Duration > 0 {
		end = live.Add(cfg.Duration)
	}
	g.goLive(live)
	r.log.Info().Float64("salesPerMinute", cfg.SalesPerMinute).Stringer("duration", cfg.Duration).Msg("live traffic started")
	err := r.live(ctx, g, end)
	r.log.Info().Int64("sales", r.st.salesSent.Load()).Msg("live traffic stopped")
	if err == nil && r.dex != nil {
		// The driver's last round: every machine read once more, even when
		// the run was interrupted, so every vend is in a reconciled period.
		last, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for m := range g.machines {
			if err := r.readDEX(last, m); err != nil {
				return err
			}
		}
	}
	return err
}

// setup registers every machine and its products, then reads each machine's
// inventory so the simulator starts from the edge's real prices and stock.
func (r *runner) setup(ctx context.Context, g *generator, now time.Time) error {
	type found struct {
		price    Money
		qty, low int
	}
	// One token up front: refused credentials fail here, clearly, and the
	// workers below do not queue for it.
	if err := r.c.SignIn(ctx); err != nil {
		r.countError("", err)
		return fmt.Errorf("setup: %w", err)
	}
	if r.cfg.Timezone == nil {
		r.cfg.Timezone = r.edgeTimezone(ctx)
	}
	inv := make([]map[string]found, len(g.machines))
	today := now.In(r.cfg.Timezone)
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(r.cfg.Concurrency)
	for m, ms := range g.machines {
		eg.Go(func() error {
			_, err := r.c.RegisterMachine(ctx, edgeapi.NewMachine{
				MachineID:      ms.id,
				Location:       &edgeapi.Location{City: r.cfg.City, Building: r.cfg.Building, Lat: ms.lat, Lng: ms.lng},
				PaymentMethods: paymentMethods,
			})
			if err := r.created(ctx, err, "MACHINE_EXISTS"); err != nil {
				return fmt.Errorf("register machine %s: %w", ms.id, err)
			}
			for _, it := range ms.items {
				p := it.product
				price, qty, low := wire.Money(p.Price), int64(p.Capacity), int64(p.LowStockLimit)
				_, err := r.c.AddProduct(ctx, ms.id, edgeapi.NewProduct{
					ProductID:     p.ID,
					Name:          p.Name,
					Price:         &price,
					Quantity:      &qty,
					ExpiryDate:    today.Add(p.ShelfLife).Format(time.DateOnly),
					LowStockLimit: &low,
				})
				if err := r.created(ctx, err, "PRODUCT_EXISTS"); err != nil {
					return fmt.Errorf("add product %s to %s: %w", p.ID, ms.id, err)
				}
			}
			items, err := r.c.Inventory(ctx, ms.id)
			if err != nil {
				return fmt.Errorf("read inventory of %s: %w", ms.id, err)
			}
			inv[m] = map[string]found{}
			for _, x := range items {
				inv[m][x.ProductID] = found{price: Money(x.Price), qty: int(x.Quantity), low: int(x.LowStockLimit)}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	// Adopt what the edge has: on a re-run, or after central changed a
	// price, amounts must still be price × quantity.
	for m, ms := range g.machines {
		for _, it := range ms.items {
			f, ok := inv[m][it.product.ID]
			if !ok {
				continue
			}
			it.price, it.qty = f.price, max(f.qty, 0)
			if f.low >= 0 {
				it.low = f.low
			}
			it.full = max(it.full, it.low+1)
		}
	}
	return nil
}

// edgeTimezone asks the edge for its site's timezone, which its aggregation
// answers carry; time.Local if it cannot tell.
func (r *runner) edgeTimezone(ctx context.Context) *time.Location {
	ans, err := r.c.Sales(ctx, edgeapi.SalesQuery{Window: "hour", From: "2000-01-01T00:00", To: "2000-01-01T01:00"})
	if err == nil && ans.Timezone != "" {
		if loc, err := time.LoadLocation(ans.Timezone); err == nil {
			return loc
		}
	}
	r.log.Warn().Err(err).Str("timezone", time.Local.String()).Msg("edge did not tell its timezone; using the local one")
	return time.Local
}

// created is the error of a create: a 409 carrying existsCode is success.
func (r *runner) created(ctx context.Context, err error, existsCode string) error {
	var ae *client.Error
	if errors.As(err, &ae) && ae.Status == http.StatusConflict && ae.Code == existsCode {
		return nil
	}
	if err != nil && ctx.Err() == nil {
		r.countError("", err)
	}
	return err
}

// live fires the generator's timers on the wall clock until end (zero: no
// end) or ctx is done. Each machine's actions go to one worker, in order, so
// the edge sees a machine's sales and restocks in the order they happened;
// Concurrency workers bound the requests in flight.
func (r *runner) live(parent context.Context, g *generator, end time.Time) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	shards := make([]chan action, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range shards {
		shards[i] = make(chan action, 64)
		wg.Go(func() {
			for a := range shards[i] {
				if err := r.exec(ctx, a); err != nil {
					cancel(err)
				}
			}
		})
	}
	dispatch := func(a action) bool {
		if a.kind == actReplay {
			var ok bool
			if a, ok = r.pickReplay(a); !ok {
				return true
			}
		}
		select {
		case shards[a.m%len(shards)] <- a:
			return true
		case <-ctx.Done():
			return false
		}
	}
loop:
	for {
		at, ok := g.peek()
		if !end.IsZero() && (!ok || !at.Before(end)) {
			_ = sleep(ctx, time.Until(end))
			break
		}
		if !ok {
			<-ctx.Done()
			break
		}
		if err := sleep(ctx, time.Until(at)); err != nil {
			break
		}
		for _, a := range g.fire() {
			if !dispatch(a) {
				break loop
			}
		}
	}
	for _, ch := range shards {
		close(ch)
	}
	wg.Wait()
	return fatal(parent, ctx)
}

// fatal returns why ctx, derived from parent with WithCancelCause, was
// cancelled by the run itself; nil when the parent ended it (a normal stop).
func fatal(parent, ctx context.Context) error {
	if parent.Err() != nil {
		return nil
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// exec performs one action. It returns an error only when the run must stop
// (the credentials were refused); other failures are counted.
func (r *runner) exec(ctx context.Context, a action) error {
	var err error
	switch a.kind {
	case actSale:
		s := a.sale.wire()
		if r.dex != nil && r.dex.drop(r.cfg.DropProbability, a.m, s) {
			return nil
		}
		r.st.salesSent.Add(1)
		_, err = r.c.Sale(ctx, s)
		switch {
		case err == nil:
			if r.dex != nil {
				r.dex.sold(a.m, s)
			}
			// Even if answered as a replay: then a retry of ours found the
			// first try recorded.
			r.accepted(a.sale.Amount)
			r.remember(a.m, s)
		case ctx.Err() == nil:
			r.st.salesFailed.Add(1)
		}
	case actReplay:
		var res edgeapi.SaleResult
		res, err = r.c.Sale(ctx, a.replay.sale)
		if err == nil {
			if res.Replayed {
				r.st.salesReplayed.Add(1)
			} else {
				r.countError("REPLAY_ACCEPTED_AS_NEW", nil)
			}
		}
	case actTelemetry:
		if err = r.c.Telemetry(ctx, a.tel.wire()); err == nil {
			r.st.telemetry.Add(1)
		}
	case actFault:
		if _, err = r.c.ReportFault(ctx, a.fault.wire(), a.key); err == nil {
			r.st.faults.Add(1)
		}
	case actRestock:
		if r.dex != nil { // the driver reads the machine's meters on arrival
			err = r.readDEX(ctx, a.m)
		}
		for _, it := range a.restock {
			if err != nil {
				break
			}
			if err = r.patchStock(ctx, a.m, it); err != nil {
				break
			}
		}
	}
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, ErrAuth) {
		return err
	}
	r.countError("", err)
	return nil
}

func (r *runner) patchStock(ctx context.Context, m int, it restockItem) error {
	qty := int64(it.qty)
	if _, err := r.c.PatchProduct(ctx, r.cfg.machineID(m), it.productID, edgeapi.ProductPatch{Quantity: &qty}); err != nil {
		return err
	}
	r.st.restocks.Add(1)
	return nil
}

func (r *runner) accepted(amount Money) {
	r.st.salesAccepted.Add(1)
	r.st.revenue.Add(int64(amount))
}

func (r *runner) remember(m int, s edgeapi.Sale) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recent) < recentSize {
		r.recent = append(r.recent, recentSale{m, s})
		return
	}
	r.recent[r.next] = recentSale{m, s}
	r.next = (r.next + 1) % recentSize
}

// pickReplay fills a with a recently accepted sale, routed to that sale's
// machine; false if none was accepted yet.
func (r *runner) pickReplay(a action) (action, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recent) == 0 {
		return a, false
	}
	s := r.recent[a.pick%uint64(len(r.recent))]
	a.m = s.m
	a.replay = s
	return a, true
}

// countError counts code, or err's code when code is empty, and logs the
// first occurrence of each code. Cancellation is not an error.
func (r *runner) countError(code string, err error) {
	if code == "" && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return
	}
	if code == "" {
		var ae *client.Error
		switch {
		case errors.As(err, &ae):
			code = ae.Code
		case errors.Is(err, ErrAuth):
			code = "AUTH"
		default:
			code = "NETWORK"
		}
	}
	r.st.mu.Lock()
	r.st.errors[code]++
	first := r.st.errors[code] == 1
	r.st.mu.Unlock()
	if first {
		ev := r.log.Warn().Str("code", code)
		if err != nil {
			ev = ev.Err(err)
		}
		ev.Msg("first error with this code")
	}
}

func (r *runner) stats() Stats {
	tz := ""
	if r.cfg.Timezone != nil {
		tz = r.cfg.Timezone.String()
	}
	r.st.mu.Lock()
	errs := maps.Clone(r.st.errors)
	r.st.mu.Unlock()
	st := Stats{
		SalesSent:     r.st.salesSent.Load(),
		SalesAccepted: r.st.salesAccepted.Load(),
		SalesReplayed: r.st.salesReplayed.Load(),
		SalesFailed:   r.st.salesFailed.Load(),
		Backfilled:    r.st.backfilled.Load(),
		Telemetry:     r.st.telemetry.Load(),
		Faults:        r.st.faults.Load(),
		Restocks:      r.st.restocks.Load(),
		Revenue:       Money(r.st.revenue.Load()),
		Retries:       r.st.retries.Load(),
		Tokens:        r.c.Tokens(),
		Errors:        errs,
		Timezone:      tz,
	}
	if r.dex != nil {
		st.DEXReads, st.Dropped, st.Unreported = r.dex.reads.Load(), r.dex.dropped.Load(), r.dex.unreported.Load()
	}
	return st
}

// sleep waits d or until ctx is done, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
