package lot

import (
	"fmt"
	"sort"
	"time"

	"github.com/vendsync/vendsync/edge/alert"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/errs"
)

// Temperature is told of every temperature reading of a machine: highSince
// is when its temperature went above its limit (zero: it is not), at the
// reading's time. When the excursion has lasted the food-safety window, the
// machine's perishable lots go on hold and TEMPERATURE_LOCKOUT opens, once
// per excursion: a driver's release is not undone by the next hot reading
// of the same excursion. It implements telemetry.TemperatureWatcher.
func (r *Rules) Temperature(t *ingest.Tx, machineID string, highSince, at time.Time) error {
	if highSince.IsZero() || at.Sub(highSince) < r.cfg.FoodSafetyWindow {
		return nil
	}
	since := highSince.UnixMilli()
	if r.locked[machineID] == since {
		return nil
	}
	if _, err := t.Exec(r.insertLockout, machineID, since, at.UnixMilli()); err != nil {
		return fmt.Errorf("record lockout: %w", err)
	}
	r.locked[machineID] = since
	c := Change{Reason: ReasonHold, Ref: fmt.Sprintf("lockout:%d", since), By: "system"}
	var held, units int64
	for _, l := range r.machineLots(machineID) {
		if l.Status != Sellable || !r.perishable[l.ProductID] {
			continue
		}
		if err := r.setLotStatus(t, l, Hold, "TEMPERATURE_LOCKOUT", c); err != nil {
			return err
		}
		held++
		units += l.Qty
	}
	if held == 0 {
		return nil
	}
	return alert.Lockout(t, machineID, true, func() string {
		return fmt.Sprintf("above its temperature limit since %s, longer than %s: %d perishable lot(s), %d unit(s) on hold",
			highSince.UTC().Format(time.RFC3339), r.cfg.FoodSafetyWindow, held, units)
	}, "")
}

// machineLots are the lots of a machine holding units, by product then
// first expiry first.
func (r *Rules) machineLots(machineID string) []*Lot {
	var keys []slotKey
	for k := range r.slots {
		if k.machine == machineID {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].product < keys[j].product })
	var out []*Lot
	for _, k := range keys {
		out = append(out, r.slots[k]...)
	}
	return out
}

// Release actions.
const (
	// ActionRelease makes held lots sellable again (the driver checked them).
	ActionRelease = "RELEASE"
	// ActionDiscard removes held lots from the machine as spoiled.
	ActionDiscard = "DISCARD"
)

// Released is one held lot a driver released or discarded.
type Released struct {
	LotID     int64
	ProductID string
	// Qty is the units released or discarded.
	Qty    int64
	Action string
}

// Release releases or discards (action) the held lots of a machine, all of
// them or those in lotIDs, as done by by. Discarded units leave the lot;
// the caller takes them off the slot. When no held lot is left on the
// machine, TEMPERATURE_LOCKOUT closes. It returns an errs.Invalid error for
// an unknown action or a lot id that is not a held lot of the machine.
func (r *Rules) Release(t *ingest.Tx, machineID, action string, lotIDs []int64, by string) ([]Released, error) {
	if action != ActionRelease && action != ActionDiscard {
		return nil, errs.Invalidf("action", "action %q: use %s or %s", action, ActionRelease, ActionDiscard)
	}
	want := map[int64]bool{}
	for _, id := range lotIDs {
		want[id] = true
	}
	var picked []*Lot
	for _, l := range r.machineLots(machineID) {
		if l.Status == Hold && (len(want) == 0 || want[l.ID]) {
			picked = append(picked, l)
			delete(want, l.ID)
		}
	}
	for id := range want {
		return nil, errs.Invalidf("lotIds", "lot %d is not a held lot of machine %q", id, machineID)
	}
	c := Change{Reason: ReasonRelease, Ref: "release", By: by}
	out := []Released{}
	for _, l := range picked {
		rl := Released{LotID: l.ID, ProductID: l.ProductID, Qty: l.Qty, Action: action}
		var err error
		if action == ActionRelease {
			err = r.setLotStatus(t, l, Sellable, "", c)
		} else {
			d := Change{Reason: ReasonSpoiled, Ref: "discard", By: by}
			err = r.setLotQty(t, l, 0, d)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rl)
	}
	for _, l := range r.machineLots(machineID) {
		if l.Status == Hold {
			return out, nil
		}
	}
	if _, err := t.Exec(r.releaseLockout, t.Now().UnixMilli(), by, machineID); err != nil {
		return nil, fmt.Errorf("release lockout: %w", err)
	}
	return out, alert.Lockout(t, machineID, false, nil, "RELEASED_BY_"+by)
}
