package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

// SiteInfo is a site a promotion's scope may cover.
type SiteInfo struct {
	ID   string
	City string
}

// DistributorConfig wires a Distributor.
type DistributorConfig struct {
	Store     *Store
	Publisher *downlink.Publisher
	// Sites lists the fleet's sites and their cities.
	Sites func(ctx context.Context) ([]SiteInfo, error)
	// Usage returns what each site last reported of its lease of a
	// promotion (this node's read model), by site.
	Usage func(ctx context.Context, promotionID string) (map[string]envelope.LeaseUsage, error)
	// Every is the pause between passes; default DefaultEvery.
	Every  time.Duration
	Logger zerolog.Logger
}

// DefaultEvery is how often a Distributor reconciles unless told otherwise.
const DefaultEvery = 2 * time.Second

// Distributor publishes promotions to the sites their scopes cover and
// runs the quota leases (see the package doc). Every central node may run
// one: publishing is idempotent and the ledger is revision-checked.
type Distributor struct {
	cfg DistributorConfig
	log zerolog.Logger

	mu        sync.Mutex
	published map[string]string // site|key → the value last published
	poke      chan struct{}
	cancel    context.CancelFunc
	g         *errgroup.Group
}

// NewDistributor checks cfg; it starts nothing.
func NewDistributor(cfg DistributorConfig) (*Distributor, error) {
	if cfg.Store == nil || cfg.Publisher == nil || cfg.Sites == nil || cfg.Usage == nil {
		return nil, errors.New("promotion distributor: Store, Publisher, Sites and Usage are required")
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	return &Distributor{cfg: cfg, log: cfg.Logger.With().Str("component", "promotions").Logger(),
		published: map[string]string{}, poke: make(chan struct{}, 1)}, nil
}

// Open starts the reconcile loop.
func (d *Distributor) Open(ctx context.Context) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, ctx := errgroup.WithContext(ctx)
	d.cancel, d.g = cancel, g
	g.Go(func() error {
		t := time.NewTicker(d.cfg.Every)
		defer t.Stop()
		for {
			if err := d.Pass(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn().Err(err).Msg("promotion pass failed; retrying")
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			case <-d.poke:
			}
		}
	})
	return nil
}

// Poke asks for a pass now (after an authoring change).
func (d *Distributor) Poke() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// Close stops the loop and waits for it.
func (d *Distributor) Close() error {
	if d.cancel == nil {
		return nil
	}
	d.cancel()
	return d.g.Wait()
}

