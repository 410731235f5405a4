package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/vendsync/vendsync/central/route"
)

// pickLine is one product of a site's pick list: what to load into the van
// for the visit.
type pickLine struct {
	ProductID, Name string
	Units, Cases    int64
	CasePack        int64
}

// visitMachine is a machine of a candidate and its last restock.
type visitMachine struct {
	route.Machine
	LastRestock time.Time
	Need        int64
}

// candidateView is one site on the route.
type candidateView struct {
	route.Candidate
	Rank     int
	Summary  string
	Pick     []pickLine
	Units    int64
	Machines []visitMachine
	Visited  string
}

// routeShown is how many candidates the page details: more than a day's
// visits for a driver.
const routeShown = 50

// routesPage is GET /ui/routes.
type routesPage struct {
	Candidates []candidateView
	// More is how many lower-ranked candidates are not shown.
	More  int
	Units int64
	// At is when the plan was made: it is kept for routeTTL, as ranking a
	// large fleet reads every machine.
	At time.Time
}

// driverRoutes shows the drivers' route: every site with a reason to be
// visited, most urgent first (route.CandidatesAt, as GET
// /routes/candidates), with its pick list and each machine's last restock.
func (d *Dashboard) driverRoutes(w http.ResponseWriter, r *http.Request, s *session) error {
	v, err := d.plans.get("routes", func() (any, error) { return d.plan(r.Context()) })
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "routes", "Drivers' routes", s, v)
}

// plan ranks the candidates and makes their pick lists.
func (d *Dashboard) plan(ctx context.Context) (routesPage, error) {
	p := routesPage{At: d.cfg.Now()}
	cs, err := route.CandidatesAt(ctx, d.cfg.Store, p.At)
	if err != nil {
		return p, err
	}
	if len(cs) > routeShown {
		p.More = len(cs) - routeShown
		cs = cs[:routeShown]
	}
	for i, c := range cs {
		v := candidateView{Candidate: c, Rank: i + 1, Summary: c.Summary()}
		if c.LastVisit != nil {
			v.Visited = span(d.cfg.Now().Sub(*c.LastVisit)) + " ago"
		}
		restocked, err := d.cfg.Store.LastRestocks(ctx, c.Site)
		if err != nil {
			return p, err
		}
		pick := map[string]*pickLine{}
		for _, m := range c.Machines {
			vm := visitMachine{Machine: m, LastRestock: restocked[m.MachineID]}
			for _, sl := range m.Slots {
				n := sl.Need()
				if n == 0 {
					continue
				}
				vm.Need += n
				pl := pick[sl.ProductID]
				if pl == nil {
					pl = &pickLine{ProductID: sl.ProductID, Name: sl.Name, CasePack: sl.CasePack}
					pick[sl.ProductID] = pl
				}
				pl.Units += n
			}
			v.Machines = append(v.Machines, vm)
		}
		for _, pl := range pick {
			if pl.CasePack > 0 {
				pl.Cases = (pl.Units + pl.CasePack - 1) / pl.CasePack
			}
			v.Units += pl.Units
			v.Pick = append(v.Pick, *pl)
		}
		slices.SortFunc(v.Pick, func(a, b pickLine) int {
			return cmp.Or(cmp.Compare(b.Units, a.Units), cmp.Compare(a.ProductID, b.ProductID))
		})
		p.Units += v.Units
		p.Candidates = append(p.Candidates, v)
	}
	return p, nil
}
