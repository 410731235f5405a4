package dashboard

import (
	"errors"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/sync/bucket"
)

// machineDays is how many days of a machine's sales its page shows.
const machineDays = 14

// machinePage is GET /ui/machines/{id}.
type machinePage struct {
	Machine machineView
	Site    siteView
	// Sales is the machine's revenue per day over machineDays (roles that
	// see money only).
	Sales      template.HTML
	SalesTx    int64
	SalesTotal int64
	Faults     []faultView
	Alerts     []alertView
	Note       freshNote
}

func (d *Dashboard) machine(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	id := r.PathValue("id")
	m, err := d.cfg.Store.Machine(ctx, id)
	if errors.Is(err, readmodel.ErrNotFound) {
		return httpErr(http.StatusNotFound, "Central knows no machine %q.", id)
	}
	if err != nil {
		return err
	}
	f, err := d.cfg.Store.Site(ctx, m.Site)
	if errors.Is(err, readmodel.ErrNotFound) {
		f = readmodel.Freshness{Site: m.Site}
	} else if err != nil {
		return err
	}
	p := machinePage{Machine: d.machineOf(m), Site: d.siteOf(f, d.reg.get(ctx, d.log)), Note: d.note([]readmodel.Freshness{f})}
	if slices.Contains(rolesSales, s.Role) {
		to := d.today().AddDate(0, 0, 1)
		from := to.AddDate(0, 0, -machineDays)
		res, err := d.cfg.Store.Sales(ctx, readmodel.SalesQuery{GroupBy: readmodel.ByMachine, Window: bucket.Day, From: from, To: to, Site: m.Site})
		if err != nil {
			return err
		}
		labels := dayLabels(from, to)
		vals := make([]int64, len(labels))
		for _, row := range res.Rows {
			if row.Key != m.MachineID {
				continue
			}
			if i := int(row.Bucket.Sub(from) / (24 * time.Hour)); i >= 0 && i < len(vals) {
				vals[i] += row.RevenueCents
				p.SalesTotal += row.RevenueCents
				p.SalesTx += row.TxCount
			}
		}
		p.Sales = barsOverTime("machine-sales", labels, []series{{Name: "revenue", Class: "c0", Values: vals}}, moneyFormat)
	}
	if p.Faults, err = d.faultList(ctx, readmodel.FaultFilter{Site: m.Site, MachineID: m.MachineID, Limit: 20}); err != nil {
		return err
	}
	if p.Alerts, err = d.alertList(ctx, readmodel.AlertFilter{Site: m.Site, MachineID: m.MachineID, Limit: 20}); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "machine", "Machine "+m.MachineID, s, p)
}

// today is the start of today in the dashboard's zone, as a naive-local
// time (the sites' buckets are wall-clock times carried as UTC).
func (d *Dashboard) today() time.Time {
	return bucket.Start(bucket.Day, bucket.Naive(d.cfg.Now(), d.cfg.Location))
}

// dayLabels labels the days of [from, to).
func dayLabels(from, to time.Time) []string {
	var out []string
	for t := from; t.Before(to); t = t.AddDate(0, 0, 1) {
		out = append(out, t.Format("2006-01-02T15:04:05"))
	}
	return out
}
