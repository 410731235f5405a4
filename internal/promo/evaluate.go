package promo

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// Line is one line of a basket: a product, how many, at which unit list
// price.
type Line struct {
	ProductID string     `json:"productId"`
	Quantity  int64      `json:"quantity"`
	UnitPrice wire.Money `json:"unitPrice"`
}

// Input is what Evaluate prices.
type Input struct {
	Lines []Line
	// Code is the promotion code the customer gave ("" for none).
	Code string
	// CustomerID is the customer's opaque loyalty token ("" for none);
	// PurchaseCount how many purchases that customer made before this one.
	CustomerID    string
	PurchaseCount int64
	// Now is the time of the sale; Location the site's timezone (UTC when
	// nil). SiteID and City place the site for promotion scopes.
	Now      time.Time
	Location *time.Location
	SiteID   string
	City     string
	// Quota grants redemptions of promotions with a quota (nil: none).
	Quota QuotaCheck
}

// PricedLine is a basket line after promotions.
type PricedLine struct {
	ProductID string     `json:"productId"`
	Quantity  int64      `json:"quantity"`
	UnitPrice wire.Money `json:"unitPrice"`
	List      wire.Money `json:"listAmount"`
	Discount  wire.Money `json:"discount"`
	Net       wire.Money `json:"netAmount"`
}

// Applied is one promotion that gave a discount.
type Applied struct {
	PromotionID string     `json:"promotionId"`
	Name        string     `json:"name"`
	Version     int64      `json:"version"`
	Discount    wire.Money `json:"discount"`
	// Lines are the indexes of the basket lines it discounted, LineDiscounts
	// what it took off each (same order).
	Lines         []int        `json:"lines"`
	LineDiscounts []wire.Money `json:"lineDiscounts"`
	Detail        string       `json:"detail"`
}

// Considered says what became of one promotion: applied, or why not.
type Considered struct {
	PromotionID string `json:"promotionId"`
	Applied     bool   `json:"applied"`
	Reason      string `json:"reason"`
}

// CodeStatus is what became of the code the basket gave.
type CodeStatus string

// The code statuses.
const (
	// CodeNone: no code was given.
	CodeNone CodeStatus = ""
	// CodeApplied: a promotion with the code applied.
	CodeApplied CodeStatus = "APPLIED"
	// CodeNotApplicable: the code is valid now but gave nothing on this
	// basket (its products are not in it, another promotion was exclusive,
	// no quota was left).
	CodeNotApplicable CodeStatus = "NOT_APPLICABLE"
	// CodeExpired: promotions carry the code but none is active now
	// (inactive, outside its window or dates, another site's).
	CodeExpired CodeStatus = "EXPIRED"
	// CodeUnknown: no promotion carries the code.
	CodeUnknown CodeStatus = "UNKNOWN"
)

// Result is a priced basket with its explanation.
type Result struct {
	Lines      []PricedLine `json:"lines"`
	Gross      wire.Money   `json:"grossAmount"`
	Discount   wire.Money   `json:"discount"`
	Net        wire.Money   `json:"netAmount"`
	Applied    []Applied    `json:"promotions"`
	Considered []Considered `json:"considered"`
	Code       CodeStatus   `json:"codeStatus,omitempty"`
}

