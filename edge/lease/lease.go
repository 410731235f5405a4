// Package lease holds the site's leases of quota-limited promotions: the
// share of a fleet-wide quota central granted this site (envelope.Lease,
// through the downlink). A sale that applies such a promotion redeems one
// unit of the lease inside its own transaction (Redeem), so the site never
// redeems more than it holds, online or not. Every change of a lease is
// reported up as a cumulative envelope.LeaseUsage, from which central
// learns what was used and what was given back.
//
// When central recalls (Lease.Recall above the last recall answered), the
// site gives back half of what it has not used: it keeps enough to go on
// selling if the link drops right after, and central re-leases the rest to
// sites that ran out.
package lease

import (
	"context"
	"fmt"
	"sync"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// CodeExhausted is the error code of a redemption the site's lease cannot
// cover.
const CodeExhausted = "QUOTA_EXHAUSTED"

const (
	selectLeases = `SELECT promo_id, lease_id, granted, used, returned, epoch, recall_seen FROM promo_leases`
	upsertLease  = `INSERT INTO promo_leases (promo_id, lease_id, granted, used, returned, epoch, recall_seen, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (promo_id) DO UPDATE SET lease_id = excluded.lease_id, granted = excluded.granted,
		  used = excluded.used, returned = excluded.returned, epoch = excluded.epoch,
		  recall_seen = excluded.recall_seen, updated_at = excluded.updated_at`
)

// State is one lease at the site.
type State struct {
	PromotionID string `json:"promotionId"`
	LeaseID     string `json:"leaseId"`
	Granted     int64  `json:"granted"`
	Used        int64  `json:"used"`
	Returned    int64  `json:"returned"`
	Epoch       int64  `json:"epoch"`
	RecallSeen  int64  `json:"recallSeen"`
}

// Available is what the site may still redeem.
func (s State) Available() int64 { return s.Granted - s.Used - s.Returned }

// Rules are the site's leases, run by the writer.
type Rules struct {
	w      *ingest.Writer
	upsert *ingest.Stmt

	mu   sync.RWMutex
	view map[string]State
}

// New builds the leases on w; call before w.Open.
func New(w *ingest.Writer) *Rules {
	r := &Rules{w: w, upsert: w.Prepare(upsertLease), view: map[string]State{}}
	w.Register(r)
	return r
}

// Load (re)reads the leases (ingest.View).
func (r *Rules) Load(ctx context.Context, db ingest.Querier) error {
	rows, err := db.QueryContext(ctx, selectLeases)
	if err != nil {
		return fmt.Errorf("load leases: %w", err)
	}
	defer rows.Close()
	view := map[string]State{}
	for rows.Next() {
		var s State
		if err := rows.Scan(&s.PromotionID, &s.LeaseID, &s.Granted, &s.Used, &s.Returned, &s.Epoch, &s.RecallSeen); err != nil {
			return fmt.Errorf("load leases: %w", err)
		}
		view[s.PromotionID] = s
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load leases: %w", err)
	}
	r.mu.Lock()
	r.view = view
	r.mu.Unlock()
	return nil
}

// Available returns how many redemptions of promotionID the site's lease
// still covers (0 without a lease). It implements promo.QuotaCheck.
func (r *Rules) Available(promotionID string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return int(max(r.view[promotionID].Available(), 0))
}

// Get returns the site's lease of promotionID (ok false if none).
func (r *Rules) Get(promotionID string) (State, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.view[promotionID]
	return s, ok
}

// List returns every lease.
func (r *Rules) List() []State {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]State, 0, len(r.view))
	for _, s := range r.view {
		out = append(out, s)
	}
	return out
}

// write stores s in t's transaction, updates the view and reports s up.
func (r *Rules) write(t *ingest.Tx, s State) error {
	if _, err := t.Exec(r.upsert, s.PromotionID, s.LeaseID, s.Granted, s.Used, s.Returned, s.Epoch, s.RecallSeen, t.Now().UnixMilli()); err != nil {
		return fmt.Errorf("write lease %s: %w", s.PromotionID, err)
	}
	if _, err := t.Emit(envelope.KindLeaseUsage, t.Now(), envelope.LeaseUsage{PromotionID: s.PromotionID, Granted: s.Granted,
		Used: s.Used, Returned: s.Returned, Epoch: s.Epoch, RecallSeen: s.RecallSeen}); err != nil {
		return err
	}
	r.mu.Lock()
	r.view[s.PromotionID] = s
	r.mu.Unlock()
	return nil
}

// Redeem takes one unit of promotionID's lease inside t, the caller's
// transaction (a sale's); see RedeemN.
func (r *Rules) Redeem(t *ingest.Tx, promotionID string) error { return r.RedeemN(t, promotionID, 1) }

// RedeemN takes n units of promotionID's lease inside t, the caller's
// transaction (a sale's): it refuses with CodeExhausted (Unprocessable)
// when the lease does not cover n, having written nothing.
func (r *Rules) RedeemN(t *ingest.Tx, promotionID string, n int64) error {
	if n <= 0 {
		return errs.Invalidf("quantity", "redemptions must be positive, not %d", n)
	}
	s, _ := r.Get(promotionID)
	if s.Available() < n {
		return errs.Errorf(errs.Unprocessable, CodeExhausted, "promotionId",
			"promotion %s: this site's share of its quota has %d redemptions left, not %d", promotionID, max(s.Available(), 0), n)
	}
	s.PromotionID = promotionID
	s.Used += n
	return r.write(t, s)
}

// RedeemOne redeems one unit of promotionID's lease in a transaction of its
// own, for a caller outside a sale (tests, tools).
func (r *Rules) RedeemOne(ctx context.Context, promotionID string) error {
	return r.w.Do(ctx, func(t *ingest.Tx) error { return r.Redeem(t, promotionID) })
}

// Apply takes central's lease of a promotion: the grant can only grow,
// and a new recall gives back half of what is unused. A lease from another
// site is refused (Invalid). by is who, for the audit log.
func (r *Rules) Apply(ctx context.Context, l envelope.Lease, by string) (State, error) {
	if l.PromotionID == "" || l.Granted < 0 {
		return State{}, errs.Invalidf("lease", "lease without a promotion or with a negative grant")
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (State, error) {
		if l.SiteID != "" && l.SiteID != t.Site().ID {
			return State{}, errs.Invalidf("siteId", "lease for site %q applied at site %q", l.SiteID, t.Site().ID)
		}
		cur, _ := r.Get(l.PromotionID)
		s := cur
		s.PromotionID = l.PromotionID
		if l.Granted > s.Granted {
			s.Granted, s.LeaseID = l.Granted, l.LeaseID
		}
		s.Epoch = max(s.Epoch, l.Epoch)
		var back int64
		if l.Recall > s.RecallSeen {
			a := max(s.Available(), 0)
			back = a - a/2
			s.Returned += back
			s.RecallSeen = l.Recall
		}
		if s == cur {
			return s, nil
		}
		if err := r.write(t, s); err != nil {
			return State{}, err
		}
		detail := map[string]any{"leaseId": l.LeaseID, "granted": s.Granted, "returned": back, "available": s.Available()}
		if err := t.Audit("promotion_lease", l.PromotionID, "LEASE_APPLY", by, detail); err != nil {
			return State{}, err
		}
		return s, nil
	})
}
