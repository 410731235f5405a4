package forecast

import (
	"time"

	"github.com/vendsync/vendsync/sync/bucket"
)

// SlotKey names one product on one machine of a site.
type SlotKey struct{ Machine, Product string }

// Event is a site fact that tells a slot's sales or stock: a sale (Sold > 0,
// After the count after it when the site sent one), a stock movement or an
// inventory change (After set).
type Event struct {
	Slot SlotKey
	At   time.Time
	Sold int64
	// After is the slot's count after the event, when known.
	After *int64
}

// Level is a slot's reconstructed stock: Units since the instant At (unix
// ms). First is the first day the slot was seen (the first day its model
// folds).
type Level struct {
	Units int64
	At    int64
	First int64
}

// Unknown is the level of a slot whose count no event has told yet: taken
// as stocked, so its hours are not censored.
const Unknown = 1 << 40

// HourKey is one slot's local hour: Hour is naive-local unix seconds of the
// hour's start (see sync/bucket).
type HourKey struct {
	Slot SlotKey
	Hour int64
}

// Hour is what a slot sold in one local hour and how long (ms) it was
// empty in it.
type Hour struct {
	Sold    int64
	EmptyMS int64
}

// Fold reconstructs slot stock from a site's events in their order and
// turns them into hourly observations: sales per hour, and the time within
// each hour the slot was empty. Levels and Hours hold what changed; the
// job persists them.
type Fold struct {
	Loc    *time.Location
	Levels map[SlotKey]Level
	Hours  map[HourKey]Hour
	// Touched names the slots whose level changed.
	Touched map[SlotKey]bool
}

// NewFold starts a fold for a site in loc from the levels last persisted.
func NewFold(loc *time.Location, levels map[SlotKey]Level) *Fold {
	if levels == nil {
		levels = map[SlotKey]Level{}
	}
	return &Fold{Loc: loc, Levels: levels, Hours: map[HourKey]Hour{}, Touched: map[SlotKey]bool{}}
}

// Add folds one event: its sale into its hour and, when the slot was
// empty before it, the empty time up to it; then the slot's new level (the
// event's After, or the old level less what sold).
func (f *Fold) Add(e Event) {
	at := e.At.UnixMilli()
	l, known := f.Levels[e.Slot]
	if !known {
		l = Level{Units: 0, At: at, First: LocalDay(e.At, f.Loc)}
		if e.After == nil { // a sale of a slot whose stock we never saw
			l.Units = Unknown
		}
	}
	if l.Units <= 0 && at > l.At {
		f.empty(e.Slot, l.At, at)
	}
	if at > l.At {
		l.At = at
	}
	if e.Sold > 0 {
		k := HourKey{e.Slot, bucket.Key(bucket.Hour, e.At, f.Loc)}
		h := f.Hours[k]
		h.Sold += e.Sold
		f.Hours[k] = h
	}
	switch {
	case e.After != nil:
		l.Units = *e.After
	case l.Units != Unknown:
		l.Units = max(0, l.Units-e.Sold)
	}
	f.Levels[e.Slot] = l
	f.Touched[e.Slot] = true
}

// CloseThrough counts the empty time of every slot still empty up to the
// instant t (the end of the last day the job folds), so a slot that sold
// out and saw no event since still shows its empty hours.
func (f *Fold) CloseThrough(t time.Time) {
	at := t.UnixMilli()
	for k, l := range f.Levels {
		if l.Units <= 0 && at > l.At {
			f.empty(k, l.At, at)
			l.At = at
			f.Levels[k] = l
			f.Touched[k] = true
		}
	}
}

// empty adds the span [from, to) (unix ms) to the slot's empty time, hour
// by local hour.
func (f *Fold) empty(slot SlotKey, from, to int64) {
	for from < to {
		t := time.UnixMilli(from)
		hour := bucket.Key(bucket.Hour, t, f.Loc)
		// The next local hour starts when the wall clock reaches it (an
		// offset such as +05:30 makes that no whole UTC hour; a DST change
		// inside the span is ignored).
		n := bucket.Naive(t, f.Loc)
		next := from + n.Truncate(time.Hour).Add(time.Hour).Sub(n).Milliseconds()
		end := min(to, next)
		k := HourKey{slot, hour}
		h := f.Hours[k]
		h.EmptyMS += end - from
		f.Hours[k] = h
		from = end
	}
}

// LocalDay returns t's day in loc: days since 1970-01-01 on the local
// calendar.
func LocalDay(t time.Time, loc *time.Location) int64 {
	return bucket.Key(bucket.Day, t, loc) / 86400
}

// Days builds the model's input for days from..to (inclusive) of one slot
// from its hourly observations (naive-local hour → observation).
func Days(from, to int64, hours map[int64]Hour) []Day {
	out := make([]Day, 0, max(0, to-from+1))
	for d := from; d <= to; d++ {
		day := Day{Day: d}
		for h := range 24 {
			o := hours[d*86400+int64(h)*3600]
			day.Sold[h] = float64(o.Sold)
			day.Empty[h] = min(1, float64(o.EmptyMS)/float64(time.Hour/time.Millisecond))
		}
		out = append(out, day)
	}
	return out
}
