// Package promo is the promotion model of vendsync and its evaluator: what a
// promotion is (scope, kind, products, time window, code, priority, stacking,
// quota), how it is checked (Validate), and Evaluate, a pure deterministic
// function from a basket and the promotions in force to a priced basket with
// an explanation. Edge and central share it (central cannot import edge):
// the site prices sales and answers POST /promotions/evaluate with it,
// central authors promotions and prices its menu with it.
//
// Money is in integer cents (sync/wire.Money). Rounding: every discount is
// computed per basket line and rounded half-up to the cent on that line; the
// basket's totals are the sums of its lines, so total = Σ lines exactly.
package promo

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/wire"
)

// Scope says which sites a promotion concerns.
type Scope string

// The scopes.
const (
	// ScopeFleet: every site.
	ScopeFleet Scope = "FLEET"
	// ScopeCity: the sites of one city (Promotion.City).
	ScopeCity Scope = "CITY"
	// ScopeSite: one site (Promotion.SiteID).
	ScopeSite Scope = "SITE"
)

// Kind is what a promotion gives.
type Kind string

// The kinds.
const (
	// KindPercent takes Percent % off every unit of the products in
	// ProductIDs (all products when empty).
	KindPercent Kind = "PERCENT"
	// KindAmount takes AmountOff off every unit of the products in
	// ProductIDs (all products when empty), never below zero.
	KindAmount Kind = "AMOUNT"
	// KindCombo: every group of ComboSize units from ProductIDs (ComboSize
	// different products when ComboDistinct) is a combo; each combo gets
	// Percent % off its units, or AmountOff off the combo. A basket may hold
	// several combos.
	KindCombo Kind = "COMBO"
	// KindNthPurchase rewards every NthPurchase-th purchase of one customer
	// (a loyalty id): Percent % off the lines of ProductIDs (all when empty),
	// or AmountOff off the basket.
	KindNthPurchase Kind = "NTH_PURCHASE"
)

// Kinds lists every kind.
var Kinds = []Kind{KindPercent, KindAmount, KindCombo, KindNthPurchase}

// Stacking says whether a promotion combines with others on the same line.
type Stacking string

// The stacking rules.
const (
	// Exclusive: applies only to lines no other promotion discounted before
	// it, and no later promotion discounts the lines it took.
	Exclusive Stacking = "EXCLUSIVE"
	// Stackable: adds to the discounts of other stackable promotions.
	Stackable Stacking = "STACKABLE"
)

// Window is when a promotion holds, in the site's IANA timezone (wall
// clock, so DST changes move nothing). Empty fields do not restrict.
type Window struct {
	// Days are the days of week the window opens on: MON … SUN. A window
	// across midnight that opens on FRI also holds early on Saturday.
	Days []string `json:"days,omitempty"`
	// From and To are wall-clock times HH:MM; To ≤ From means across
	// midnight (22:00–02:00). Both empty: all day. To is exclusive.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// StartDate and EndDate bound the dates (YYYY-MM-DD, both inclusive,
	// the site's local date).
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
}

