// Package promotion is central's authoring of promotions and its leasing of
// quota-limited promotions to the sites.
//
// Promotions live in one replicated JetStream KV bucket (Bucket) shared by
// every central node, like the site registry: whichever node an HQ client
// reaches, it reads and writes the same promotions. A Distributor publishes
// each promotion to the CONFIG bucket (sync/downlink) of every site its
// scope covers (fleet, the site's city, or the site), and keeps doing so for
// sites that appear later.
//
// # Quotas held while sites are offline
//
// A promotion with a quota of N redemptions fleet-wide is never redeemed at
// a site without a lease: a share of N that central granted to that site
// (envelope.Lease, on the downlink). The site redeems within its lease with
// no link at all, inside the sale's transaction, and reports its cumulative
// use (envelope.LeaseUsage, on the uplink). Central's ledger (Ledger, in the
// bucket, changed only by revision-checked writes, so two nodes never both
// grant the same units) holds, per site, what it granted and what the site
// last reported used and returned. The invariant, checked on every change:
//
//	unleased = N − Σ granted + Σ returned ≥ 0
//	Σ (granted − used − returned) + unleased = N − Σ used
//
// so every unit is either unleased at central, held by exactly one site, or
// redeemed; nothing is granted twice. A site that runs out is granted more
// from the unleased remainder; when none remains, central recalls: sites
// holding unused units give half of them back (their next report says so),
// and the returns are granted to the sites that ran out. A site offline holds
// its lease and keeps selling within it; what it cannot hear it cannot be
// asked to return, so the worst case is units idle at an offline site, never
// units redeemed twice.
package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Bucket holds central's promotions (key p.<id>) and quota ledgers (key
// q.<id>). Sites cannot read it.
const Bucket = "PROMOTIONS"

// Errors returned by the store.
var (
	ErrNotFound = errors.New("promotion not found")
	ErrConflict = errors.New("promotion changed concurrently")
)

