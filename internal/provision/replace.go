package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/restore"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// DefaultSettle is how long RestoreFromCentral waits between two reads of
// central's snapshot that must agree: batches the old box sent just before
// its key was revoked may still be on their way into central's read model.
const DefaultSettle = 2 * time.Second

// settleTries bounds how often RestoreFromCentral rereads a snapshot that
// keeps changing.
const settleTries = 15

// Restore is what RestoreFromCentral is asked to rebuild.
type Restore struct {
	// Central is central's HQ API and Credentials an HQ ADMIN credentials
	// file; CA pins central's certificate (empty: the system's roots).
	Central, Credentials, CA string
	// Dir is the new box's data directory (must hold no site).
	Dir string
	// ID is the site to rebuild.
	ID string
	// Settle is the wait between two snapshot reads that must agree
	// (0: DefaultSettle).
	Settle time.Duration
}

// Loss is what central can tell about the facts a dead box never synced.
// Central cannot count facts it never heard of: it knows the last sequence
// it received and when, and when the box was last heard from (its last
// heartbeat); sales made after that are lost.
type Loss struct {
	Site string
	// LastSeq is the highest sequence central received, Watermark the
	// highest with no gap below it.
	LastSeq, Watermark uint64
	// LastContact is when central last received a batch from the box (zero:
	// never).
	LastContact time.Time
	// LastHeard is the box's last heartbeat (zero: none recorded), and
	// Connected whether its heartbeats were still arriving when the
	// snapshot was read.
	LastHeard time.Time
	Connected bool
}

// String tells the operator, in one paragraph, what is known and what is
// lost.
func (l Loss) String() string {
	var b strings.Builder
	switch {
	case l.LastSeq == 0:
		fmt.Fprintf(&b, "central never received a fact from site %s", l.Site)
	case l.LastContact.IsZero():
		fmt.Fprintf(&b, "central last saw seq %d of site %s", l.LastSeq, l.Site)
	default:
		fmt.Fprintf(&b, "central last saw seq %d at %s", l.LastSeq, l.LastContact.UTC().Format(time.RFC3339))
	}
	switch {
	case l.Connected:
		b.WriteString("; central still counted the box as connected (its heartbeats had not yet timed out), so it was heard from moments ago")
	case !l.LastHeard.IsZero():
		fmt.Fprintf(&b, "; the box was last heard from at %s", l.LastHeard.UTC().Format(time.RFC3339))
	default:
		b.WriteString("; central has no heartbeat from the box on record")
	}
	b.WriteString("; any sales after that are lost (central cannot count facts it never received)")
	if l.LastSeq > l.Watermark {
		fmt.Fprintf(&b, "; central was also missing some of seqs %d..%d (they arrived out of order and were never resent): those are lost too", l.Watermark+1, l.LastSeq)
	}
	return b.String()
}

// RestoreResult is what RestoreFromCentral did.
type RestoreResult struct {
	restore.Result
	Loss Loss
}

// RestoreFromCentral rebuilds site r.ID in r.Dir from central's snapshot of
// it (see package edge/restore): the snapshot is read until two reads
// r.Settle apart agree, so nothing the old box sent is still on its way. It
// returns an error wrapping the API's *client.Error when central refuses
// (404: the site is unknown), and restore.ErrExists when r.Dir holds a
// site. step, if set, is told each step.
func RestoreFromCentral(ctx context.Context, r Restore, step func(string)) (RestoreResult, error) {
	if step == nil {
		step = func(string) {}
	}
	if r.Dir == "" {
		return RestoreResult{}, bad("dir", "required: the new box's data directory")
	}
	hq, err := Site{Central: r.Central, Credentials: r.Credentials, CA: r.CA}.hqClient()
	if err != nil {
		return RestoreResult{}, err
	}
	return restoreFrom(ctx, hq, r, step)
}

func restoreFrom(ctx context.Context, hq *client.HQ, r Restore, step func(string)) (RestoreResult, error) {
	settle := r.Settle
	if settle <= 0 {
		settle = DefaultSettle
	}
	step("reading what central holds of site " + r.ID)
	snap, err := settledSnapshot(ctx, hq, r.ID, settle)
	if err != nil {
		return RestoreResult{}, err
	}
	step(fmt.Sprintf("rebuilding site %s in %s (%d machines)", r.ID, r.Dir, len(snap.Machines)))
	res, err := restore.FromSnapshot(ctx, r.Dir, snap)
	if err != nil {
		return RestoreResult{}, err
	}
	f := snap.Freshness
	loss := Loss{Site: r.ID, LastSeq: max(f.LastSeq, f.Watermark), Watermark: f.Watermark, Connected: f.Connected}
	if f.LastContact != nil {
		loss.LastContact = *f.LastContact
	}
	if f.Since != nil && !f.Connected {
		loss.LastHeard = *f.Since
	}
	return RestoreResult{Result: res, Loss: loss}, nil
}

// settledSnapshot reads site's snapshot until two reads settle apart agree
// on its sequences.
func settledSnapshot(ctx context.Context, hq *client.HQ, site string, settle time.Duration) (hqapi.SiteSnapshot, error) {
	prev, err := hq.SiteSnapshot(ctx, site)
	if err != nil {
		return hqapi.SiteSnapshot{}, fmt.Errorf("snapshot of site %s: %w", site, err)
	}
	for range settleTries {
		select {
		case <-ctx.Done():
			return hqapi.SiteSnapshot{}, ctx.Err()
		case <-time.After(settle):
		}
		next, err := hq.SiteSnapshot(ctx, site)
		if err != nil {
			return hqapi.SiteSnapshot{}, fmt.Errorf("snapshot of site %s: %w", site, err)
		}
		if next.Freshness.LastSeq == prev.Freshness.LastSeq && next.Freshness.Watermark == prev.Freshness.Watermark {
			return next, nil
		}
		prev = next
	}
	return hqapi.SiteSnapshot{}, errors.New("site " + site + ": central kept receiving its facts; is the old box still connected with a valid key?")
}
