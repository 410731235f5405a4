package dashboard

import (
	"cmp"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/sync/bucket"
)

// overviewDays is how many days the overview reads: 30 and the 30 before,
// for the change against the previous period.
const overviewDays = 60

// period is one of the overview's revenue figures.
type period struct {
	Key, Label          string
	Revenue, Tx         int64
	PrevRevenue, PrevTx int64
	Change, TxChange    string
	// From and To are the period's days, as the API's from/to take them.
	From, To string
}

// countBy is a count of one kind (a severity, a fault type).
type countBy struct {
	Name  string
	Count int
}

// overviewPage is GET /ui/.
type overviewPage struct {
	// Money is whether the role sees revenue.
	Money   bool
	Periods []period
	Chart   template.HTML
	Legend  []legendItem
	CSV     string
	Note    freshNote
	Sites   siteCounts
	// Backlog is the events received above a gap, fleet-wide, waiting for
	// their sites to resend what is missing; BacklogSites how many sites
	// have some.
	Backlog      uint64
	BacklogSites int
	OpenAlerts   int
	AlertsBy     []countBy
	OpenFaults   int
	FaultsBy     []countBy
	Today        string
	// StaleAfter is how long without contact makes a site stale.
	StaleAfter string
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	p := overviewPage{Money: slices.Contains(rolesSales, s.Role), Today: d.today().Format(time.DateOnly), StaleAfter: span(d.cfg.StaleAfter)}
	// The three parts read different tables: read them side by side (the
	// read model has a pool of readers). Each fills its own fields of p.
	g, ctx := errgroup.WithContext(r.Context())
	if p.Money {
		g.Go(func() error { return d.overviewSales(ctx, &p) })
	}
	g.Go(func() error { return d.overviewSites(ctx, &p) })
	if slices.Contains(rolesAlerts, s.Role) {
		g.Go(func() error { return d.overviewAlerts(ctx, &p) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "overview", "Overview", s, &p)
}

// overviewSales fills the revenue figures and the 30-day chart.
func (d *Dashboard) overviewSales(ctx context.Context, p *overviewPage) error {
	end := d.today().AddDate(0, 0, 1)
	start := end.AddDate(0, 0, -overviewDays)
	res, err := d.cfg.Store.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.ByCity, Window: bucket.Day, From: start, To: end})
	if err != nil {
		return err
	}
	rev, tx := make([]int64, overviewDays), make([]int64, overviewDays)
	for _, row := range res.Rows {
		if i := int(row.Bucket.Sub(start) / (24 * time.Hour)); i >= 0 && i < overviewDays {
			rev[i] += row.RevenueCents
			tx[i] += row.TxCount
		}
	}
	sum := func(v []int64, from, to int) int64 {
		var t int64
		for _, x := range v[from:to] {
			t += x
		}
		return t
	}
	for _, pd := range []struct {
		key, label string
		days       int
	}{{"today", "Today", 1}, {"7d", "7 days", 7}, {"30d", "30 days", 30}} {
		n := overviewDays
		f := period{Key: pd.key, Label: pd.label,
			Revenue: sum(rev, n-pd.days, n), Tx: sum(tx, n-pd.days, n),
			PrevRevenue: sum(rev, n-2*pd.days, n-pd.days), PrevTx: sum(tx, n-2*pd.days, n-pd.days),
			From: end.AddDate(0, 0, -pd.days).Format(time.DateOnly), To: end.Format(time.DateOnly)}
		f.Change, f.TxChange = change(f.Revenue, f.PrevRevenue), change(f.Tx, f.PrevTx)
		p.Periods = append(p.Periods, f)
	}
	from30 := end.AddDate(0, 0, -30)
	p.Chart = barsOverTime("revenue-30d", dayLabels(from30, end), []series{{Name: "revenue", Class: "c0", Values: rev[overviewDays-30:]}}, moneyFormat)
	p.CSV = Prefix + "sales.csv?" + url.Values{"groupBy": {"city"}, "window": {"day"}, "from": {from30.Format(time.DateOnly)}, "to": {end.Format(time.DateOnly)}}.Encode()
	p.Note = d.note(res.Freshness)
	return nil
}

// overviewSites fills the site counts and the backlog.
func (d *Dashboard) overviewSites(ctx context.Context, p *overviewPage) error {
	vs, _, err := d.fleet(ctx)
	if err != nil {
		return err
	}
	p.Sites = countSites(vs)
	for _, v := range vs {
		p.Backlog += v.Backlog
		if v.Backlog > 0 {
			p.BacklogSites++
		}
	}
	return nil
}

// overviewAlerts counts open alerts by severity and open faults by type.
func (d *Dashboard) overviewAlerts(ctx context.Context, p *overviewPage) error {
	as, err := d.cfg.Store.Alerts(ctx, readmodel.AlertFilter{Status: "OPEN", Limit: 1 << 30})
	if err != nil {
		return err
	}
	sev := map[string]int{}
	for _, a := range as {
		sev[severity(a.Type)]++
	}
	p.OpenAlerts = len(as)
	p.AlertsBy = []countBy{{sevCritical, sev[sevCritical]}, {sevWarning, sev[sevWarning]}}
	types := map[string]int{}
	for _, st := range []string{"OPEN", "IN_PROGRESS"} {
		fs, err := d.cfg.Store.Faults(ctx, readmodel.FaultFilter{Status: st, Limit: 1 << 30})
		if err != nil {
			return err
		}
		for _, f := range fs {
			types[f.FaultType]++
			p.OpenFaults++
		}
	}
	for t, n := range types {
		p.FaultsBy = append(p.FaultsBy, countBy{t, n})
	}
	slices.SortFunc(p.FaultsBy, func(a, b countBy) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	return nil
}
