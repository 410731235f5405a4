package tui

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// PlannedSlot is what the pick list plans to put into one slot.
type PlannedSlot struct {
	Site      string `json:"site"`
	MachineID string `json:"machineId"`
	ProductID string `json:"productId"`
	Name      string `json:"name,omitempty"`
	Units     int64  `json:"units"`
	// Done is the units the driver has since added to the slot.
	Done int64 `json:"done,omitempty"`
}

// PickLine is one product to load in the van.
type PickLine struct {
	ProductID string `json:"productId"`
	Name      string `json:"name"`
	// Need is the units that fill every slot to its par level; Units is
	// Need rounded up to whole cases when the product has a case pack.
	Need     int64    `json:"need"`
	Units    int64    `json:"units"`
	CasePack int64    `json:"casePack,omitempty"`
	Cases    int64    `json:"cases,omitempty"`
	Machines []string `json:"machines"`
}

// PickList is the load for a route: per product across the chosen sites.
type PickList struct {
	BuiltAt    time.Time     `json:"builtAt"`
	Sites      []string      `json:"sites"`
	Lines      []PickLine    `json:"lines"`
	Slots      []PlannedSlot `json:"slots"`
	TotalUnits int64         `json:"totalUnits"`
	TotalCases int64         `json:"totalCases"`
	// Pull lists the units to take out, per machine in slot order:
	// expired, on hold, or expiring before the next visit.
	Pull []PullLine `json:"pull,omitempty"`
}

// BuildPickList plans the load that fills every slot of the chosen
// candidates to its par level, rounded up to case packs, products ordered by id.
//
// With the slots' lots known, a slot is filled counting only the units
// still good at the next visit, a week after at (BuildPickListUntil says
// when), and the list says which units to pull (PickList.Pull).
func BuildPickList(cands []hqapi.Candidate, at time.Time) PickList {
	return BuildPickListUntil(cands, at, at.Add(DefaultVisitEvery))
}

// BuildPickListUntil is BuildPickList for a next visit at next.
func BuildPickListUntil(cands []hqapi.Candidate, at, next time.Time) PickList {
	today, goodUntil := at.Format(time.DateOnly), next.Format(time.DateOnly)
	pl := PickList{BuiltAt: at.UTC(), Sites: []string{}, Lines: []PickLine{}, Slots: []PlannedSlot{}}
	byProduct := map[string]*PickLine{}
	for _, c := range cands {
		pl.Sites = append(pl.Sites, c.Site)
		for _, m := range c.Machines {
			for _, s := range m.Slots {
				need, pull := PlanSlot(s, today, goodUntil)
				for _, p := range pull {
					pl.Pull = append(pl.Pull, PullLine{Site: c.Site, MachineID: m.MachineID, ProductID: s.ProductID, Name: s.Name,
						Units: p.Quantity, ExpiryDate: p.ExpiryDate, Reason: p.Reason})
				}
				if need <= 0 {
					continue
				}
				pl.Slots = append(pl.Slots, PlannedSlot{Site: c.Site, MachineID: m.MachineID, ProductID: s.ProductID, Name: s.Name, Units: need})
				l := byProduct[s.ProductID]
				if l == nil {
					l = &PickLine{ProductID: s.ProductID, Name: s.Name}
					byProduct[s.ProductID] = l
				}
				l.Need += need
				if s.CasePack > l.CasePack {
					l.CasePack = s.CasePack
				}
				l.Machines = append(l.Machines, fmt.Sprintf("%s×%d", m.MachineID, need))
			}
		}
	}
	for _, l := range byProduct {
		l.Units = l.Need
		if l.CasePack > 0 {
			l.Cases = (l.Need + l.CasePack - 1) / l.CasePack
			l.Units = l.Cases * l.CasePack
		}
		pl.TotalUnits += l.Units
		pl.TotalCases += l.Cases
		pl.Lines = append(pl.Lines, *l)
	}
	sort.Slice(pl.Lines, func(i, j int) bool { return pl.Lines[i].ProductID < pl.Lines[j].ProductID })
	return pl
}

