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
	d.addN(r, 1, qty, rev)
}

func (d *Deltas) addN(r Row, tx, qty, rev int64) {
	v := d.Rows[r]
	if v == nil {
		v = &Totals{}
		d.Rows[r] = v
	}
	v.Tx += tx
	v.Quantity += qty
	v.Revenue += rev
}

// AddSale counts s in every row it belongs to: each window (bucketed in
// loc, the site's timezone), each dimension, each scope.
func (d *Deltas) AddSale(s Sale, loc *time.Location) {
	d.addKeys(s, bucket.Keys(s.At, loc), 1, s.Quantity, s.Revenue)
}

// addKeys counts tx sales of s's site, city, machine and product, of qty
// units and rev cents in all, in the buckets keys (one per window of
// bucket.All).
func (d *Deltas) addKeys(s Sale, keys [4]int64, tx, qty, rev int64) {
	for i, w := range bucket.All {
		win, b := string(w), keys[i]
		d.addN(Row{DimMachine, win, s.Site, s.City, b, s.Machine}, tx, qty, rev)
		d.addN(Row{DimSite, win, s.Site, s.City, b, s.Site}, tx, qty, rev)
		d.addN(Row{DimCity, win, s.Site, s.City, b, s.City}, tx, qty, rev)
		d.addN(Row{DimCity, win, ScopeCity, s.City, b, s.City}, tx, qty, rev)
		d.addN(Row{DimProduct, win, s.Site, s.City, b, s.Product}, tx, qty, rev)
		d.addN(Row{DimProduct, win, ScopeCity, s.City, b, s.Product}, tx, qty, rev)
		d.addN(Row{DimProduct, win, ScopeFleet, "", b, s.Product}, tx, qty, rev)
	}
	d.Scopes[Scope{s.Site, s.City}] = struct{}{}
}

// hourSums sums one site's sales per city, machine, product and hour
// bucket before they go into Deltas: a batch holds many sales of a machine
// product in an hour, and each costs 28 row lookups in Deltas, one per
// window, dimension and scope. The hour's bucket names the day, week and
// month ones (naive-local buckets nest), so the rows come out the same.
type hourSums map[hourKey]*hourSum

type hourKey struct {
	city, machine, product string
	hour                   int64
}

type hourSum struct {
	sale         Sale // the first, for its site, city, machine and product
	keys         [4]int64
	tx, qty, rev int64
}

// add counts s (of the one site the sums are for), bucketed in loc.
func (h hourSums) add(s Sale, loc *time.Location) {
	keys := bucket.Keys(s.At, loc)
	k := hourKey{s.City, s.Machine, s.Product, keys[0]}
	v := h[k]
	if v == nil {
		v = &hourSum{sale: s, keys: keys}
		h[k] = v
	}
	v.tx++
	v.qty += s.Quantity
	v.rev += s.Revenue
}

// into adds the sums to d.
func (h hourSums) into(d *Deltas) {
	for _, v := range h {
		d.addKeys(v.sale, v.keys, v.tx, v.qty, v.rev)
	}
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
