//go:build torture

package torture

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// view is one place that answers for the sales: a site's own API, or one
// central node's HQ API.
type view struct {
	name                   string
	sales                  int64 // transactions it reports for the ledger's machines
	lost, dup              int64 // transactions it lacks, and has beyond the ledger
	late                   int64 // transactions it lacks from a site it says it is behind on (watermark below the site's last sequence): not arrived yet, not lost
	revDiff                int64 // cents, |reported - ledger| summed over machines
	stockChecked, stockBad int
	gapFree                bool
}

// report is the checker's verdict.
type report struct {
	acked    int64
	views    []view
	problems []string
}

func (r *report) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// check compares the ledger with every site's API and every central node's
// HQ API: per machine transactions, quantity and revenue; stock per machine
// and product; and that each node has every site's outbox with no gap up
// to the site's last sequence.
func (f *fleet) check(l *ledger) *report {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	want, sold := l.byMachine()
	r := &report{}
	for _, m := range want {
		for _, t := range m {
			r.acked += t.tx
		}
	}
	compare := func(v *view, siteID string, got map[string]totals, behind bool) {
		for m, w := range want[siteID] {
			g := got[m]
			v.sales += g.tx
			if g.tx < w.tx && behind {
				v.late += w.tx - g.tx
				continue
			}
			if g.tx < w.tx {
				v.lost += w.tx - g.tx
			}
			if g.tx > w.tx {
				v.dup += g.tx - w.tx
			}
			if d := int64(g.rev - w.rev); d != 0 {
				v.revDiff += max(d, -d)
			}
			if g.qty != w.qty {
				r.problem("%s: %s/%s quantity %d, ledger %d", v.name, siteID, m, g.qty, w.qty)
			}
		}
		for m, g := range got {
			if _, ok := want[siteID][m]; !ok && g.tx > 0 {
				v.dup += g.tx
				r.problem("%s: %s/%s has %d sales the ledger has none of", v.name, siteID, m, g.tx)
			}
		}
	}
	lastSeq := map[string]uint64{}
	for _, s := range f.sites {
		v := view{name: "site " + s.id, gapFree: true}
		got, err := edgeMachines(ctx, s)
		if err != nil {
			r.problem("%s: %v", v.name, err)
			continue
		}
		compare(&v, s.id, got, false)
		for _, m := range sortedKeys(s.machines) {
			inv, err := s.admin.Inventory(ctx, m)
			if err != nil {
				r.problem("%s inventory of %s: %v", v.name, m, err)
				continue
			}
			for _, it := range inv {
				v.stockChecked++
				if want := initialStock - sold[s.id+"/"+m+"/"+it.ProductID]; it.Quantity != want {
					v.stockBad++
					r.problem("%s: stock of %s/%s is %d, ledger says %d", v.name, m, it.ProductID, it.Quantity, want)
				}
			}
		}
		st, err := s.admin.Sync(ctx)
		if err != nil {
			r.problem("%s sync: %v", v.name, err)
		} else {
			lastSeq[s.id] = st.Outbox.LastSeq
			if st.Outbox.AckedSeq != st.Outbox.LastSeq {
				v.gapFree = false
				r.problem("%s: outbox confirmed up to %d of %d", v.name, st.Outbox.AckedSeq, st.Outbox.LastSeq)
			}
		}
		r.views = append(r.views, v)
	}
	for _, n := range f.nodes {
		v := view{name: n.p.name, gapFree: true}
		for _, s := range f.sites {
			got, err := centralMachines(ctx, n, s)
			if err != nil {
				r.problem("%s sales of %s: %v", v.name, s.id, err)
				continue
			}
			fr, err := n.hq.Site(ctx, s.id)
			behind := false
			if err != nil {
				r.problem("%s freshness of %s: %v", v.name, s.id, err)
			} else if fr.Watermark < lastSeq[s.id] || fr.Backlog != 0 {
				v.gapFree, behind = false, true
				r.problem("%s: %s watermark %d (backlog %d), site's last sequence %d: not converged", v.name, s.id, fr.Watermark, fr.Backlog, lastSeq[s.id])
			}
			compare(&v, s.id, got, behind)
			if behind {
				continue // its stock is as far behind as its sales
			}
			for _, m := range sortedKeys(s.machines) {
				mc, err := n.hq.Machine(ctx, s.id, m)
				if err != nil {
					r.problem("%s machine %s/%s: %v", v.name, s.id, m, err)
					continue
				}
				for _, p := range mc.Products {
					v.stockChecked++
					if want := initialStock - sold[s.id+"/"+m+"/"+p.ProductID]; p.Quantity != want {
						v.stockBad++
						r.problem("%s: stock of %s/%s/%s is %d, ledger says %d", v.name, s.id, m, p.ProductID, p.Quantity, want)
					}
				}
			}
		}
		r.views = append(r.views, v)
	}
	for _, v := range r.views {
		if v.lost > 0 || v.dup > 0 || (v.revDiff != 0 && v.late == 0) {
			r.problem("%s: %d acked sales lost, %d counted twice or unknown, revenue off by %d cents", v.name, v.lost, v.dup, v.revDiff)
		}
	}
	if n := l.replayNotFirst.Load(); n > 0 {
		r.problem("%d resent acked sales were answered 201 as new instead of as replays", n)
	}
	return r
}

