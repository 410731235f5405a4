//go:build torture

package torture

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// Fault kinds, as the figures name them.
const (
	killEdge    = "kill -9 edge"
	killCentral = "kill -9 central node"
	cutLink     = "cut site link"
	partition   = "partition central node"
	clockSkew   = "clock skew at a site"
	diskFull    = "disk full at a site"
)

// settings are the run's knobs, from the environment (see the Makefile).
type settings struct {
	duration time.Duration // how long sellers sell while faults are injected
	seed     uint64
	sites    int
	long     bool // a long run: longer outages and holds
}

func loadSettings(t *testing.T) settings {
	s := settings{duration: 3 * time.Minute, seed: uint64(time.Now().UnixNano()), sites: 3}
	if v := os.Getenv("TORTURE_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TORTURE_DURATION=%q: %v", v, err)
		}
		s.duration = d
	}
	if v := os.Getenv("TORTURE_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("TORTURE_SEED=%q: %v", v, err)
		}
		s.seed = n
	}
	if v := os.Getenv("TORTURE_SITES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3 {
			t.Fatalf("TORTURE_SITES=%q: want 3 or more", v)
		}
		s.sites = n
	}
	s.long = s.duration >= 10*time.Minute
	return s
}

// figures are what the run measured besides the ledger.
type figures struct {
	mu          sync.Mutex
	faults      map[string]int
	converge    map[string][]time.Duration // time from heal to every node having every site's events
	notConverge map[string]int
	bypass      int      // partitions during which the node still held a direct route
	notes       []string // what happened, one line per fault
}

func (fg *figures) note(format string, args ...any) {
	fg.mu.Lock()
	fg.notes = append(fg.notes, time.Now().Format("15:04:05")+" "+fmt.Sprintf(format, args...))
	fg.mu.Unlock()
}

