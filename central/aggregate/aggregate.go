// Package aggregate holds central's aggregation rules as pure functions: a
// batch of a site's envelope events in, what it changes in a read model out
// (sales totals per bucket and dimension, latest states of machines, stock,
// faults, alerts and telemetry). Nothing here does I/O; central/readmodel
// applies the results to its store.
//
// Decode is the only place central decodes an event: once, when a batch
// arrives.
package aggregate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// ErrInvalid wraps every reason Decode refuses a batch: it can never apply.
var ErrInvalid = errors.New("invalid batch")

// Batch is one site's batch, decoded and pre-aggregated. It is not changed
// by applying it, so a failed apply can be retried with it.
type Batch struct {
	Site string
	// TZ is the timezone the batch was sent with; "" means the site's last
	// known one.
	TZ          string
	First, Last uint64
	// Loc is TZ's location (UTC when TZ is empty).
	Loc    *time.Location
	Events []Event
	// Sales indexes the events that are sales with their keys, in order.
	Sales []int
	// Deltas counts every sale of Sales once, bucketed in Loc.
	Deltas *Deltas
}

// Event is one decoded event of a batch.
type Event struct {
	Seq  uint64
	Kind envelope.Kind
	Time time.Time
	// JSON is the event as the site stored it.
	JSON []byte
	// Fact is its decoded data: *envelope.Sale, *envelope.Machine,
	// *envelope.Inventory, *StockCount (for a stock movement),
	// *envelope.Fault, *envelope.Alert or *envelope.Telemetry, not to be
	// changed. It is nil when the data cannot be decoded, lacks its key or is
	// of a kind this binary does not know: the event is then kept raw,
	// without effect.
	Fact any
}

// StockCount is a site's count of one product in one machine, carried by a
// stock movement or a sale.
type StockCount struct {
	MachineID, ProductID string
	After                int64
	// Movement is the stock event that carried the count; nil for a sale's.
	Movement *envelope.StockMovement
}

// Decode validates f, decodes each of its events once and buckets its
// sales. It returns an error wrapping ErrInvalid when f is malformed, names
// an unknown timezone or carries an event that is not one of its site's
// events in sequence.
func Decode(f *envelope.Frame) (*Batch, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	loc, err := Location(f.TZ)
	if err != nil {
		return nil, fmt.Errorf("%w: batch %s: timezone %q: %w", ErrInvalid, f.MsgID(), f.TZ, err)
	}
	b := &Batch{Site: f.Site, TZ: f.TZ, First: f.First, Last: f.Last, Loc: loc,
		Events: make([]Event, len(f.Events)), Deltas: NewDeltas()}
	sums := hourSums{}
	for i, raw := range f.Events {
		if seq, at, s, ok := decodeSaleEvent(raw, f.Site); ok && seq == f.First+uint64(i) {
			b.Events[i] = Event{Seq: seq, Kind: envelope.KindSale, Time: at, JSON: raw, Fact: s}
			b.Sales = append(b.Sales, i)
			sums.add(saleOf(b.Site, s, at), loc)
			continue
		}
		e, err := envelope.DecodeEvent(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: batch %s: event %d: %w", ErrInvalid, f.MsgID(), f.First+uint64(i), err)
		}
		if e.Site != f.Site || e.Seq != f.First+uint64(i) {
			return nil, fmt.Errorf("%w: batch %s: event %d is %s/%d", ErrInvalid, f.MsgID(), i, e.Site, e.Seq)
		}
		b.Events[i] = Event{Seq: e.Seq, Kind: e.Kind, Time: e.Time, JSON: raw, Fact: decodeFact(e.Kind, e.Data)}
		if s, ok := b.Events[i].Fact.(*envelope.Sale); ok {
			b.Sales = append(b.Sales, i)
			sums.add(saleOf(b.Site, s, e.Time), loc)
		}
	}
	sums.into(b.Deltas)
	return b, nil
}

// decodeFact decodes data of kind into its fact, or nil (see Event.Fact).
func decodeFact(kind envelope.Kind, data json.RawMessage) any {
	switch kind {
	case envelope.KindSale:
		var d envelope.Sale
		if json.Unmarshal(data, &d) != nil || d.TransactionID == "" || d.MachineID == "" || d.ProductID == "" {
			return nil
		}
		return &d
	case envelope.KindMachine:
		var d envelope.Machine
		if json.Unmarshal(data, &d) != nil || d.MachineID == "" {
			return nil
		}
		return &d
	case envelope.KindInventory:
		var d envelope.Inventory
		if json.Unmarshal(data, &d) != nil || d.MachineID == "" || d.ProductID == "" {
			return nil
		}
		return &d
	case envelope.KindStock:
		var d envelope.StockMovement
		if json.Unmarshal(data, &d) != nil || d.MachineID == "" || d.ProductID == "" {
			return nil
		}
		return &StockCount{MachineID: d.MachineID, ProductID: d.ProductID, After: d.After, Movement: &d}
	case envelope.KindFault:
		var d envelope.Fault
		if json.Unmarshal(data, &d) != nil || d.FaultID == 0 {
			return nil
		}
		return &d
	case envelope.KindAlert:
		var d envelope.Alert
		if json.Unmarshal(data, &d) != nil || d.AlertID == 0 {
			return nil
		}
		return &d
	case envelope.KindTelemetry:
		var d envelope.Telemetry
		if json.Unmarshal(data, &d) != nil || d.MachineID == "" {
			return nil
		}
		return &d
	}
	if d := decodeLease(kind, data); d != nil {
		return d
	}
	if d := decodeOrder(kind, data); d != nil {
		return d
	}
	if kind == envelope.KindLot {
		var d envelope.Lot
		if json.Unmarshal(data, &d) != nil || d.LotID == 0 || d.MachineID == "" || d.ProductID == "" {
			return nil
		}
		return &d
	}
	return decodeDEX(kind, data)
}