// Planned is the units the pick list planned for a slot and not yet added
// (0 if none).
func (p *PickList) Planned(machineID, productID string) (int64, bool) {
	if p == nil {
		return 0, false
	}
	for _, s := range p.Slots {
		if s.MachineID == machineID && s.ProductID == productID {
			return max(0, s.Units-s.Done), true
		}
	}
	return 0, false
}

// markDone counts a delivered restock's added units against the plan.
func (p *PickList) markDone(r Restock) {
	if p == nil {
		return
	}
	for _, it := range r.Items {
		for i := range p.Slots {
			s := &p.Slots[i]
			if s.MachineID == r.MachineID && s.ProductID == it.ProductID && (r.SiteID == "" || s.Site == r.SiteID) {
				s.Done += it.Added
			}
		}
	}
}

// CSV renders the pick list as CSV with a header row and a totals row.
func (p PickList) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"product_id", "name", "need", "units", "case_pack", "cases", "machines"})
	for _, l := range p.Lines {
		w.Write([]string{l.ProductID, l.Name, itoa(l.Need), itoa(l.Units), itoa(l.CasePack), itoa(l.Cases), strings.Join(l.Machines, " ")})
	}
	w.Write([]string{"TOTAL", "", "", itoa(p.TotalUnits), "", itoa(p.TotalCases), ""})
	w.Flush()
	return b.Bytes()
}

// Text renders the pick list as an aligned table for printing.
func (p PickList) Text() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "PICK LIST  %s  sites: %s\n\n", p.BuiltAt.Format("2006-01-02 15:04 MST"), strings.Join(p.Sites, ", "))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PRODUCT\tNAME\tNEED\tUNITS\tCASES\n")
	for _, l := range p.Lines {
		cases := "-"
		if l.CasePack > 0 {
			cases = fmt.Sprintf("%d×%d", l.Cases, l.CasePack)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", l.ProductID, l.Name, l.Need, l.Units, cases)
	}
	fmt.Fprintf(tw, "TOTAL\t\t\t%d\t%d\n", p.TotalUnits, p.TotalCases)
	tw.Flush()
	b.WriteString("\nBY MACHINE\n")
	for _, l := range p.Lines {
		fmt.Fprintf(&b, "  %s: %s\n", l.ProductID, strings.Join(l.Machines, ", "))
	}
	if len(p.Pull) > 0 {
		b.WriteString("\nPULL (expired, on hold, or expiring before the next visit)\n")
		for _, l := range p.Pull {
			fmt.Fprintf(&b, "  %s %s %s: %d %s %s\n", l.Site, l.MachineID, l.ProductID, l.Units, l.Reason, l.ExpiryDate)
		}
	}
	return b.Bytes()
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// KitCSV is the pre-kitting list: per machine, in slot order, what goes
// into which slot — one row per label.
func (p PickList) KitCSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"site", "machine_id", "slot", "product_id", "name", "units"})
	n := map[string]int{}
	for _, s := range p.Slots {
		n[s.Site+"/"+s.MachineID]++
		w.Write([]string{s.Site, s.MachineID, strconv.Itoa(n[s.Site+"/"+s.MachineID]), s.ProductID, s.Name, itoa(s.Units)})
	}
	w.Flush()
	return b.Bytes()
}

// KitText is the pre-kitting list as printable labels: one block per
// machine, its slots in order.
func (p PickList) KitText() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "KITS  data of %s  sites: %s\n", p.BuiltAt.Format("2006-01-02 15:04 MST"), strings.Join(p.Sites, ", "))
	last := ""
	var total int64
	for _, s := range p.Slots {
		if k := s.Site + "/" + s.MachineID; k != last {
			if last != "" {
				fmt.Fprintf(&b, "  total %d units\n", total)
			}
			fmt.Fprintf(&b, "\n┌ KIT %s · site %s\n", s.MachineID, s.Site)
			last, total = k, 0
		}
		fmt.Fprintf(&b, "  [ ] %-12s %-24s %4d\n", s.ProductID, s.Name, s.Units)
		total += s.Units
	}
	if last != "" {
		fmt.Fprintf(&b, "  total %d units\n", total)
	}
	return b.Bytes()
}