// TestTorture runs the fault-injection suite: see the package doc and
// RELIABILITY.md.
func TestTorture(t *testing.T) {
	cfg := loadSettings(t)
	fmt.Printf("torture: seed %d (replay with TORTURE_SEED=%d), %s of faults, %d sites\n", cfg.seed, cfg.seed, cfg.duration, cfg.sites)
	t.Logf("seed %d", cfg.seed)
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))

	work := t.TempDir()
	if os.Getenv("TORTURE_KEEP") != "" { // keep logs and data for a post-mortem
		var err error
		if work, err = os.MkdirTemp("", "vendsync-torture-"); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("torture: data and logs kept in %s\n", work)
	}
	f := &fleet{t: t, work: work, bin: buildBinary(t, work)}
	setup := time.Now()
	f.startCentral()
	tmpfs := "192m"
	if cfg.long {
		tmpfs = "768m"
	}
	f.startSites(cfg.sites, tmpfs)
	defer func() {
		if t.Failed() {
			for _, n := range f.nodes {
				t.Logf("%s log (tail):\n%s", n.p.name, tail(n.p.output(), 3000))
			}
			for _, s := range f.sites {
				t.Logf("%s log (tail):\n%s", s.p.name, tail(s.p.output(), 3000))
			}
		}
		f.stopAll()
	}()
	where := work + " (removed at the end; TORTURE_KEEP=1 keeps it)"
	if os.Getenv("TORTURE_KEEP") != "" {
		where = work
	}
	fmt.Printf("torture: fleet up in %s: 3 central nodes, %d sites × %d machines, logs in %s\n",
		time.Since(setup).Round(time.Second), len(f.sites), machinesPerSite, where)

	l := newLedger()
	fg := &figures{faults: map[string]int{}, converge: map[string][]time.Duration{}, notConverge: map[string]int{}}
	sellCtx, stopSelling := context.WithCancel(context.Background())
	var sellers sync.WaitGroup
	for si, s := range f.sites {
		for mi, id := range sortedKeys(s.machines) {
			sellers.Add(1)
			go func() {
				defer sellers.Done()
				sell(sellCtx, l, s, id, s.machines[id], cfg.seed+uint64(si*100+mi))
			}()
		}
	}

	f.runSchedule(rng, cfg, fg)
	stopSelling()
	sellers.Wait()
	fmt.Printf("torture: selling stopped; healing everything\n")

	// Heal: every link up, every process running with a true clock, every
	// disk with room.
	healed := f.healAll(fg)
	if err := l.resolveDoubts(context.Background()); err != nil {
		t.Fatal(err)
	}
	final := f.waitConverged(5 * time.Minute)
	if final < 0 {
		t.Errorf("the fleet did not converge within 5 minutes of the final heal")
	}
	fmt.Printf("torture: converged %s after the final heal\n", time.Since(healed).Round(time.Millisecond))

	rep := f.check(l)
	rep.print(os.Stdout, cfg, l, fg, time.Since(healed))
	for _, p := range rep.problems {
		t.Error(p)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// between is a random duration in [lo, hi).
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// runSchedule injects one fault after another until cfg.duration has
// passed, each held for a while, healed, and followed by a wait for the
// fleet to converge (the figure per fault). Sellers sell throughout.
func (f *fleet) runSchedule(rng *rand.Rand, cfg settings, fg *figures) {
	kinds := []string{killEdge, killCentral, cutLink, partition, clockSkew}
	var full *site
	for _, s := range f.sites {
		if s.tmpfs {
			full = s
			kinds = append(kinds, diskFull)
		}
	}
	scale := 1.0
	if cfg.long {
		scale = 3
	}
	hold := func(lo, hi time.Duration) time.Duration {
		return between(rng, time.Duration(float64(lo)*scale), time.Duration(float64(hi)*scale))
	}
	end := time.Now().Add(cfg.duration)
	for time.Now().Before(end) {
		time.Sleep(between(rng, 2*time.Second, 8*time.Second))
		if time.Now().After(end) {
			break
		}
		kind := kinds[rng.IntN(len(kinds))]
		s := f.sites[rng.IntN(len(f.sites))]
		n := f.nodes[rng.IntN(len(f.nodes))]
		fg.mu.Lock()
		fg.faults[kind]++
		fg.mu.Unlock()
		switch kind {
		case killEdge:
			down := between(rng, 0, 3*time.Second)
			fg.note("%s %s, down %s", kind, s.id, down.Round(time.Millisecond))
			s.p.kill9()
			time.Sleep(down)
			f.startEdge(s)
		case killCentral:
			down := hold(3*time.Second, 15*time.Second)
			fg.note("%s %s, down %s", kind, n.p.name, down.Round(time.Millisecond))
			n.p.kill9()
			time.Sleep(down)
			n.p.start(f.t)
			n.p.waitOutput(f.t, `HQ API (https://\S+)`, 3*time.Minute)
		case cutLink:
			d := hold(10*time.Second, 45*time.Second)
			fg.note("%s %s for %s", kind, s.id, d.Round(time.Millisecond))
			for _, k := range s.links {
				k.Cut()
			}
			time.Sleep(d)
			for _, k := range s.links {
				k.Restore("")
			}
		case partition:
			d := hold(10*time.Second, 30*time.Second)
			fg.note("%s %s for %s", kind, n.p.name, d.Round(time.Millisecond))
			f.partition(n, true)
			time.Sleep(2 * time.Second)
			direct := f.directRoutes(n)
			time.Sleep(max(d-2*time.Second, 0))
			if direct == 0 {
				direct = f.directRoutes(n)
			}
			if direct > 0 {
				fg.mu.Lock()
				fg.bypass++
				fg.mu.Unlock()
				fg.note("  %s still held %d route connections not through its links: not isolated", n.p.name, direct)
			}
			f.partition(n, false)
		case clockSkew:
			// Mostly behind (an RTC reset, NTP never reached): up to 6 h.
			// Ahead only within --max-clock-skew, since a site ahead by
			// more refuses every resent stamp once its clock is put right.
			off := -between(rng, 10*time.Minute, 6*time.Hour)
			if rng.IntN(5) == 0 {
				off = between(rng, time.Minute, 4*time.Minute)
			}
			d := hold(15*time.Second, 40*time.Second)
			fg.note("%s %s: clock %s for %s", kind, s.id, off.Round(time.Second), d.Round(time.Millisecond))
			f.restartWithOffset(s, off)
			time.Sleep(d)
			f.restartWithOffset(s, 0)
		case diskFull:
			d := hold(5*time.Second, 20*time.Second)
			path, size, err := fillDisk(full.dir)
			fg.note("%s %s: %d MB ballast (%v) for %s", kind, full.id, size>>20, err, d.Round(time.Millisecond))
			time.Sleep(d)
			if err := os.Remove(path); err != nil {
				f.t.Errorf("remove ballast: %v", err)
			}
		}
		// Converged: every node has every site's events up to where the
		// site was at the heal. The next fault waits for it, so each
		// figure is one fault's.
		healed := time.Now()
		d, ok, why := f.convergedTo(f.lastSeqs(), healed, 5*time.Minute)
		fg.mu.Lock()
		if ok {
			fg.converge[kind] = append(fg.converge[kind], d)
			if d > 15*time.Second {
				fg.notes = append(fg.notes, fmt.Sprintf("  converged after %s; last behind: %s", d.Round(10*time.Millisecond), why))
			}
		} else {
			fg.notConverge[kind]++
			fg.notes = append(fg.notes, fmt.Sprintf("  not converged within 5 minutes of the heal: %s", why))
		}
		fg.mu.Unlock()
	}
}

// partition cuts (or restores) every link node n's routes use, both the
// ones it dials and the ones the other nodes dial it through.
func (f *fleet) partition(n *node, cut bool) {
	for _, m := range f.nodes {
		if m == n {
			continue
		}
		for _, l := range []interface {
			Cut()
			Restore(string)
		}{n.out[m.i], m.out[n.i]} {
			if cut {
				l.Cut()
			} else {
				l.Restore("")
			}
		}
	}
}

// directRoutes counts the route connections node n holds that a partition
// did not close: ones on its own route port, or to another node's route
// port directly (a route learned by gossip, dialled at the address the
// other node advertises rather than through a link).
func (f *fleet) directRoutes(n *node) int {
	var peers []int
	for _, m := range f.nodes {
		if m != n {
			peers = append(peers, port(m.route))
		}
	}
	return max(routeSockets(n.p.pid(), port(n.route), peers), 0)
}

func port(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p, _ := strconv.Atoi(addr[i+1:])
	return p
}

// restartWithOffset stops the site's edge (SIGTERM) and starts it with its
// clock shifted by off (VENDSYNC_CLOCK_OFFSET, a test aid of edge run).
func (f *fleet) restartWithOffset(s *site, off time.Duration) {
	if err := s.p.stop(); err != nil {
		f.t.Logf("stop %s: %v", s.p.name, err)
	}
	s.mu.Lock()
	s.offset = off
	s.mu.Unlock()
	s.p.mu.Lock()
	s.p.env = nil
	if off != 0 {
		s.p.env = []string{"VENDSYNC_CLOCK_OFFSET=" + off.String()}
	}
	s.p.mu.Unlock()
	f.startEdge(s)
}

// healAll restores every link, restarts what is not running, puts every
// clock right and removes any ballast; it returns when it did.
func (f *fleet) healAll(fg *figures) time.Time {
	for _, n := range f.nodes {
		for _, l := range n.out {
			l.Restore("")
		}
	}
	for _, s := range f.sites {
		for _, l := range s.links {
			l.Restore("")
		}
		os.Remove(s.dir + "/torture-ballast")
		s.mu.Lock()
		skewed := s.offset != 0
		s.mu.Unlock()
		if skewed {
			f.restartWithOffset(s, 0)
		}
		if !s.p.running() {
			f.t.Errorf("%s was not running at the end (exited on its own):\n%s", s.p.name, tail(s.p.output(), 3000))
			f.startEdge(s)
		}
	}
	for _, n := range f.nodes {
		if !n.p.running() {
			f.t.Errorf("%s was not running at the end (exited on its own):\n%s", n.p.name, tail(n.p.output(), 3000))
			n.p.start(f.t)
			n.p.waitOutput(f.t, `HQ API`, 3*time.Minute)
		}
	}
	return time.Now()
}

// lastSeqs reads every site's last outbox sequence (sites that do not
// answer are left out).
func (f *fleet) lastSeqs() map[*site]uint64 {
	out := map[*site]uint64{}
	for _, s := range f.sites {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := s.admin.Sync(ctx)
		cancel()
		if err == nil {
			out[s] = st.Outbox.LastSeq
		}
	}
	return out
}

// convergedTo polls until every central node's watermark of every site in
// targets reaches its target; it returns how long that took.
func (f *fleet) convergedTo(targets map[*site]uint64, start time.Time, timeout time.Duration) (time.Duration, bool, string) {
	var last string
	for {
		why := f.behind(targets)
		if why == "" {
			return time.Since(start), true, last
		}
		last = why
		if time.Since(start) > timeout {
			return time.Since(start), false, last
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// behind names one node and site whose watermark is below its target, ""
// if none.
func (f *fleet) behind(targets map[*site]uint64) string {
	for s, want := range targets {
		for _, n := range f.nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			fr, err := n.hq.Site(ctx, s.id)
			cancel()
			if err != nil {
				return fmt.Sprintf("%s: %v", n.p.name, err)
			}
			if fr.Watermark < want {
				return fmt.Sprintf("%s has %s up to %d of %d", n.p.name, s.id, fr.Watermark, want)
			}
		}
	}
	return ""
}

// waitConverged waits until every site's outbox is confirmed by central
// (acked up to its last sequence) and every node has every site's events;
// it returns how long it took, or -1.
func (f *fleet) waitConverged(timeout time.Duration) time.Duration {
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		last = ""
		targets := map[*site]uint64{}
		for _, s := range f.sites {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := s.admin.Sync(ctx)
			cancel()
			switch {
			case err != nil:
				last = fmt.Sprintf("%s: %v", s.id, err)
			case st.Outbox.AckedSeq < st.Outbox.LastSeq:
				last = fmt.Sprintf("%s: outbox acked %d of %d", s.id, st.Outbox.AckedSeq, st.Outbox.LastSeq)
			}
			targets[s] = st.Outbox.LastSeq
		}
		if last == "" {
			last = f.behind(targets)
		}
		if last == "" {
			return time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	f.t.Logf("not converged: %s", last)
	return -1
}

// wideRange covers every sale of the run (clocks up to 6 h behind).
func wideRange() (string, string) {
	now := time.Now()
	return now.AddDate(0, 0, -40).Format(time.DateOnly), now.AddDate(0, 0, 2).Format(time.DateOnly)
}

// edgeMachines is the site's own per-machine totals.
func edgeMachines(ctx context.Context, s *site) (map[string]totals, error) {
	from, to := wideRange()
	a, err := s.admin.Sales(ctx, edgeapi.SalesQuery{GroupBy: "machine", Window: "month", From: from, To: to})
	if err != nil {
		return nil, err
	}
	out := map[string]totals{}
	for _, r := range a.Rows {
		t := out[r.Key]
		t.tx += r.Transactions
		t.qty += r.Quantity
		t.rev += r.Revenue
		out[r.Key] = t
	}
	return out, nil
}

// centralMachines is one node's per-machine totals of one site.
func centralMachines(ctx context.Context, n *node, s *site) (map[string]totals, error) {
	from, to := wideRange()
	a, err := n.hq.Sales(ctx, hqapi.SalesQuery{GroupBy: "machine", Window: "month", From: from, To: to, SiteID: s.id})
	if err != nil {
		return nil, err
	}
	out := map[string]totals{}
	for _, r := range a.Rows {
		if r.SiteID != "" && r.SiteID != s.id {
			continue
		}
		t := out[r.Key]
		t.tx += r.Transactions
		t.qty += r.Quantity
		t.rev += r.Revenue
		out[r.Key] = t
	}
	return out, nil
}