// Fact is a latest-state change: the state of one entity as of event Seq.
// A store keeps, per entity, the state of the highest Seq it was given.
type Fact struct {
	Seq  uint64
	Time time.Time
	// Data is *envelope.Machine, *envelope.Inventory, *StockCount,
	// *envelope.Fault, *envelope.Alert, *envelope.Telemetry, a DEX fact
	// or *envelope.Payment.
	Data any
}

// Facts returns the latest-state changes of b's new events (fresh[i] for
// b.Events[i]): each non-sale event's fact, and per machine product the
// stock count of its newest new sale that carries one.
func Facts(b *Batch, fresh []bool) []Fact {
	type key struct{ machine, product string }
	var out []Fact
	latest := map[key]int{} // index in out of the newest sale count
	for i := range b.Events {
		e := &b.Events[i]
		if !fresh[i] || e.Fact == nil {
			continue
		}
		s, ok := e.Fact.(*envelope.Sale)
		if !ok {
			out = append(out, Fact{Seq: e.Seq, Time: e.Time, Data: e.Fact})
			continue
		}
		for _, u := range s.Lots {
			out = append(out, Fact{Seq: e.Seq, Time: e.Time, Data: &LotUse{MachineID: s.MachineID, ProductID: s.ProductID, TransactionID: s.TransactionID, LotUse: u}})
		}
		if s.StockAfter == nil {
			continue
		}
		f := Fact{Seq: e.Seq, Time: e.Time, Data: &StockCount{MachineID: s.MachineID, ProductID: s.ProductID, After: *s.StockAfter}}
		k := key{s.MachineID, s.ProductID}
		if j, ok := latest[k]; ok {
			out[j] = f // events are in sequence order: this one is newer
			continue
		}
		latest[k] = len(out)
		out = append(out, f)
	}
	return out
}

// SaleRow is a sale as a read model records it: the key that makes it count
// once (TransactionID) and what it is counted under.
type SaleRow struct {
	Seq  uint64
	Time time.Time
	envelope.Sale
}

// NewSales returns the sales among b's new events, in order.
func NewSales(b *Batch, fresh []bool) []SaleRow {
	var out []SaleRow
	for _, i := range b.Sales {
		if fresh[i] {
			e := &b.Events[i]
			out = append(out, SaleRow{Seq: e.Seq, Time: e.Time, Sale: *e.Fact.(*envelope.Sale)})
		}
	}
	return out
}

// Counted returns the totals to add for b: the sales of NewSales(b, fresh)
// whose counts[i] is true (their transaction was new to the read model),
// bucketed in loc (the zone the site's sales are counted in, which differs
// from b.Loc when the batch came without one). The result may be b.Deltas
// itself: callers must not change it.
func Counted(b *Batch, fresh, counts []bool, loc *time.Location) *Deltas {
	all := len(counts) == len(b.Sales)
	for _, c := range counts {
		all = all && c
	}
	if all && loc == b.Loc {
		return b.Deltas
	}
	if loc != b.Loc {
		d := NewDeltas()
		for j, r := range NewSales(b, fresh) {
			if counts[j] {
				d.AddSale(saleOf(b.Site, &r.Sale, r.Time), loc)
			}
		}
		return d
	}
	minus := NewDeltas()
	j := 0
	for _, i := range b.Sales {
		e := &b.Events[i]
		if fresh[i] {
			j++
			if counts[j-1] {
				continue
			}
		}
		minus.AddSale(saleOf(b.Site, e.Fact.(*envelope.Sale), e.Time), loc)
	}
	return b.Deltas.Minus(minus)
}

func saleOf(site string, s *envelope.Sale, at time.Time) Sale {
	return Sale{Site: site, City: s.City, Machine: s.MachineID, Product: s.ProductID, Quantity: s.Quantity, Revenue: s.AmountCents, At: at}
}

// Tally is what applying a batch did to its events.
type Tally struct {
	// Applied counts the events that were new to the read model.
	Applied int
	// Duplicates counts the events that were already present.
	Duplicates int
	// Skipped counts new events without effect (no decodable fact): they
	// are kept raw and count toward the watermark.
	Skipped int
	// LastEvent is the latest event time among the new events (zero if
	// none).
	LastEvent time.Time
}

// Count tallies b's events given which were new.
func Count(b *Batch, fresh []bool) Tally {
	var t Tally
	for i := range b.Events {
		if !fresh[i] {
			t.Duplicates++
			continue
		}
		t.Applied++
		e := &b.Events[i]
		if e.Fact == nil {
			t.Skipped++
		}
		if e.Time.After(t.LastEvent) {
			t.LastEvent = e.Time
		}
	}
	return t
}

var locations sync.Map // IANA name → *time.Location

// Location resolves an IANA timezone name ("" and "UTC" are UTC), caching
// it. It returns time.LoadLocation's error for an unknown name.
func Location(tz string) (*time.Location, error) {
	if tz == "" || tz == "UTC" {
		return time.UTC, nil
	}
	if l, ok := locations.Load(tz); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	locations.Store(tz, l)
	return l, nil
}
