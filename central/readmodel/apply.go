package readmodel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Watermark is a site's uplink position in the read model: every event with
// Seq <= Contiguous is committed, MaxSeen is the highest Seq received at all.
type Watermark struct {
	Site       string
	Contiguous uint64
	MaxSeen    uint64
}

// Result is what one Apply did.
type Result struct {
	Watermark
	// Applied counts the batch's events that were new to the read model.
	Applied int
	// Duplicates counts the batch's events that were already present.
	Duplicates int
	// Skipped counts new events whose data could not be decoded: they are
	// kept raw and count toward the watermark, but have no effect.
	Skipped int
}

// SiteState is what a read model keeps per site between batches.
type SiteState struct {
	// TZ is the site's IANA timezone ("" for a site never seen).
	TZ string
	// Contiguous and MaxSeen make the site's watermark.
	Contiguous, MaxSeen uint64
	// LastEvent is the newest event time received from the site.
	LastEvent time.Time
}

// Sink is a read model's storage as ApplyBatch drives it: one open
// transaction, which the caller begins before and commits after. The
// SQLite store of this package is one; another database implements these
// methods to apply the same batches under the same rules, exactly once in
// effect as long as its transaction is atomic.
type Sink interface {
	// Site returns the site's state: the zero SiteState for a site never
	// seen.
	Site(ctx context.Context, site string) (SiteState, error)
	// InsertEvents keeps each raw event of b whose (site, seq) is not held
	// yet, noting streamSeq as the stream message that carried it, and
	// reports which were new. Held events are left as they are.
	InsertEvents(ctx context.Context, b *aggregate.Batch, streamSeq uint64) (fresh []bool, err error)
	// Upsert records each fact as its entity's state unless that entity's
	// state comes from a higher sequence.
	Upsert(ctx context.Context, site string, facts []aggregate.Fact) error
	// InsertSales records each sale whose key (site, machine, transaction
	// id) is not held yet and reports which were new; a key repeated in
	// sales is new at most once, the first time.
	InsertSales(ctx context.Context, site string, sales []aggregate.SaleRow) (isNew []bool, err error)
	// AddTotals adds d's totals to the aggregate rows and records its
	// scopes.
	AddTotals(ctx context.Context, d *aggregate.Deltas) error
	// Contiguous returns the highest c >= from such that every sequence in
	// from+1..c of site is held.
	Contiguous(ctx context.Context, site string, from uint64) (uint64, error)
	// SaveSite records the site's state, with now as its last contact and,
	// when streamSeq > 0, streamSeq as the consumed stream position.
	SaveSite(ctx context.Context, site string, st SiteState, streamSeq uint64) error
}

// Prepared is a batch validated, decoded and pre-aggregated outside the
// writer lock, ready for ApplyPrepared. It is not changed by being applied,
// so a failed ApplyPrepared can be retried with it.
type Prepared struct {
	b *aggregate.Batch
}

// Prepare validates f and does the work of applying it that needs no
// database: decoding each event once and bucketing its sales. A caller that
// applies a stream of batches can Prepare the next while the current one
// commits. It returns an error wrapping ErrInvalidBatch when f is malformed.
func (s *Store) Prepare(f *envelope.Frame) (*Prepared, error) {
	b, err := aggregate.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return &Prepared{b: b}, nil
}

// Apply validates b and applies it in one transaction: raw events are
// inserted unless (site, seq) exists, only the new ones take effect (sales
// into aggregates unless their transactionId exists, other kinds into their
// latest-state tables, never going back to an older seq), the site's
// contiguous watermark advances over every event present, and streamSeq is
// recorded as this consumer's stream position (0 records nothing). A batch
// applied twice changes nothing the second time.
//
// It returns an error wrapping ErrInvalidBatch when b is malformed (retrying
// cannot help), or a storage error (retrying may).
func (s *Store) Apply(ctx context.Context, streamSeq uint64, b *envelope.Batch) (Result, error) {
	f, err := b.Frame()
	if err != nil {
		return Result{}, fmt.Errorf("apply: %w: %w", ErrInvalidBatch, err)
	}
	p, err := s.Prepare(f)
	if err != nil {
		return Result{}, err
	}
	return s.ApplyPrepared(ctx, streamSeq, p)
}

// ApplyPrepared is Apply for a batch already through Prepare.
func (s *Store) ApplyPrepared(ctx context.Context, streamSeq uint64, p *Prepared) (Result, error) {
	id := p.msgID()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return Result{}, fmt.Errorf("apply %s: %w", id, err)
	}
	sink := &sqliteSink{s: s, now: now.UnixMilli()}
	res, err := ApplyBatch(ctx, sink, streamSeq, p)
	if err != nil {
		s.rollback()
		return Result{}, fmt.Errorf("apply %s: %w", id, err)
	}
	if err := s.commit(ctx); err != nil {
		return Result{}, fmt.Errorf("apply %s: %w", id, err)
	}
	if sink.saved != nil {
		s.fresh.saved(p.b.Site, *sink.saved, fromMS(sink.now))
	}
	if res.Skipped > 0 {
		s.log.Warn().Str("site", p.b.Site).Str("batch", id).Int("skipped", res.Skipped).
			Msg("events with undecodable data kept raw without effect")
	}
	return res, nil
}

