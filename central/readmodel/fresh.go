package readmodel

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// freshTable is the per-site freshness every answer carries, kept in memory
// and maintained as batches commit and liveness changes, so a fleet-wide
// query copies a slice instead of reading and scanning a row per site. It
// is loaded from the sites and site_liveness tables at Open; the tables stay
// the record, the freshTable their current copy.
type freshTable struct {
	mu   sync.RWMutex
	rows []Freshness    // every site heard from (batch or heartbeat), ordered by site
	idx  map[string]int // site → position in rows
	// known is known(nil)'s answer since the last update, shared by every
	// answer until then (nil: to be made again). A fleet-wide answer
	// carried a fresh copy of every site's row, ~170 KB at 1,000 sites,
	// most of what a small fleet query allocated.
	knownAll []Freshness
}

const (
	selectFreshSites    = `SELECT ` + selectSiteCols + ` FROM sites`
	selectFreshLiveness = `SELECT site, connected, since FROM site_liveness`
	upsertLiveness      = `INSERT INTO site_liveness (site, connected, since) VALUES (?, ?, ?)
		ON CONFLICT (site) DO UPDATE SET connected = excluded.connected, since = excluded.since`
)

// load fills t from the sites and site_liveness tables.
func (t *freshTable) load(ctx context.Context, s *Store) error {
	rows, err := s.db.Query(ctx, selectFreshSites)
	if err != nil {
		return fmt.Errorf("load freshness: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanFreshness(rows)
		if err != nil {
			return fmt.Errorf("load freshness: %w", err)
		}
		t.update(f.Site, func(g *Freshness) { *g = f })
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load freshness: %w", err)
	}
	lrows, err := s.db.Query(ctx, selectFreshLiveness)
	if err != nil {
		return fmt.Errorf("load liveness: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var site string
		var connected bool
		var since int64
		if err := lrows.Scan(&site, &connected, &since); err != nil {
			return fmt.Errorf("load liveness: %w", err)
		}
		t.update(site, func(g *Freshness) { g.Connected, g.Since = connected, fromMS(since) })
	}
	if err := lrows.Err(); err != nil {
		return fmt.Errorf("load liveness: %w", err)
	}
	return t.loadVersions(ctx, s)
}

// update applies f to site's row, adding the row if needed.
func (t *freshTable) update(site string, f func(*Freshness)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idx == nil {
		t.idx = map[string]int{}
	}
	t.knownAll = nil
	i, ok := t.idx[site]
	if !ok {
		i, _ = slices.BinarySearchFunc(t.rows, site, func(r Freshness, s string) int { return strings.Compare(r.Site, s) })
		t.rows = slices.Insert(t.rows, i, Freshness{Site: site})
		for j := i; j < len(t.rows); j++ {
			t.idx[t.rows[j].Site] = j
		}
	}
	f(&t.rows[i])
}

// get returns site's row and whether there is one.
func (t *freshTable) get(site string) (Freshness, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i, ok := t.idx[site]
	if !ok {
		return Freshness{}, false
	}
	return t.rows[i], true
}

// known returns the rows of every site a batch came from, ordered by site,
// keeping only those keep accepts when keep is not nil. With keep nil the
// answer is shared until the table changes: callers must not change its
// rows (an append copies it: it has no room past its end).
func (t *freshTable) known(keep func(site string) bool) []Freshness {
	if keep == nil {
		t.mu.RLock()
		out := t.knownAll
		t.mu.RUnlock()
		if out != nil {
			return out
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.knownAll == nil {
			all := t.filter(nil)
			t.knownAll = all[:len(all):len(all)]
		}
		return t.knownAll
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.filter(keep)
}

// filter is known's answer, made; the caller holds t.mu.
func (t *freshTable) filter(keep func(site string) bool) []Freshness {
	out := make([]Freshness, 0, len(t.rows))
	for _, r := range t.rows {
		if r.Known && (keep == nil || keep(r.Site)) {
			out = append(out, r)
		}
	}
	return out
}

// saved records a committed batch's site state in the table.
func (t *freshTable) saved(site string, st SiteState, contact time.Time) {
	t.update(site, func(f *Freshness) {
		f.Known, f.TZ = true, st.TZ
		f.Contiguous, f.MaxSeen, f.Backlog = st.Contiguous, st.MaxSeen, st.MaxSeen-st.Contiguous
		f.LastEventTime, f.LastContact = st.LastEvent, contact
	})
}

// SetLiveness records that site is connected (or not) since since: in the
// site_liveness table, so a restarted node remembers it, and in every
// answer's freshness from now on. Callers record changes of state, not
// every heartbeat.
func (s *Store) SetLiveness(ctx context.Context, site string, connected bool, since time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.stmt(ctx, upsertLiveness)
	if err != nil {
		return fmt.Errorf("record liveness of %s: %w", site, err)
	}
	if _, err := st.ExecContext(ctx, site, connected, ms(since)); err != nil {
		return fmt.Errorf("record liveness of %s: %w", site, err)
	}
	s.fresh.update(site, func(f *Freshness) { f.Connected, f.Since = connected, since.UTC() })
	return nil
}

// Liveness lists the recorded liveness of every site heard from: whether it
// was last seen connected, and since when.
func (s *Store) Liveness() map[string]Freshness {
	s.fresh.mu.RLock()
	defer s.fresh.mu.RUnlock()
	out := make(map[string]Freshness, len(s.fresh.rows))
	for _, r := range s.fresh.rows {
		out[r.Site] = r
	}
	return out
}
