// Package route ranks a restock driver's route candidates: per site, how
// urgently it needs a visit and why, from central's read model (open alerts,
// machines and their products, sync freshness, last restock).
//
// It is a pure function of what Source returns and the clock; it writes
// nothing and keeps no state.
package route

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// Source is what Candidates reads. *readmodel.Store satisfies it.
type Source interface {
	// Sites lists every known site's sync state.
	Sites(ctx context.Context) ([]readmodel.Freshness, error)
	// Alerts lists alerts matching f.
	Alerts(ctx context.Context, f readmodel.AlertFilter) ([]readmodel.Alert, error)
	// Machine returns a machine with its products, or an error wrapping
	// readmodel.ErrNotFound.
	Machine(ctx context.Context, site, id string) (readmodel.Machine, error)
}

// MachineLister is optionally implemented by a Source that can list a
// site's machines; without it, only machines with open alerts are considered.
type MachineLister interface {
	SiteMachines(ctx context.Context, site string) ([]string, error)
}

// VisitSource is optionally implemented by a Source that knows when each
// machine of a site was last restocked (its last RESTOCK stock movement).
// Machines never restocked are absent from the map.
type VisitSource interface {
	LastRestocks(ctx context.Context, site string) (map[string]time.Time, error)
}

// FleetSource is optionally implemented by a Source that can load every
// machine (with its products) and every machine's last restock in a few
// queries for the whole fleet. CandidatesAt then reads those once instead of
// querying per site and per machine; MachineLister and VisitSource are not
// used.
type FleetSource interface {
	RouteMachines(ctx context.Context) (map[string]map[string]readmodel.Machine, error)
	AllLastRestocks(ctx context.Context) (map[string]map[string]time.Time, error)
}

// DemandSource is optionally implemented by a Source that has a demand
// forecast: expected sales per day per slot, keyed by site. Slots with a
// forecast are then filled for demand until the next visit (FillTarget)
// instead of to par.
type DemandSource interface {
	DemandPerDay(ctx context.Context) (map[string]map[forecast.SlotKey]float64, error)
}

// Reason codes, in the order a row shows them (the wire values of hqapi).
const (
	OutOfStock    = hqapi.ReasonOutOfStock
	LowStock      = hqapi.ReasonLowStock
	Expired       = hqapi.ReasonExpired
	ExpiringSoon  = hqapi.ReasonExpiringSoon
	Temperature   = hqapi.ReasonTemperature
	Offline       = hqapi.ReasonOffline
	PowerOff      = hqapi.ReasonPowerOff
	DoorOpen      = hqapi.ReasonDoorOpen
	Mismatch      = hqapi.ReasonMismatch
	SiteOffline   = hqapi.ReasonSiteOffline
	DaysSinceLast = hqapi.ReasonDaysSinceVisit
)

// points per occurrence of each reason. Stock-outs lose sales now; expired
// items are a health risk; a warm machine spoils stock.
var points = map[string]int{
	OutOfStock: 10, Expired: 8, Temperature: 6, Offline: 5, PowerOff: 5,
	LowStock: 4, ExpiringSoon: 3, DoorOpen: 3, Mismatch: 2, SiteOffline: 2,
	DaysSinceLast: 1,
}

var order = []string{OutOfStock, LowStock, Expired, ExpiringSoon, Temperature, Offline, PowerOff, DoorOpen, Mismatch, SiteOffline, DaysSinceLast}

// Tuning.
const (
	// MaxVisitDays caps the points a site earns for not being visited.
	MaxVisitDays = 14
	// SiteStaleAfter is how long without contact makes a site's data stale.
	SiteStaleAfter = time.Hour
	// DefaultParMultiple and DefaultParMin give a product's par level when
	// none is set, as the edge does (edge/store.ParLevel).
	DefaultParMultiple = 3
	DefaultParMin      = 10
	// VisitDays is the days until a machine's next visit that a fill for
	// demand covers.
	VisitDays = 7
	// SafetyZ sizes the safety stock of a fill for demand: z·√(demand),
	// the Poisson spread of the demand, about 95 % service at 1.65.
	SafetyZ = 1.65
)