// print writes the figures.
func (r *report) print(w io.Writer, cfg settings, l *ledger, fg *figures, sinceHeal time.Duration) {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	fmt.Fprintf(w, "\n==== torture figures (seed %d, %s of faults, %d sites) ====\n", cfg.seed, cfg.duration, cfg.sites)
	fmt.Fprintf(w, "acked sales                 %d\n", r.acked)
	fmt.Fprintf(w, "acked sales resent on purpose %d, answered as replays %d, answered as new %d\n",
		l.replaysSent.Load(), l.replaysOK.Load(), l.replayNotFirst.Load())
	fmt.Fprintf(w, "sends without a definitive answer (no answer, 5xx, 429), resent with the same id: %d\n", l.transient.Load())
	fmt.Fprintf(w, "  of which 503 STORAGE_FULL: %d; resends that found the first attempt committed: %d\n", l.storageFull.Load(), l.recoveredDoubt.Load())
	refused := sortedKeys(l.refused)
	var rs []string
	for _, k := range refused {
		rs = append(rs, fmt.Sprintf("%s ×%d", k, l.refused[k]))
	}
	fmt.Fprintf(w, "refused (4xx, not acked):    %s\n", orNone(strings.Join(rs, ", ")))
	fmt.Fprintf(w, "\n%-22s %10s %6s %10s %12s %12s %10s %9s\n", "VIEW", "SALES", "LOST", "DUPLICATED", "REVENUE OFF", "NOT YET IN", "STOCK BAD", "CONVERGED")
	for _, v := range r.views {
		fmt.Fprintf(w, "%-22s %10d %6d %10d %12s %12d %6d/%-3d %9v\n", v.name, v.sales, v.lost, v.dup, fmt.Sprintf("%d¢", v.revDiff), v.late, v.stockBad, v.stockChecked, v.gapFree)
	}
	fmt.Fprintf(w, "\n%-26s %6s %12s %12s %14s\n", "FAULT", "COUNT", "CONV. MEDIAN", "CONV. MAX", "NOT CONVERGED")
	total := 0
	for _, k := range []string{killEdge, killCentral, cutLink, partition, clockSkew, diskFull} {
		c := fg.converge[k]
		slices.Sort(c)
		med, mx := "-", "-"
		if len(c) > 0 {
			med, mx = c[len(c)/2].Round(10*time.Millisecond).String(), c[len(c)-1].Round(10*time.Millisecond).String()
		}
		fmt.Fprintf(w, "%-26s %6d %12s %12s %14d\n", k, fg.faults[k], med, mx, fg.notConverge[k])
		total += fg.faults[k]
	}
	fmt.Fprintf(w, "%-26s %6d\n", "all faults", total)
	fmt.Fprintf(w, "partitions where the node kept a route not through its links: %d\n", fg.bypass)
	fmt.Fprintf(w, "convergence after the final heal: %s\n", sinceHeal.Round(10*time.Millisecond))
	fmt.Fprintf(w, "clock skew: sales at a skewed site carry its clock; they land in that clock's hour/day buckets, so per-hour figures\n"+
		"  shift by the offset while totals per machine (compared here) do not.\n")
	fmt.Fprintf(w, "\nschedule:\n")
	for _, n := range fg.notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	if len(r.problems) == 0 {
		fmt.Fprintf(w, "\nRESULT: nothing lost, nothing counted twice, every view agrees with the ledger\n")
	} else {
		fmt.Fprintf(w, "\nRESULT: %d problems\n", len(r.problems))
		for _, p := range r.problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
