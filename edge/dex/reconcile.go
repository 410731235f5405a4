package dex

import (
	"slices"
)

// Ledger is what the site recorded for one product of a machine in a
// period: units sold and their value in cents.
type Ledger struct {
	Count, Value int64
}

// Catalog is the machine as the edge knows it: its products' prices in
// cents, by product id.
type Catalog map[string]int64

// MapSelection finds the product a selection holds. The mapping the edge
// uses: a selection is a slot, and a slot's id is its product id, so PA101
// is looked up as a product id first; a machine whose selections are
// numbered instead (10, 11, …) is matched by PA103, the product identifier,
// when that is one of the machine's products. "" when neither is.
func (c Catalog) MapSelection(p *Product) string {
	if _, ok := c[p.Selection]; ok {
		return p.Selection
	}
	if _, ok := c[p.ProductID]; ok && p.ProductID != "" {
		return p.ProductID
	}
	return ""
}

// Line is one selection's (or one ledger-only product's) comparison.
type Line struct {
	Selection string
	ProductID string
	// Machine is the machine's own count and value in the period.
	Machine Counter
	Ledger  Ledger
	// Unreported is what the machine counted beyond the ledger; Missing
	// what the ledger holds beyond the machine's count.
	Unreported, Missing Counter
	MachinePrice        int64
	// CatalogPrice is the edge's price (HasCatalog false when the selection
	// maps to no product); PriceMismatch when the machine sells at a price
	// that is not it.
	CatalogPrice  int64
	HasCatalog    bool
	PriceMismatch bool
}

// Result is a reconciliation: lines in selection order, then ledger-only
// products, with their sums.
type Result struct {
	Lines                []Line
	Machine              Counter
	Ledger               Ledger
	Unreported, Missing  Counter
	PriceMismatches      int
	TestVends, FreeVends Counter
	ResetSelections      []string
}

// delta is what a meter counted between two reads. The since-init
// counters never reset, so their difference is exact; when they are
// missing or went down (the controller was re-initialised) the later
// read's since-reset counters stand in, as a read usually resets them.
// reset reports that the fallback was taken with since-init counters that
// went down.
func delta(prev *Meter, cur Meter) (d Counter, reset bool) {
	if prev != nil && prev.HasInit && cur.HasInit {
		if cur.Init.Count >= prev.Init.Count && cur.Init.Value >= prev.Init.Value {
			return Counter{Count: cur.Init.Count - prev.Init.Count, Value: cur.Init.Value - prev.Init.Value}, false
		}
		reset = true
	}
	if cur.HasReset {
		return cur.Reset, reset
	}
	if prev == nil && cur.HasInit {
		// A selection new since the last read: all it counted is new.
		return cur.Init, false
	}
	return Counter{}, reset
}

// Reconcile compares the machine's counts between reads prev and cur with
// the ledger of the same period (by product id) and the catalog prices.
func Reconcile(prev, cur *Audit, ledger map[string]Ledger, cat Catalog) Result {
	var res Result
	seen := map[string]bool{}
	for i := range cur.Products {
		p := &cur.Products[i]
		var before *Meter
		if pp := prev.Product(p.Selection); pp != nil {
			before = &pp.Sales
		}
		d, reset := delta(before, p.Sales)
		if reset {
			res.ResetSelections = append(res.ResetSelections, p.Selection)
		}
		l := Line{Selection: p.Selection, ProductID: cat.MapSelection(p), Machine: d, MachinePrice: p.Price}
		if l.ProductID != "" && !seen[l.ProductID] {
			// Two selections of one product: the ledger goes with the first.
			seen[l.ProductID] = true
			l.Ledger = ledger[l.ProductID]
		}
		if price, ok := cat[l.ProductID]; ok && l.ProductID != "" {
			l.CatalogPrice, l.HasCatalog = price, true
			l.PriceMismatch = p.Price > 0 && p.Price != price && !slices.Contains(p.Prices, price)
		}
		res.Lines = append(res.Lines, l)
	}
	var rest []string
	for id, lg := range ledger {
		if !seen[id] && (lg.Count != 0 || lg.Value != 0) {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	for _, id := range rest {
		l := Line{ProductID: id, Ledger: ledger[id]}
		if price, ok := cat[id]; ok {
			l.CatalogPrice, l.HasCatalog = price, true
		}
		res.Lines = append(res.Lines, l)
	}
	for i := range res.Lines {
		l := &res.Lines[i]
		l.Unreported = Counter{Count: max(0, l.Machine.Count-l.Ledger.Count), Value: max(0, l.Machine.Value-l.Ledger.Value)}
		l.Missing = Counter{Count: max(0, l.Ledger.Count-l.Machine.Count), Value: max(0, l.Ledger.Value-l.Machine.Value)}
		res.Machine.Count += l.Machine.Count
		res.Machine.Value += l.Machine.Value
		res.Ledger.Count += l.Ledger.Count
		res.Ledger.Value += l.Ledger.Value
		res.Unreported.Count += l.Unreported.Count
		res.Unreported.Value += l.Unreported.Value
		res.Missing.Count += l.Missing.Count
		res.Missing.Value += l.Missing.Value
		if l.PriceMismatch {
			res.PriceMismatches++
		}
	}
	res.TestVends, _ = delta(meterOrNil(prev.TestVends), cur.TestVends)
	res.FreeVends, _ = delta(meterOrNil(prev.FreeVends), cur.FreeVends)
	return res
}

func meterOrNil(m Meter) *Meter {
	if !m.HasInit && !m.HasReset {
		return nil
	}
	return &m
}