// FillTarget is the level to fill a slot to for demand: the expected sales
// until the next visit (perDay × VisitDays) plus SafetyZ·√ of it, rounded
// up, at least one above the low-stock limit (so the fill does not leave
// the slot alerting), at most par.
func FillTarget(perDay float64, par, lowLimit int64) int64 {
	d := max(0, perDay) * VisitDays
	t := int64(math.Ceil(d + SafetyZ*math.Sqrt(d)))
	return min(par, max(t, lowLimit+1))
}

// ParLevel is the level a slot is filled to: its par level if set, otherwise
// DefaultParMultiple × its low-stock limit, at least DefaultParMin.
func ParLevel(par *int64, lowLimit int64) int64 {
	if par != nil {
		return *par
	}
	return max(DefaultParMin, DefaultParMultiple*lowLimit)
}

// The route's answer is the HQ API's wire types: central serves it as is
// (GET /routes/candidates) and the driver's app decodes it.
type (
	// Reason is one cause of a candidate's priority.
	Reason = hqapi.Reason
	// Slot is one product on a machine as central last saw it.
	Slot = hqapi.Slot
	// Machine is one machine of a candidate site.
	Machine = hqapi.RouteMachine
	// Candidate is one site on a driver's route with its priority and reasons.
	Candidate = hqapi.Candidate
)

// Candidates ranks every site with a reason to visit, most urgent first, at
// the current time. See CandidatesAt.
func Candidates(ctx context.Context, src Source) ([]Candidate, error) {
	return CandidatesAt(ctx, src, time.Now())
}

// CandidatesAt ranks every site with a reason to visit at now, by score
// (highest first) then site id. It returns the first error from src.
func CandidatesAt(ctx context.Context, src Source, now time.Time) ([]Candidate, error) {
	sites, err := src.Sites(ctx)
	if err != nil {
		return nil, fmt.Errorf("route: sites: %w", err)
	}
	alerts, err := src.Alerts(ctx, readmodel.AlertFilter{Status: "OPEN", Limit: 100000})
	if err != nil {
		return nil, fmt.Errorf("route: alerts: %w", err)
	}
	type slotKey struct{ machine, product string }
	bySite := map[string][]readmodel.Alert{}
	for _, a := range alerts {
		bySite[a.Site] = append(bySite[a.Site], a)
	}
	lots, err := siteLots(ctx, src)
	if err != nil {
		return nil, err
	}
	lister, _ := src.(MachineLister)
	visits, _ := src.(VisitSource)
	machine := src.Machine
	if fleet, ok := src.(FleetSource); ok {
		all, err := fleet.RouteMachines(ctx)
		if err != nil {
			return nil, fmt.Errorf("route: machines: %w", err)
		}
		restocks, err := fleet.AllLastRestocks(ctx)
		if err != nil {
			return nil, fmt.Errorf("route: visits: %w", err)
		}
		lister, visits = preloaded{all, restocks}, preloaded{all, restocks}
		machine = func(_ context.Context, site, id string) (readmodel.Machine, error) {
			m, ok := all[site][id]
			if !ok {
				return readmodel.Machine{}, fmt.Errorf("machine %s: %w", id, readmodel.ErrNotFound)
			}
			return m, nil
		}
	}

	var demand map[string]map[forecast.SlotKey]float64
	if ds, ok := src.(DemandSource); ok {
		if demand, err = ds.DemandPerDay(ctx); err != nil {
			return nil, fmt.Errorf("route: demand: %w", err)
		}
	}

	var out []Candidate
	for _, site := range sites {
		c := Candidate{Site: site.Site, LastContact: site.LastContact, Connected: site.Connected, Machines: []Machine{}}
		if !site.Since.IsZero() {
			since := site.Since
			c.Since = &since
		}
		counts := map[string]int{}
		machineAlerts := map[string][]string{}
		slotAlerts := map[slotKey][]string{}
		ids := map[string]bool{}
		for _, a := range bySite[site.Site] {
			ids[a.MachineID] = true
			if _, known := points[a.Type]; known {
				counts[a.Type]++
			}
			if a.ProductID == "" {
				machineAlerts[a.MachineID] = append(machineAlerts[a.MachineID], a.Type)
			} else {
				k := slotKey{a.MachineID, a.ProductID}
				slotAlerts[k] = append(slotAlerts[k], a.Type)
			}
		}
		if lister != nil {
			more, err := lister.SiteMachines(ctx, site.Site)
			if err != nil {
				return nil, fmt.Errorf("route: machines of %s: %w", site.Site, err)
			}
			for _, id := range more {
				ids[id] = true
			}
		}
		for _, id := range sortedKeys(ids) {
			m, err := machine(ctx, site.Site, id)
			if errors.Is(err, readmodel.ErrNotFound) {
				c.Machines = append(c.Machines, Machine{MachineID: id, Alerts: sorted(machineAlerts[id]), Slots: []Slot{}})
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("route: machine %s: %w", id, err)
			}
			if m.Status == "DECOMMISSIONED" {
				continue
			}
			if c.City == "" {
				c.City = m.City
			}
			rm := Machine{MachineID: id, City: m.City, Building: m.Building, Status: m.Status, Alerts: sorted(machineAlerts[id]), Slots: []Slot{}}
			for _, p := range m.Products {
				sl := Slot{ProductID: p.ProductID, Name: p.Name, Quantity: p.Quantity,
					ParLevel: ParLevel(p.ParLevel, p.LowStockLimit), LowStockLimit: p.LowStockLimit, CasePack: p.CasePack,
					ExpiryDate: p.ExpiryDate, Alerts: sorted(slotAlerts[slotKey{id, p.ProductID}])}
				if p.Capacity != nil {
					sl.Capacity = *p.Capacity
				}
				fillForDemand(&sl, demand[site.Site], id)
				rm.Slots = append(rm.Slots, sl)
			}
			attachLots(rm.Slots, lots[lotMachine{site.Site, id}])
			c.Machines = append(c.Machines, rm)
		}
		if offline(site, now) {
			counts[SiteOffline] = 1
		}
		if visits != nil {
			last, err := visits.LastRestocks(ctx, site.Site)
			if err != nil {
				return nil, fmt.Errorf("route: visits of %s: %w", site.Site, err)
			}
			var latest time.Time
			for _, t := range last {
				if t.After(latest) {
					latest = t
				}
			}
			if !latest.IsZero() {
				c.LastVisit = &latest
				if days := int(now.Sub(latest) / (24 * time.Hour)); days > 0 {
					counts[DaysSinceLast] = days
				}
			}
		}
		for _, code := range order {
			n := counts[code]
			if n == 0 {
				continue
			}
			p := points[code] * n
			if code == DaysSinceLast {
				p = points[code] * min(n, MaxVisitDays)
			}
			c.Reasons = append(c.Reasons, Reason{Code: code, Count: n, Points: p})
			c.Score += p
		}
		if c.Score > 0 {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Site < out[j].Site
	})
	if out == nil {
		out = []Candidate{}
	}
	return out, nil
}