// Record is a promotion as central keeps it.
type Record struct {
	promo.Promotion
	CreatedBy string    `json:"createdBy"`
	UpdatedBy string    `json:"updatedBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// Ledger is where a quota's units are. Per-site maps are keyed by site id.
type Ledger struct {
	Total int64 `json:"total"`
	// Granted is what central granted each site, cumulative.
	Granted map[string]int64 `json:"granted"`
	// Used and Returned are what each site last reported (cumulative).
	Used     map[string]int64 `json:"used"`
	Returned map[string]int64 `json:"returned"`
	// Epoch counts each site's grants; Recall its recalls and RecallSeen
	// the last recall the site answered.
	Epoch      map[string]int64 `json:"epoch"`
	Recall     map[string]int64 `json:"recall"`
	RecallSeen map[string]int64 `json:"recallSeen"`
}

func (l *Ledger) init() {
	for _, m := range []*map[string]int64{&l.Granted, &l.Used, &l.Returned, &l.Epoch, &l.Recall, &l.RecallSeen} {
		if *m == nil {
			*m = map[string]int64{}
		}
	}
}

// Unleased is the units central holds: Total − Σ granted + Σ returned.
func (l Ledger) Unleased() int64 {
	n := l.Total
	for _, g := range l.Granted {
		n -= g
	}
	for _, r := range l.Returned {
		n += r
	}
	return n
}

// Redeemed is Σ used.
func (l Ledger) Redeemed() int64 {
	var n int64
	for _, u := range l.Used {
		n += u
	}
	return n
}

// Outstanding is what site holds unused as central last heard.
func (l Ledger) Outstanding(site string) int64 {
	return l.Granted[site] - l.Used[site] - l.Returned[site]
}

// Check verifies the ledger's invariant: nothing granted beyond the total,
// no site using or returning more than it was granted.
func (l Ledger) Check() error {
	if u := l.Unleased(); u < 0 {
		return fmt.Errorf("quota over-granted: unleased %d", u)
	}
	for s, g := range l.Granted {
		if l.Used[s]+l.Returned[s] > g {
			return fmt.Errorf("site %s used %d and returned %d of %d granted", s, l.Used[s], l.Returned[s], g)
		}
	}
	return nil
}

// Sites lists the sites in the ledger, sorted.
func (l Ledger) Sites() []string {
	out := make([]string, 0, len(l.Granted))
	for s := range l.Granted {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Store is the promotions bucket.
type Store struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// Open creates or binds the bucket with the given replicas.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "vendsync promotions and quota ledgers", History: 5,
		Replicas: max(1, replicas), Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("open promotions: %w", err)
	}
	return &Store{kv: kv, now: time.Now}, nil
}

func recordKey(id string) string { return "p." + envelope.PromotionKeyID(id) }
func ledgerKey(id string) string { return "q." + envelope.PromotionKeyID(id) }

// Put creates or replaces a promotion as authored by by: its version is
// one above the stored one, its creation kept. A promotion's quota cannot
// change once set (its ledger is running). It returns p's validation error
// (an *errs.Error) or ErrConflict after repeated concurrent writes.
func (s *Store) Put(ctx context.Context, p promo.Promotion, by string) (Record, error) {
	if err := p.Validate(); err != nil {
		return Record{}, err
	}
	for range 16 {
		cur, rev, err := s.get(ctx, p.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Record{}, err
		}
		now := s.now().UTC()
		r := Record{Promotion: p, CreatedBy: by, UpdatedBy: by, CreatedAt: now}
		if rev > 0 {
			if cur.Quota != p.Quota {
				return Record{}, ErrQuotaFixed
			}
			r.CreatedBy, r.CreatedAt = cur.CreatedBy, cur.CreatedAt
		}
		r.Version = cur.Version + 1
		r.UpdatedAt = now
		b, err := json.Marshal(r)
		if err != nil {
			return Record{}, err
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, recordKey(p.ID), b)
		} else {
			_, err = s.kv.Update(ctx, recordKey(p.ID), b, rev)
		}
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return Record{}, fmt.Errorf("put promotion %s: %w", p.ID, err)
		}
	}
	return Record{}, fmt.Errorf("put promotion %s: %w", p.ID, ErrConflict)
}

// ErrQuotaFixed refuses changing a promotion's quota once set.
var ErrQuotaFixed = errors.New("a promotion's quota cannot change once set; create a new promotion")

// Deactivate sets a promotion inactive (it stays listed, and the sites
// receive it inactive). It returns ErrNotFound for an unknown id.
func (s *Store) Deactivate(ctx context.Context, id, by string) (Record, error) {
	cur, _, err := s.get(ctx, id)
	if err != nil {
		return Record{}, err
	}
	p := cur.Promotion
	p.Active = false
	return s.Put(ctx, p, by)
}

// Get returns a promotion, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	r, _, err := s.get(ctx, id)
	return r, err
}

func (s *Store) get(ctx context.Context, id string) (Record, uint64, error) {
	e, err := s.kv.Get(ctx, recordKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Record{}, 0, fmt.Errorf("promotion %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Record{}, 0, fmt.Errorf("get promotion %s: %w", id, err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Record{}, 0, fmt.Errorf("decode promotion %s: %w", id, err)
	}
	return r, e.Revision(), nil
}

// List returns every promotion, ordered by id.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, "p.>")
	if err != nil {
		return nil, fmt.Errorf("list promotions: %w", err)
	}
	var out []Record
	for k := range lister.Keys() {
		r, _, err := s.get(ctx, envelope.PromotionIDFromKey(strings.TrimPrefix(k, "p.")))
		if errors.Is(err, ErrNotFound) {
			continue // deleted between listing and reading
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Ledger returns a quota's ledger (an empty one, Total 0, if none yet).
func (s *Store) Ledger(ctx context.Context, id string) (Ledger, error) {
	l, _, err := s.ledger(ctx, id)
	return l, err
}

func (s *Store) ledger(ctx context.Context, id string) (Ledger, uint64, error) {
	var l Ledger
	e, err := s.kv.Get(ctx, ledgerKey(id))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		l.init()
		return l, 0, nil
	case err != nil:
		return l, 0, fmt.Errorf("get ledger %s: %w", id, err)
	}
	if err := json.Unmarshal(e.Value(), &l); err != nil {
		return l, 0, fmt.Errorf("decode ledger %s: %w", id, err)
	}
	l.init()
	return l, e.Revision(), nil
}

// UpdateLedger changes a quota's ledger with fn, revision-checked: on a
// concurrent change fn runs again on the newer ledger. A change that breaks
// the invariant (Ledger.Check) is refused and nothing is written. fn
// returning false writes nothing.
func (s *Store) UpdateLedger(ctx context.Context, id string, fn func(*Ledger) bool) (Ledger, error) {
	for range 32 {
		l, rev, err := s.ledger(ctx, id)
		if err != nil {
			return l, err
		}
		if !fn(&l) {
			return l, nil
		}
		if err := l.Check(); err != nil {
			return l, fmt.Errorf("ledger %s: %w", id, err)
		}
		b, err := json.Marshal(l)
		if err != nil {
			return l, err
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, ledgerKey(id), b)
		} else {
			_, err = s.kv.Update(ctx, ledgerKey(id), b, rev)
		}
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return l, fmt.Errorf("write ledger %s: %w", id, err)
		}
	}
	return Ledger{}, fmt.Errorf("write ledger %s: %w", id, ErrConflict)
}