// Promotion is one promotion rule.
type Promotion struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Scope  Scope  `json:"scope"`
	City   string `json:"city,omitempty"`   // ScopeCity
	SiteID string `json:"siteId,omitempty"` // ScopeSite
	Kind   Kind   `json:"kind"`
	// ProductIDs are the products the promotion concerns (a combo's set);
	// empty means every product, except for combos which need a set.
	ProductIDs []string `json:"productIds,omitempty"`
	// Percent is the percentage off (1–100); AmountOff the amount off. A
	// promotion has exactly one of them.
	Percent   int        `json:"percent,omitempty"`
	AmountOff wire.Money `json:"amountOff,omitempty"`
	// ComboSize is how many units make a combo (2–20), ComboDistinct whether
	// they must be different products ("a hot dog and a cola").
	ComboSize     int  `json:"comboSize,omitempty"`
	ComboDistinct bool `json:"comboDistinct,omitempty"`
	// NthPurchase: every n-th purchase of a customer (2–1000).
	NthPurchase int `json:"nthPurchase,omitempty"`
	// Code, when set, must be given with the basket (case-insensitive).
	Code     string   `json:"code,omitempty"`
	Window   *Window  `json:"window,omitempty"`
	Priority int      `json:"priority"`
	Stacking Stacking `json:"stacking"`
	// Quota limits redemptions fleet-wide (0: no limit). A promotion with a
	// quota applies only while the evaluator's QuotaCheck grants it one.
	Quota     int       `json:"quota,omitempty"`
	Active    bool      `json:"active"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Limits on a promotion.
const (
	MaxNameLen     = 200
	MaxCodeLen     = 32
	MaxProducts    = 200
	MaxComboSize   = 20
	MaxNthPurchase = 1000
	MaxPriority    = 1_000_000
	MaxQuota       = 100_000_000
)

var (
	// Compiled on first use, not at init: idRe's {0,63} alone was ~1,400
	// allocations in every start of the binary, promotions or not.
	idRe   = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	codeRe = lazyRegexp(`^[A-Za-z0-9_-]{1,32}$`)
	hhmmRe = lazyRegexp(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

var weekdays = map[string]time.Weekday{"SUN": time.Sunday, "MON": time.Monday, "TUE": time.Tuesday, "WED": time.Wednesday,
	"THU": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday}

// NormalizeCode is how codes compare: trimmed, upper case.
func NormalizeCode(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }

// Validate checks p and returns an errs.Invalid error naming the first bad
// field ("id", "kind", "window.from", …).
func (p Promotion) Validate() error {
	if !idRe().MatchString(p.ID) {
		return errs.Invalidf("id", "id %q: use 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", p.ID)
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > MaxNameLen {
		return errs.Invalidf("name", "name is required (at most %d characters)", MaxNameLen)
	}
	switch p.Scope {
	case ScopeFleet:
		if p.City != "" || p.SiteID != "" {
			return errs.Invalidf("scope", "a FLEET promotion names no city or siteId")
		}
	case ScopeCity:
		if strings.TrimSpace(p.City) == "" {
			return errs.Invalidf("city", "a CITY promotion needs its city")
		}
	case ScopeSite:
		if !idRe().MatchString(p.SiteID) {
			return errs.Invalidf("siteId", "a SITE promotion needs its siteId")
		}
	default:
		return errs.Invalidf("scope", "scope %q: use FLEET, CITY or SITE", p.Scope)
	}
	if !slices.Contains(Kinds, p.Kind) {
		return errs.Invalidf("kind", "kind %q: use PERCENT, AMOUNT, COMBO or NTH_PURCHASE", p.Kind)
	}
	if len(p.ProductIDs) > MaxProducts {
		return errs.Invalidf("productIds", "at most %d products", MaxProducts)
	}
	seen := make(map[string]bool, len(p.ProductIDs))
	for _, id := range p.ProductIDs {
		if !idRe().MatchString(id) {
			return errs.Invalidf("productIds", "product id %q is not a valid id", id)
		}
		if seen[id] {
			return errs.Invalidf("productIds", "product %q is listed twice", id)
		}
		seen[id] = true
	}
	if err := p.checkBenefit(); err != nil {
		return err
	}
	switch p.Kind {
	case KindCombo:
		if len(p.ProductIDs) == 0 {
			return errs.Invalidf("productIds", "a COMBO needs its product set")
		}
		if p.ComboSize < 2 || p.ComboSize > MaxComboSize {
			return errs.Invalidf("comboSize", "comboSize %d: must be between 2 and %d", p.ComboSize, MaxComboSize)
		}
		if p.ComboDistinct && p.ComboSize > len(p.ProductIDs) {
			return errs.Invalidf("comboSize", "comboSize %d with comboDistinct needs at least as many products (%d listed)", p.ComboSize, len(p.ProductIDs))
		}
	default:
		if p.ComboSize != 0 || p.ComboDistinct {
			return errs.Invalidf("comboSize", "comboSize and comboDistinct are for COMBO promotions")
		}
	}
	switch p.Kind {
	case KindNthPurchase:
		if p.NthPurchase < 2 || p.NthPurchase > MaxNthPurchase {
			return errs.Invalidf("nthPurchase", "nthPurchase %d: must be between 2 and %d", p.NthPurchase, MaxNthPurchase)
		}
	default:
		if p.NthPurchase != 0 {
			return errs.Invalidf("nthPurchase", "nthPurchase is for NTH_PURCHASE promotions")
		}
	}
	if p.Code != "" && !codeRe().MatchString(p.Code) {
		return errs.Invalidf("code", "code %q: use 1 to %d letters, digits, '_' or '-'", p.Code, MaxCodeLen)
	}
	if p.Window != nil {
		if err := p.Window.validate(); err != nil {
			return err
		}
	}
	if p.Priority < -MaxPriority || p.Priority > MaxPriority {
		return errs.Invalidf("priority", "priority %d: must be between %d and %d", p.Priority, -MaxPriority, MaxPriority)
	}
	if p.Stacking != Exclusive && p.Stacking != Stackable {
		return errs.Invalidf("stacking", "stacking %q: use EXCLUSIVE or STACKABLE", p.Stacking)
	}
	if p.Quota < 0 || p.Quota > MaxQuota {
		return errs.Invalidf("quota", "quota %d: must be between 0 (none) and %d", p.Quota, MaxQuota)
	}
	if p.Version < 0 {
		return errs.Invalidf("version", "version must not be negative")
	}
	return nil
}

func (p Promotion) checkBenefit() error {
	switch {
	case p.Percent != 0 && p.AmountOff != 0:
		return errs.Invalidf("percent", "give percent or amountOff, not both")
	case p.Percent == 0 && p.AmountOff == 0:
		return errs.Invalidf("percent", "percent (1–100) or amountOff (> 0) is required")
	case p.Percent < 0 || p.Percent > 100:
		return errs.Invalidf("percent", "percent %d: must be between 1 and 100", p.Percent)
	case p.AmountOff < 0 || p.AmountOff > wire.MaxPriceCents:
		return errs.Invalidf("amountOff", "amountOff %s: must be between 0.01 and 1000000", p.AmountOff)
	}
	return nil
}

func (w Window) validate() error {
	seen := map[string]bool{}
	for _, d := range w.Days {
		if _, ok := weekdays[d]; !ok {
			return errs.Invalidf("window.days", "day %q: use MON, TUE, WED, THU, FRI, SAT or SUN", d)
		}
		if seen[d] {
			return errs.Invalidf("window.days", "day %q is listed twice", d)
		}
		seen[d] = true
	}
	if (w.From == "") != (w.To == "") {
		return errs.Invalidf("window.from", "give both window.from and window.to (HH:MM), or neither")
	}
	if w.From != "" {
		if !hhmmRe().MatchString(w.From) {
			return errs.Invalidf("window.from", "window.from %q: use HH:MM (00:00–23:59)", w.From)
		}
		if !hhmmRe().MatchString(w.To) {
			return errs.Invalidf("window.to", "window.to %q: use HH:MM (00:00–23:59)", w.To)
		}
		if w.From == w.To {
			return errs.Invalidf("window.to", "window.to equals window.from; leave both empty for all day")
		}
	}
	var start, end time.Time
	var err error
	if w.StartDate != "" {
		if start, err = time.Parse(time.DateOnly, w.StartDate); err != nil {
			return errs.Invalidf("window.startDate", "window.startDate %q: use YYYY-MM-DD", w.StartDate)
		}
	}
	if w.EndDate != "" {
		if end, err = time.Parse(time.DateOnly, w.EndDate); err != nil {
			return errs.Invalidf("window.endDate", "window.endDate %q: use YYYY-MM-DD", w.EndDate)
		}
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return errs.Invalidf("window.endDate", "window.endDate %s is before window.startDate %s", w.EndDate, w.StartDate)
	}
	return nil
}

// Concerns reports whether p's scope includes the site siteID in city.
func (p Promotion) Concerns(siteID, city string) bool {
	switch p.Scope {
	case ScopeFleet:
		return true
	case ScopeCity:
		return strings.EqualFold(p.City, city)
	case ScopeSite:
		return p.SiteID == siteID
	}
	return false
}

// QuotaCheck grants redemptions of promotions that have a quota (the lease
// a site holds; central's lease mechanism implements it). Available returns
// how many redemptions of promotionID may still be made; a promotion with a
// quota applies only when it is at least 1. A nil QuotaCheck grants none.
type QuotaCheck interface {
	Available(promotionID string) int
}

// QuotaMap is a QuotaCheck from a map of promotion id to redemptions left.
type QuotaMap map[string]int

// Available returns m[promotionID].
func (m QuotaMap) Available(promotionID string) int { return m[promotionID] }