// Events is how many events the prepared batch holds.
func (p *Prepared) Events() int {
	return len(p.b.Events)
}

// GroupItem is one batch of a group: the stream message that carried it and
// the batch through Prepare.
type GroupItem struct {
	StreamSeq uint64
	Prepared  *Prepared
}

// GroupResult is what ApplyGroup did with one item: its Result, or Err
// wrapping ErrInvalidBatch when that item was refused (and changed
// nothing).
type GroupResult struct {
	Result
	Err error
}

// ApplyGroup applies items, in order, in one transaction: what ApplyPrepared
// does for each, with one commit (and one sync to disk) for the whole group,
// which is what makes catching up on many small batches fast. An item that
// is invalid (its GroupResult.Err wraps ErrInvalidBatch) changes nothing
// and the rest still apply. Each item sees the ones before
// it, so items of the same site apply as they would one by one.
//
// It returns an error, and nothing of the group is committed, when the
// transaction fails for a storage reason; a caller may then retry, the
// group or its items one by one. Applying an item twice changes nothing
// the second time, in the same group or not.
func (s *Store) ApplyGroup(ctx context.Context, items []GroupItem) ([]GroupResult, error) {
	if len(items) == 0 {
		return nil, nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("apply group: %w", err)
	}
	out := make([]GroupResult, len(items))
	saved := make([]*SiteState, len(items))
	// The items' aggregate totals, summed and written once before the
	// commit: in the same transaction as the sales they count.
	held := newHeldTotals()
	for i, it := range items {
		res, st, err := s.applyInGroup(ctx, now, it, held)
		if err != nil && !errors.Is(err, ErrInvalidBatch) {
			s.rollback()
			return nil, fmt.Errorf("apply group: %w", err)
		}
		out[i], saved[i] = GroupResult{Result: res, Err: err}, st
	}
	if err := s.writeTotals(ctx, held.d, held.disc); err != nil {
		s.rollback()
		return nil, fmt.Errorf("apply group: upsert aggregates: %w", err)
	}
	// site_top ranks from the totals just written (rankSiteTop waits for
	// them inside a group).
	if err := addTopRollups(ctx, &sqliteSink{s: s, now: now.UnixMilli()}, held.d); err != nil {
		s.rollback()
		return nil, fmt.Errorf("apply group: %w", err)
	}
	if err := s.commit(ctx); err != nil {
		return nil, fmt.Errorf("apply group of %d: %w", len(items), err)
	}
	for i, it := range items {
		if saved[i] != nil {
			s.fresh.saved(it.Prepared.b.Site, *saved[i], fromMS(now.UnixMilli()))
		}
		if r := out[i]; r.Err == nil && r.Skipped > 0 {
			s.log.Warn().Str("site", it.Prepared.b.Site).Str("batch", it.Prepared.msgID()).Int("skipped", r.Skipped).
				Msg("events with undecodable data kept raw without effect")
		}
	}
	return out, nil
}

// applyInGroup applies one item of an open group transaction. Its
// aggregate totals go into held (only when it applied) for the caller to
// write. It returns the site state it saved (nil for none). The caller
// holds s.mu.
//
// An item is refused (ErrInvalidBatch) before it writes anything: the one
// refusal ApplyBatch makes, an unknown stored timezone, comes before its
// first write. So no savepoint is needed per item (one made each item copy
// every page it touched into the statement journal: ~10 % of a catch-up's
// apply). That an invalid item wrote nothing is checked, not assumed: when
// the connection's total_changes() moved, the refusal becomes a storage
// error, which rolls the whole group back (the aggregator then applies its
// items one by one).
func (s *Store) applyInGroup(ctx context.Context, now time.Time, it GroupItem, held *heldTotals) (Result, *SiteState, error) {
	id := it.Prepared.msgID()
	before, err := s.totalChanges(ctx)
	if err != nil {
		return Result{}, nil, fmt.Errorf("apply %s: %w", id, err)
	}
	sink := &sqliteSink{s: s, now: now.UnixMilli(), held: newHeldTotals()}
	res, err := ApplyBatch(ctx, sink, it.StreamSeq, it.Prepared)
	switch {
	case errors.Is(err, ErrInvalidBatch):
		after, cerr := s.totalChanges(ctx)
		if cerr != nil {
			return Result{}, nil, fmt.Errorf("apply %s: %w", id, cerr)
		}
		if after != before {
			// Not refused cleanly: the caller rolls the group back.
			return Result{}, nil, fmt.Errorf("apply %s: refused after writing: %s", id, err.Error())
		}
		return Result{}, nil, fmt.Errorf("apply %s: %w", id, err)
	case err != nil:
		return Result{}, nil, fmt.Errorf("apply %s: %w", id, err) // the caller rolls the group back
	}
	held.add(sink.held.d, sink.held.disc)
	return res, sink.saved, nil
}