// Order sorts promotions the way Evaluate considers them: higher priority
// first, then by id.
func Order(a, b Promotion) int {
	if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Evaluate prices a basket under promos. It is pure and deterministic: the
// same input and promotions give the same result whatever their order.
//
// Promotions are considered by priority (highest first), ties by id. One
// that is inactive, out of scope, outside its window, lacking its code or
// customer, or without quota is skipped with its reason. A stackable one
// adds its discount on the lines it matches; an exclusive one takes only
// lines nothing discounted yet, and nothing discounts them after it. Each
// discount is computed on list prices and rounded half-up per line; a line
// never goes below zero. Lines with a quantity or price ≤ 0 are priced as
// given (validating them is the caller's job).
func Evaluate(in Input, promos []Promotion) Result {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	local := in.Now.In(loc)
	code := NormalizeCode(in.Code)

	res := Result{Lines: make([]PricedLine, len(in.Lines)), Applied: []Applied{}, Considered: []Considered{}}
	for i, l := range in.Lines {
		list := wire.Money(int64(l.UnitPrice) * l.Quantity)
		res.Lines[i] = PricedLine{ProductID: l.ProductID, Quantity: l.Quantity, UnitPrice: l.UnitPrice, List: list, Net: list}
		res.Gross += list
	}
	locked := make([]bool, len(in.Lines))

	sorted := slices.Clone(promos)
	slices.SortStableFunc(sorted, Order)
	codeSeen, codeLive := false, false
	for _, p := range sorted {
		hasCode := p.Code != "" && NormalizeCode(p.Code) == code && code != ""
		codeSeen = codeSeen || hasCode
		reason := skipReason(p, in, local, code)
		if reason != "" {
			res.Considered = append(res.Considered, Considered{PromotionID: p.ID, Reason: reason})
			continue
		}
		codeLive = codeLive || hasCode
		eligible := make([]bool, len(in.Lines))
		anyLine := false
		for i, l := range res.Lines {
			if locked[i] || l.Net <= 0 || l.Quantity <= 0 || !p.matches(l.ProductID) {
				continue
			}
			if p.Stacking == Exclusive && l.Discount > 0 {
				continue
			}
			eligible[i], anyLine = true, true
		}
		if !anyLine {
			res.Considered = append(res.Considered, Considered{PromotionID: p.ID, Reason: noLineReason(p, res.Lines, locked)})
			continue
		}
		off, detail := p.discounts(res.Lines, eligible)
		a := Applied{PromotionID: p.ID, Name: p.Name, Version: p.Version, Detail: detail, Lines: []int{}, LineDiscounts: []wire.Money{}}
		for i, d := range off {
			d = min(d, res.Lines[i].Net)
			if d <= 0 {
				continue
			}
			res.Lines[i].Discount += d
			res.Lines[i].Net -= d
			a.Discount += d
			a.Lines = append(a.Lines, i)
			a.LineDiscounts = append(a.LineDiscounts, d)
			if p.Stacking == Exclusive {
				locked[i] = true
			}
		}
		if a.Discount == 0 {
			res.Considered = append(res.Considered, Considered{PromotionID: p.ID, Reason: detail})
			continue
		}
		res.Applied = append(res.Applied, a)
		res.Considered = append(res.Considered, Considered{PromotionID: p.ID, Applied: true, Reason: detail})
	}
	for _, l := range res.Lines {
		res.Discount += l.Discount
		res.Net += l.Net
	}
	switch {
	case code == "":
		res.Code = CodeNone
	case slices.ContainsFunc(res.Applied, func(a Applied) bool { return codeOf(sorted, a.PromotionID) == code }):
		res.Code = CodeApplied
	case codeLive:
		res.Code = CodeNotApplicable
	case codeSeen:
		res.Code = CodeExpired
	default:
		res.Code = CodeUnknown
	}
	return res
}

func codeOf(ps []Promotion, id string) string {
	for _, p := range ps {
		if p.ID == id {
			return NormalizeCode(p.Code)
		}
	}
	return ""
}

// skipReason is why p cannot apply to the basket at all, "" when it may.
func skipReason(p Promotion, in Input, local time.Time, code string) string {
	switch {
	case !p.Active:
		return "inactive"
	case in.SiteID != "" && !p.Concerns(in.SiteID, in.City):
		return "not for this site (" + string(p.Scope) + ")"
	case p.Window != nil && !p.Window.holds(local):
		return "outside its time window at " + local.Format("Mon 2006-01-02 15:04 MST")
	case p.Code != "" && code == "":
		return "needs code " + p.Code
	case p.Code != "" && NormalizeCode(p.Code) != code:
		return "needs another code"
	case p.Kind == KindNthPurchase && in.CustomerID == "":
		return "needs a customer id"
	case p.Kind == KindNthPurchase && (in.PurchaseCount+1)%int64(p.NthPurchase) != 0:
		return fmt.Sprintf("purchase %d of this customer is not a multiple of %d", in.PurchaseCount+1, p.NthPurchase)
	case p.Quota > 0 && (in.Quota == nil || in.Quota.Available(p.ID) < 1):
		return "no redemptions left in this site's quota"
	}
	return ""
}

func noLineReason(p Promotion, lines []PricedLine, locked []bool) string {
	for i, l := range lines {
		if p.matches(l.ProductID) && l.Quantity > 0 && l.Net > 0 {
			if locked[i] {
				return "its lines were taken by an exclusive promotion"
			}
			return "exclusive, and its lines already had a discount"
		}
	}
	return "no line of the basket is for its products"
}

func (p Promotion) matches(productID string) bool {
	return len(p.ProductIDs) == 0 || slices.Contains(p.ProductIDs, productID)
}

// discounts returns what p takes off each line (indexed like lines; only
// eligible lines), before capping at the line's net, and a detail for the
// explanation.
func (p Promotion) discounts(lines []PricedLine, eligible []bool) ([]wire.Money, string) {
	off := make([]wire.Money, len(lines))
	switch p.Kind {
	case KindPercent:
		for i, l := range lines {
			if eligible[i] {
				off[i] = percentOf(l.List, p.Percent)
			}
		}
		return off, fmt.Sprintf("%d%% off", p.Percent)
	case KindAmount:
		for i, l := range lines {
			if eligible[i] {
				off[i] = p.AmountOff * wire.Money(l.Quantity)
			}
		}
		return off, fmt.Sprintf("%s off each unit", p.AmountOff)
	case KindCombo:
		return p.comboDiscounts(lines, eligible)
	case KindNthPurchase:
		if p.Percent > 0 {
			for i, l := range lines {
				if eligible[i] {
					off[i] = percentOf(l.List, p.Percent)
				}
			}
			return off, fmt.Sprintf("every %d. purchase: %d%% off", p.NthPurchase, p.Percent)
		}
		spread(off, lines, eligible, p.AmountOff, func(i int) wire.Money { return lines[i].Net })
		return off, fmt.Sprintf("every %d. purchase: %s off", p.NthPurchase, p.AmountOff)
	}
	return off, "unknown kind"
}

// comboDiscounts forms as many combos as the eligible lines allow. Units are
// taken in basket order; with ComboDistinct each combo takes one unit of each
// of the ComboSize products with the most units left (ties in basket order),
// which forms the most combos.
func (p Promotion) comboDiscounts(lines []PricedLine, eligible []bool) ([]wire.Money, string) {
	off := make([]wire.Money, len(lines))
	used := make([]int64, len(lines)) // units of each line in combos
	left := make([]int64, len(lines))
	var total int64
	for i, l := range lines {
		if eligible[i] {
			left[i] = l.Quantity
			total += l.Quantity
		}
	}
	n := int64(p.ComboSize)
	var combos int64
	if !p.ComboDistinct {
		combos = total / n
		need := combos * n
		for i := range lines {
			take := min(left[i], need)
			used[i], need = take, need-take
		}
	} else {
		// Group lines by product: distinct means distinct products.
		byProduct := map[string][]int{}
		var order []string
		for i, l := range lines {
			if eligible[i] {
				if _, ok := byProduct[l.ProductID]; !ok {
					order = append(order, l.ProductID)
				}
				byProduct[l.ProductID] = append(byProduct[l.ProductID], i)
			}
		}
		remaining := func(pid string) int64 {
			var s int64
			for _, i := range byProduct[pid] {
				s += left[i]
			}
			return s
		}
		for {
			cands := slices.Clone(order)
			slices.SortStableFunc(cands, func(a, b string) int { return cmp.Compare(remaining(b), remaining(a)) })
			if int64(len(cands)) < n || remaining(cands[n-1]) == 0 {
				break
			}
			for _, pid := range cands[:n] {
				for _, i := range byProduct[pid] {
					if left[i] > 0 {
						left[i]--
						used[i]++
						break
					}
				}
			}
			combos++
		}
	}
	if combos == 0 {
		return off, fmt.Sprintf("no combo of %d in the basket", p.ComboSize)
	}
	inCombo := make([]bool, len(lines))
	for i := range lines {
		inCombo[i] = used[i] > 0
	}
	if p.Percent > 0 {
		for i, l := range lines {
			if used[i] > 0 {
				off[i] = percentOf(l.UnitPrice*wire.Money(used[i]), p.Percent)
			}
		}
		return off, fmt.Sprintf("%d combo(s) of %d: %d%% off", combos, p.ComboSize, p.Percent)
	}
	spread(off, lines, inCombo, p.AmountOff*wire.Money(combos), func(i int) wire.Money { return lines[i].UnitPrice * wire.Money(used[i]) })
	return off, fmt.Sprintf("%d combo(s) of %d: %s off each", combos, p.ComboSize, p.AmountOff)
}

// percentOf is pct % of m, rounded half-up to the cent.
func percentOf(m wire.Money, pct int) wire.Money {
	return wire.Money((int64(m)*int64(pct) + 50) / 100)
}

// spread shares amount over the lines in sel in proportion to weight(i),
// capped at the total weight; the remainders of the integer division go
// one cent at a time to the largest remainders (ties in basket order), so
// the shares add up exactly.
func spread(off []wire.Money, lines []PricedLine, sel []bool, amount wire.Money, weight func(int) wire.Money) {
	var total int64
	for i := range lines {
		if sel[i] {
			total += int64(weight(i))
		}
	}
	if total <= 0 {
		return
	}
	amount = min(amount, wire.Money(total))
	type rem struct {
		i int
		r int64
	}
	var rems []rem
	var given int64
	for i := range lines {
		if !sel[i] {
			continue
		}
		num := int64(amount) * int64(weight(i))
		off[i] = wire.Money(num / total)
		given += num / total
		rems = append(rems, rem{i, num % total})
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
	for k := 0; given < int64(amount); k++ {
		off[rems[k%len(rems)].i]++
		given++
	}
}

// holds reports whether the window is open at local (the site's wall
// clock).
func (w Window) holds(local time.Time) bool {
	day := local
	if w.From != "" {
		from, to := minutes(w.From), minutes(w.To)
		now := local.Hour()*60 + local.Minute()
		switch {
		case from < to:
			if now < from || now >= to {
				return false
			}
		case now >= from:
		case now < to:
			// the early part of a window that opened yesterday
			day = local.AddDate(0, 0, -1)
		default:
			return false
		}
	}
	if len(w.Days) > 0 && !slices.ContainsFunc(w.Days, func(d string) bool { return weekdays[d] == day.Weekday() }) {
		return false
	}
	date := local.Format(time.DateOnly)
	if w.StartDate != "" && date < w.StartDate {
		return false
	}
	if w.EndDate != "" && date > w.EndDate {
		return false
	}
	return true
}

func minutes(hhmm string) int {
	if len(hhmm) != 5 {
		return 0
	}
	return int(hhmm[0]-'0')*600 + int(hhmm[1]-'0')*60 + int(hhmm[3]-'0')*10 + int(hhmm[4]-'0')
}