// Pass publishes every promotion to the sites it covers, and for each
// active quota-limited one updates its ledger from the sites' reports,
// grants and recalls, and publishes the leases that changed.
func (d *Distributor) Pass(ctx context.Context) error {
	recs, err := d.cfg.Store.List(ctx)
	if err != nil {
		return err
	}
	sites, err := d.cfg.Sites(ctx)
	if err != nil {
		return fmt.Errorf("list sites: %w", err)
	}
	var errs []error
	for _, r := range recs {
		covered := Covered(r, sites)
		value, err := json.Marshal(r.Promotion)
		if err != nil {
			return err
		}
		for _, s := range covered {
			if err := d.publishOnce(ctx, s, envelope.PromotionKey(r.ID), value); err != nil {
				errs = append(errs, err)
			}
		}
		if r.Quota > 0 {
			if err := d.lease(ctx, r, covered); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Covered lists the ids of the sites r's scope covers, sorted. A
// site-scoped promotion covers its site even before central has heard of
// it.
func Covered(r Record, sites []SiteInfo) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range sites {
		if !seen[s.ID] && r.Concerns(s.ID, s.City) {
			out = append(out, s.ID)
			seen[s.ID] = true
		}
	}
	if r.Scope == "SITE" && !seen[r.SiteID] {
		out = append(out, r.SiteID)
	}
	sort.Strings(out)
	return out
}

func (d *Distributor) publishOnce(ctx context.Context, site, key string, value []byte) error {
	k := site + "|" + key
	d.mu.Lock()
	same := d.published[k] == string(value)
	d.mu.Unlock()
	if same {
		return nil
	}
	if _, err := d.cfg.Publisher.Put(ctx, site, key, value); err != nil {
		return err
	}
	d.mu.Lock()
	d.published[k] = string(value)
	d.mu.Unlock()
	return nil
}

// lease runs one quota's ledger: see the package doc.
func (d *Distributor) lease(ctx context.Context, r Record, covered []string) error {
	usage, err := d.cfg.Usage(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("lease usage %s: %w", r.ID, err)
	}
	l, err := d.cfg.Store.UpdateLedger(ctx, r.ID, func(l *Ledger) bool {
		return Plan(l, int64(r.Quota), r.Active, covered, usage)
	})
	if err != nil {
		return err
	}
	for _, s := range l.Sites() {
		v := envelope.Lease{PromotionID: r.ID, SiteID: s, LeaseID: fmt.Sprintf("%s/%s/%d", r.ID, s, l.Epoch[s]),
			Granted: l.Granted[s], Epoch: l.Epoch[s], Recall: l.Recall[s], Count: l.lastCount(s)}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := d.publishOnce(ctx, s, envelope.LeaseKey(r.ID), b); err != nil {
			return err
		}
	}
	return nil
}

// lastCount is not kept per grant; a lease's Count is what the site holds
// granted beyond what it used and returned, as central knows it.
func (l Ledger) lastCount(site string) int64 { return max(l.Outstanding(site), 0) }

// Plan changes a quota's ledger for one pass and reports whether it
// changed: it takes in the sites' reports (the larger cumulative figure
// wins), makes the first grant (equal shares over the covered sites), grants
// the unleased remainder to sites that ran out, and, when none remains,
// recalls from sites holding unused units. An inactive promotion is
// recalled everywhere and granted nowhere. It never grants more than is
// unleased.
func Plan(l *Ledger, total int64, active bool, covered []string, usage map[string]envelope.LeaseUsage) bool {
	l.init()
	changed := false
	if l.Total == 0 {
		l.Total, changed = total, true
	}
	for s, u := range usage {
		if _, ok := l.Granted[s]; !ok {
			continue // not a site central granted to: ignore
		}
		for _, f := range []struct {
			m map[string]int64
			v int64
		}{{l.Used, u.Used}, {l.Returned, u.Returned}, {l.RecallSeen, u.RecallSeen}} {
			if f.v > f.m[s] {
				f.m[s], changed = f.v, true
			}
		}
	}
	if !active {
		for _, s := range l.Sites() {
			if l.Outstanding(s) > 0 && l.RecallSeen[s] >= l.Recall[s] {
				l.Recall[s]++
				changed = true
			}
		}
		return changed
	}
	if len(covered) == 0 {
		return changed
	}
	grant := func(s string, n int64) {
		l.Granted[s] += n
		l.Epoch[s]++
		changed = true
	}
	if len(l.Granted) == 0 {
		share, rest := l.Total/int64(len(covered)), l.Total%int64(len(covered))
		for i, s := range covered {
			n := share
			if int64(i) < rest {
				n++
			}
			if n > 0 {
				grant(s, n)
			}
		}
		return true
	}
	var out []string
	for _, s := range covered {
		if l.Outstanding(s) <= 0 {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return changed
	}
	if un := l.Unleased(); un > 0 {
		per := (un + int64(len(out)) - 1) / int64(len(out))
		for _, s := range out {
			n := min(per, un)
			if n <= 0 {
				break
			}
			grant(s, n)
			un -= n
		}
		return changed
	}
	for _, s := range covered {
		if l.Outstanding(s) >= 2 && l.RecallSeen[s] >= l.Recall[s] {
			l.Recall[s]++
			changed = true
		}
	}
	return changed
}