// totalChanges is the writer connection's count of rows changed since it
// opened. The caller holds s.mu.
func (s *Store) totalChanges(ctx context.Context) (int64, error) {
	var n int64
	if err := s.queryRow(ctx, `SELECT total_changes()`).Scan(&n); err != nil {
		return 0, fmt.Errorf("total changes: %w", err)
	}
	return n, nil
}

func (p *Prepared) msgID() string {
	return fmt.Sprintf("%s:%d-%d", p.b.Site, p.b.First, p.b.Last)
}

// ApplyBatch applies p to sink, in steps: the site's state, the raw events
// (only new ones take effect), latest states, sales and their totals, the
// watermark. It returns an error wrapping ErrInvalidBatch when the site's
// stored timezone is unknown, or sink's error.
func ApplyBatch(ctx context.Context, sink Sink, streamSeq uint64, p *Prepared) (Result, error) {
	b := p.b
	st, err := sink.Site(ctx, b.Site)
	if err != nil {
		return Result{}, fmt.Errorf("read site: %w", err)
	}
	tz, loc, err := zone(b, st.TZ)
	if err != nil {
		return Result{}, err
	}
	fresh, err := sink.InsertEvents(ctx, b, streamSeq)
	if err != nil {
		return Result{}, fmt.Errorf("insert raw events: %w", err)
	}
	if err := sink.Upsert(ctx, b.Site, aggregate.Facts(b, fresh)); err != nil {
		return Result{}, fmt.Errorf("apply events: %w", err)
	}
	if err := applySales(ctx, sink, b, fresh, loc); err != nil {
		return Result{}, err
	}
	t := aggregate.Count(b, fresh)
	next := SiteState{TZ: tz, Contiguous: st.Contiguous, MaxSeen: max(st.MaxSeen, b.Last), LastEvent: st.LastEvent}
	if t.LastEvent.After(next.LastEvent) {
		next.LastEvent = t.LastEvent
	}
	// Only a batch that holds contiguous+1 can move the watermark, and then
	// over every event already held above it.
	if c := st.Contiguous; b.First <= c+1 && c+1 <= b.Last {
		if next.Contiguous, err = sink.Contiguous(ctx, b.Site, b.Last); err != nil {
			return Result{}, fmt.Errorf("walk watermark: %w", err)
		}
	}
	if err := sink.SaveSite(ctx, b.Site, next, streamSeq); err != nil {
		return Result{}, fmt.Errorf("update site: %w", err)
	}
	return Result{
		Watermark: Watermark{Site: b.Site, Contiguous: next.Contiguous, MaxSeen: next.MaxSeen},
		Applied:   t.Applied, Duplicates: t.Duplicates, Skipped: t.Skipped,
	}, nil
}

// zone returns the timezone b's sales count in: the batch's own, else the
// site's last known one, else UTC.
func zone(b *aggregate.Batch, stored string) (string, *time.Location, error) {
	if b.TZ != "" || stored == "" {
		return cmp.Or(b.TZ, "UTC"), b.Loc, nil
	}
	// An edge that sends no zone keeps the site's last one.
	loc, err := aggregate.Location(stored)
	if err != nil {
		return "", nil, fmt.Errorf("%w: stored timezone %q: %w", ErrInvalidBatch, stored, err)
	}
	return stored, loc, nil
}

// applySales records the new events' sales and adds the ones whose
// transaction was new to the totals.
func applySales(ctx context.Context, sink Sink, b *aggregate.Batch, fresh []bool, loc *time.Location) error {
	sales := aggregate.NewSales(b, fresh)
	if len(sales) == 0 {
		return nil
	}
	counts, err := sink.InsertSales(ctx, b.Site, sales)
	if err != nil {
		return fmt.Errorf("insert sales: %w", err)
	}
	if err := addRollups(ctx, sink, b.Site, sales, counts, loc); err != nil {
		return err
	}
	if ds, ok := sink.(DiscountSink); ok {
		if err := ds.AddDiscounts(ctx, b.Site, sales, counts, loc); err != nil {
			return fmt.Errorf("add discounts: %w", err)
		}
	}
	d := aggregate.Counted(b, fresh, counts, loc)
	if err := sink.AddTotals(ctx, d); err != nil {
		return fmt.Errorf("upsert aggregates: %w", err)
	}
	if err := addTopRollups(ctx, sink, d); err != nil {
		return err
	}
	if ps, ok := sink.(paymentSink); ok {
		return ps.addPaymentSales(ctx, b.Site, sales, counts, loc)
	}
	return nil
}