// fillForDemand gives a slot with a forecast its demand and fill target.
func fillForDemand(sl *Slot, demand map[forecast.SlotKey]float64, machine string) {
	perDay, ok := demand[forecast.SlotKey{Machine: machine, Product: sl.ProductID}]
	if !ok {
		return
	}
	v := math.Round(perDay*100) / 100
	sl.DemandPerDay = &v
	sl.FillTarget = FillTarget(perDay, sl.ParLevel, sl.LowStockLimit)
	if sl.Capacity > 0 {
		sl.FillTarget = min(sl.FillTarget, sl.Capacity)
	}
	sl.FillRule = hqapi.FillDemand
}

// preloaded answers MachineLister and VisitSource from what a FleetSource
// loaded once.
type preloaded struct {
	machines map[string]map[string]readmodel.Machine
	restocks map[string]map[string]time.Time
}

func (p preloaded) SiteMachines(_ context.Context, site string) ([]string, error) {
	ids := make([]string, 0, len(p.machines[site]))
	for id, m := range p.machines[site] {
		if m.Status != "DECOMMISSIONED" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (p preloaded) LastRestocks(_ context.Context, site string) (map[string]time.Time, error) {
	return p.restocks[site], nil
}

// offline reports whether site's data must be taken as out of date: its
// heartbeats stopped, or, for a site that never sent one (an older edge),
// nothing came from it for SiteStaleAfter. A connected idle site is not
// offline however long it has been quiet.
func offline(site readmodel.Freshness, now time.Time) bool {
	if !site.Since.IsZero() {
		return !site.Connected
	}
	return !site.LastContact.IsZero() && now.Sub(site.LastContact) > SiteStaleAfter
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}
