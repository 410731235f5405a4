package route

import (
	"context"
	"fmt"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// LotSource is a Source that also knows the machines' lots (the read
// model): route candidates then carry each slot's lots, so the driver's
// pick list counts only units still good at the next visit.
type LotSource interface {
	Lots(ctx context.Context, q readmodel.LotQuery) ([]readmodel.Lot, error)
}

type lotMachine struct{ site, machine string }

// siteLots reads every lot holding units once, by machine (nil when src
// does not know lots).
func siteLots(ctx context.Context, src Source) (map[lotMachine][]readmodel.Lot, error) {
	ls, ok := src.(LotSource)
	if !ok {
		return nil, nil
	}
	all, err := ls.Lots(ctx, readmodel.LotQuery{Limit: 1 << 30})
	if err != nil {
		return nil, fmt.Errorf("route: lots: %w", err)
	}
	out := map[lotMachine][]readmodel.Lot{}
	for _, l := range all {
		k := lotMachine{l.Site, l.MachineID}
		out[k] = append(out[k], l)
	}
	return out, nil
}

// attachLots gives each slot its lots (first expiry first, as read).
func attachLots(slots []Slot, lots []readmodel.Lot) {
	for i := range slots {
		for _, l := range lots {
			if l.ProductID == slots[i].ProductID {
				slots[i].Lots = append(slots[i].Lots, hqapi.SlotLot{ExpiryDate: l.ExpiryDate, Quantity: l.Quantity, Status: l.Status})
			}
		}
	}
}
