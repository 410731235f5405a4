package tui

import (
	"time"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// DefaultVisitEvery is how long until a route's next visit when the pick
// list is planned: a unit that expires before then is not counted as
// stock, and is pulled.
const DefaultVisitEvery = 7 * 24 * time.Hour

// Reasons a pull line gives.
const (
	PullExpired = "EXPIRED"
	PullHold    = "HOLD"
	PullAtRisk  = "AT_RISK" // good today, expired by the next visit
)

// PullLine is units the driver takes out of a machine's slot.
type PullLine struct {
	Site       string `json:"site"`
	MachineID  string `json:"machineId"`
	ProductID  string `json:"productId"`
	Name       string `json:"name,omitempty"`
	Units      int64  `json:"units"`
	ExpiryDate string `json:"expiryDate,omitempty"`
	Reason     string `json:"reason"`
}

// Pull is one lot PlanSlot says to take out.
type Pull struct {
	Quantity   int64
	ExpiryDate string
	Reason     string
}

// PlanSlot is what a visit does to one slot: the units that fill it to par
// counting only the units still good on goodUntil (the next visit's date,
// YYYY-MM-DD), and the lots to pull (expired on today, on hold, or
// expiring before goodUntil). A slot without lots (central has not heard
// of them) is planned on its count alone, as before lots. A forecast may
// replace the par here: this is the one place the fill is decided.
func PlanSlot(s hqapi.Slot, today, goodUntil string) (fill int64, pull []Pull) {
	if len(s.Lots) == 0 {
		return s.Need(), nil
	}
	var good int64
	for _, l := range s.Lots {
		switch {
		case l.Quantity <= 0:
		case l.Status == "HOLD":
			pull = append(pull, Pull{Quantity: l.Quantity, ExpiryDate: l.ExpiryDate, Reason: PullHold})
		case l.ExpiryDate != "" && l.ExpiryDate < today:
			pull = append(pull, Pull{Quantity: l.Quantity, ExpiryDate: l.ExpiryDate, Reason: PullExpired})
		case l.ExpiryDate != "" && l.ExpiryDate < goodUntil:
			pull = append(pull, Pull{Quantity: l.Quantity, ExpiryDate: l.ExpiryDate, Reason: PullAtRisk})
		default:
			good += l.Quantity
		}
	}
	return max(0, s.ParLevel-good), pull
}
