// Package purchasing holds the rules of buying stock for the depots, free of
// storage: the purchase-order state machine, what a receipt may receive,
// and replenishment suggestions (demand over the supplier's lead time plus
// safety stock, less what is on hand and on order, rounded up to case
// packs). Rules return internal/errs errors.
package purchasing

import (
	"context"
	"math"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
)

// Status is a purchase order's state.
type Status string

// The states of a purchase order:
//
//	DRAFT ──send──▶ SENT ──receive──▶ PARTIALLY_RECEIVED ──receive──▶ RECEIVED
//	  │               │                        │
//	  └───cancel──────┴────────cancel──────────┴──▶ CANCELLED
//
// Cancelling a partially received order closes it: what arrived stays.
const (
	Draft             Status = "DRAFT"
	Sent              Status = "SENT"
	PartiallyReceived Status = "PARTIALLY_RECEIVED"
	Received          Status = "RECEIVED"
	Cancelled         Status = "CANCELLED"
)

// CodeState is the error code of a transition the order's state forbids.
const CodeState = "PO_STATE"

// Send returns the status after sending an order in status s.
func Send(id string, s Status) (Status, error) {
	if s != Draft {
		return s, stateErr(id, s, "send", "only a DRAFT can be sent")
	}
	return Sent, nil
}

// Cancel returns the status after cancelling an order in status s.
func Cancel(id string, s Status) (Status, error) {
	switch s {
	case Draft, Sent, PartiallyReceived:
		return Cancelled, nil
	}
	return s, stateErr(id, s, "cancel", "a RECEIVED or CANCELLED order is closed")
}

// CanReceive returns an error unless an order in status s may receive.
func CanReceive(id string, s Status) error {
	switch s {
	case Sent, PartiallyReceived:
		return nil
	}
	return stateErr(id, s, "receive", "send it first, or it is closed")
}

// AfterReceipt is the status once lines hold what has been received: all
// ordered quantities in full is RECEIVED, anything less PARTIALLY_RECEIVED.
func AfterReceipt(lines []Line) Status {
	for _, l := range lines {
		if l.Received < l.Quantity {
			return PartiallyReceived
		}
	}
	return Received
}

func stateErr(id string, s Status, action, why string) error {
	return errs.Errorf(errs.Conflict, CodeState, "status", "purchase order %s is %s: cannot %s (%s)", id, s, action, why)
}

// Line is an order line as the rules see it.
type Line struct {
	Line      int
	ProductID string
	Quantity  int64
	Received  int64
}

// CheckLine validates a new order line (field names the JSON path).
func CheckLine(field string, qty, casePack int64) error {
	if qty <= 0 {
		return errs.Invalidf(field+".quantity", "quantity %d: must be positive", qty)
	}
	if casePack > 1 && qty%casePack != 0 {
		return errs.Errorf(errs.Unprocessable, "CASE_PACK", field+".quantity",
			"quantity %d is not a whole number of cases of %d", qty, casePack)
	}
	return nil
}

// CheckReceipt validates receiving qty more of l (field names the JSON
// path): a positive quantity, no more than is still outstanding.
func CheckReceipt(field string, l Line, qty int64) error {
	if qty <= 0 {
		return errs.Invalidf(field+".quantity", "quantity %d: must be positive", qty)
	}
	if left := l.Quantity - l.Received; qty > left {
		return errs.Errorf(errs.Unprocessable, "OVER_RECEIPT", field+".quantity",
			"line %d (%s): receiving %d but only %d of %d are outstanding", l.Line, l.ProductID, qty, left, l.Quantity)
	}
	return nil
}

// CheckExpiry validates an optional lot expiry date (YYYY-MM-DD).
func CheckExpiry(field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return errs.Invalidf(field, "expiry date %q: use YYYY-MM-DD", v)
	}
	return nil
}

// DemandSource estimates the daily demand a depot supplies. The 28-day
// average of the read model is the default; a forecast can replace it.
type DemandSource interface {
	// DailyDemand returns expected units per day for each product the
	// depot supplies, as of asOf; products it has no history for are
	// absent. Name says where the figures come from, for the answer.
	DailyDemand(ctx context.Context, depotID string, asOf time.Time) (map[string]float64, error)
	Name() string
}

// Need is what replenishment knows of one product at one depot.
type Need struct {
	DailyDemand  float64
	LeadTimeDays int64
	SafetyDays   float64
	OnHand       int64
	OnOrder      int64
	CasePack     int64
}

// Suggest returns the quantity to order: demand over the lead time plus
// safety stock (SafetyDays of demand), less on hand and on order, rounded up
// to whole case packs; never negative.
func Suggest(n Need) int64 {
	target := n.DailyDemand * (float64(n.LeadTimeDays) + n.SafetyDays)
	short := target - float64(n.OnHand+n.OnOrder)
	if short <= 1e-9 {
		return 0
	}
	units := int64(math.Ceil(short - 1e-9))
	if p := n.CasePack; p > 1 {
		units = (units + p - 1) / p * p
	}
	return units
}
