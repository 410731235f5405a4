package aggregate

import (
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// Scope markers in a row's Site: never valid site ids.
const (
	ScopeCity  = "*"  // all sites of one city
	ScopeFleet = "**" // the whole fleet (city "")
)

// Dimension names (a row's Dim).
const (
	DimMachine = "machine"
	DimSite    = "site"
	DimCity    = "city"
	DimProduct = "product"
)

// Row identifies one aggregate row: the totals of sales with key Key in
// dimension Dim, in bucket Bucket of window Win, within Site (or a scope
// marker) and City. See migrations/central/0001_init.sql.
type Row struct {
	Dim, Win   string
	Site, City string
	Bucket     int64
	Key        string
}

// Totals is what a row sums.
type Totals struct {
	Tx, Quantity, Revenue int64
}

// Scope is a (site, city) pair that has sales.
type Scope struct{ Site, City string }

// Sale is a sale as aggregates count it.
type Sale struct {
	Site, City, Machine, Product string
	Quantity, Revenue            int64
	At                           time.Time
}

// Deltas is what a set of sales adds to aggregate rows, each row once, and
// the scopes they fall in.
type Deltas struct {
	Rows   map[Row]*Totals
	Scopes map[Scope]struct{}
}

// NewDeltas returns empty deltas.
func NewDeltas() *Deltas {
	return &Deltas{Rows: map[Row]*Totals{}, Scopes: map[Scope]struct{}{}}
}

func (d *Deltas) add(r Row, qty, rev int64) {
	v := d.Rows[r]
	if v == nil {
		v = &Totals{}
		d.Rows[r] = v
	}
	v.Tx++
	v.Quantity += qty
	v.Revenue += rev
}

// AddSale counts s in every row it belongs to: each window (bucketed in
// loc, the site's timezone), each dimension, each scope.
func (d *Deltas) AddSale(s Sale, loc *time.Location) {
	keys := bucket.Keys(s.At, loc)
	for i, w := range bucket.All {
		win, b := string(w), keys[i]
		d.add(Row{DimMachine, win, s.Site, s.City, b, s.Machine}, s.Quantity, s.Revenue)
		d.add(Row{DimSite, win, s.Site, s.City, b, s.Site}, s.Quantity, s.Revenue)
		d.add(Row{DimCity, win, s.Site, s.City, b, s.City}, s.Quantity, s.Revenue)
		d.add(Row{DimCity, win, ScopeCity, s.City, b, s.City}, s.Quantity, s.Revenue)
		d.add(Row{DimProduct, win, s.Site, s.City, b, s.Product}, s.Quantity, s.Revenue)
		d.add(Row{DimProduct, win, ScopeCity, s.City, b, s.Product}, s.Quantity, s.Revenue)
		d.add(Row{DimProduct, win, ScopeFleet, "", b, s.Product}, s.Quantity, s.Revenue)
	}
	d.Scopes[Scope{s.Site, s.City}] = struct{}{}
}

// Minus returns d less m, without the rows that no sale is left in. Neither
// d nor m changes; the result shares d's scopes.
func (d *Deltas) Minus(m *Deltas) *Deltas {
	out := &Deltas{Rows: make(map[Row]*Totals, len(d.Rows)), Scopes: d.Scopes}
	for r, v := range d.Rows {
		t := *v
		if x := m.Rows[r]; x != nil {
			t.Tx, t.Quantity, t.Revenue = t.Tx-x.Tx, t.Quantity-x.Quantity, t.Revenue-x.Revenue
		}
		if t.Tx != 0 {
			out.Rows[r] = &t
		}
	}
	return out
}
