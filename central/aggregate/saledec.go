package aggregate

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vendsync/vendsync/sync/envelope"
)

// decodeSaleEvent decodes raw, one event of site's batch, when it is a sale
// in the plain form sites write (compact or not, keys spelled as the wire
// types spell them, each once, strings without escapes, integers without
// fraction or exponent) and its sale carries the keys Decode requires. It
// reports ok only then, and its result is then what envelope.DecodeEvent
// and decodeFact would return for raw; for anything else (another kind,
// another site, an escape, an unknown or repeated key, null, a malformed
// value) ok is false and the caller decodes raw with encoding/json, which
// decides. It never refuses: it only declines.
//
// This is the hot path of a catch-up: encoding/json reflects over the
// envelope and the sale of every event, and checks the whole text a second
// time before decoding it.
func decodeSaleEvent(raw []byte, site string) (seq uint64, at time.Time, s *envelope.Sale, ok bool) {
	p := parser{b: raw}
	if !p.open('{') {
		return 0, time.Time{}, nil, false
	}
	const (
		fV = 1 << iota
		fSite
		fSeq
		fKind
		fTime
		fData
	)
	var seen int
	mark := func(f int) bool {
		if seen&f != 0 {
			return false
		}
		seen |= f
		return true
	}
	for first := true; ; first = false {
		if first && p.close('}') {
			break
		}
		key, ok := p.key()
		if !ok {
			return 0, time.Time{}, nil, false
		}
		switch string(key) {
		case "v":
			if !mark(fV) {
				return 0, time.Time{}, nil, false
			}
			if _, ok := p.int(strconv.IntSize); !ok {
				return 0, time.Time{}, nil, false
			}
		case "site":
			v, ok := p.str()
			if !mark(fSite) || !ok || string(v) != site {
				return 0, time.Time{}, nil, false
			}
		case "seq":
			if seq, ok = p.uint(); !mark(fSeq) || !ok {
				return 0, time.Time{}, nil, false
			}
		case "kind":
			v, ok := p.str()
			if !mark(fKind) || !ok || string(v) != string(envelope.KindSale) {
				return 0, time.Time{}, nil, false
			}
		case "time":
			p.ws()
			start := p.i
			if _, ok := p.str(); !mark(fTime) || !ok {
				return 0, time.Time{}, nil, false
			}
			// What encoding/json does with a time: hand its literal to
			// UnmarshalJSON.
			if at.UnmarshalJSON(raw[start:p.i]) != nil {
				return 0, time.Time{}, nil, false
			}
		case "data":
			// The kind must come first (it does in what sites write): the
			// data of another kind is not a sale.
			if seen&fKind == 0 || !mark(fData) {
				return 0, time.Time{}, nil, false
			}
			if s = p.sale(); s == nil {
				return 0, time.Time{}, nil, false
			}
		default:
			return 0, time.Time{}, nil, false
		}
		if p.close('}') {
			break
		}
		if !p.open(',') {
			return 0, time.Time{}, nil, false
		}
	}
	if !p.end() || s == nil || seen&fSite == 0 {
		return 0, time.Time{}, nil, false
	}
	return seq, at, s, true
}

// parser reads the plain JSON decodeSaleEvent accepts; every method reports
// false for anything else, leaving the decision to encoding/json.
type parser struct {
	b []byte
	i int
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// open consumes c after optional whitespace.
func (p *parser) open(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// close is open, for a closing bracket.
func (p *parser) close(c byte) bool { return p.open(c) }

// end reports whether only whitespace is left.
func (p *parser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// key reads a plain string and the colon after it.
func (p *parser) key() ([]byte, bool) {
	k, ok := p.str()
	if !ok || !p.open(':') {
		return nil, false
	}
	return k, true
}

// str reads a string without escapes or control characters whose bytes are
// valid UTF-8: the only kind whose decoded value is its bytes as they are.
func (p *parser) str() ([]byte, bool) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			v := p.b[start:j]
			if !ascii && !utf8.Valid(v) {
				return nil, false
			}
			p.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// digits reads a JSON integer: an optional minus (when signed), then 0 or
// a digit 1–9 followed by digits, with no fraction or exponent after it.
func (p *parser) digits(signed bool) ([]byte, bool) {
	p.ws()
	start := p.i
	if signed && p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	d := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	switch {
	case p.i == d, p.b[d] == '0' && p.i > d+1:
		return nil, false
	case p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E'):
		return nil, false
	}
	return p.b[start:p.i], true
}

// int reads an integer that fits bits, as encoding/json stores a number
// into a signed integer (strconv.ParseInt of its text).
func (p *parser) int(bits int) (int64, bool) {
	d, ok := p.digits(true)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(d), 10, bits)
	return n, err == nil
}

// uint is int for an unsigned integer (strconv.ParseUint).
func (p *parser) uint() (uint64, bool) {
	d, ok := p.digits(false)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d), 10, 64)
	return n, err == nil
}

// string reads a plain string into a new Go string.
func (p *parser) string() (string, bool) {
	v, ok := p.str()
	return string(v), ok
}

// object reads an object, calling field for each key (seen once, else
// false); field reads the value.
func (p *parser) object(field func(key []byte) bool) bool {
	if !p.open('{') {
		return false
	}
	if p.close('}') {
		return true
	}
	for {
		k, ok := p.key()
		if !ok || !field(k) {
			return false
		}
		if p.close('}') {
			return true
		}
		if !p.open(',') {
			return false
		}
	}
}

// array reads an array, calling elem for each element. It reports whether
// the array was empty as n == 0.
func (p *parser) array(elem func() bool) (n int, ok bool) {
	if !p.open('[') {
		return 0, false
	}
	if p.close(']') {
		return 0, true
	}
	for {
		if !elem() {
			return 0, false
		}
		n++
		if p.close(']') {
			return n, true
		}
		if !p.open(',') {
			return 0, false
		}
	}
}

// once returns a function that marks key index k seen and reports whether
// it was new: a repeated key is left to encoding/json (whose last value
// wins, and whose null in between resets a pointer).
func once() func(k int) bool {
	var seen uint32
	return func(k int) bool {
		if seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		return true
	}
}

// sale reads a sale's data; nil when it is not plain or lacks a key
// decodeFact requires.
func (p *parser) sale() *envelope.Sale {
	var s envelope.Sale
	first := once()
	ok := p.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "transactionId":
			s.TransactionID, ok = p.string()
			return ok && first(0)
		case "machineId":
			s.MachineID, ok = p.string()
			return ok && first(1)
		case "productId":
			s.ProductID, ok = p.string()
			return ok && first(2)
		case "quantity":
			s.Quantity, ok = p.int(64)
			return ok && first(3)
		case "amountCents":
			s.AmountCents, ok = p.int(64)
			return ok && first(4)
		case "paymentMethod":
			s.PaymentMethod, ok = p.string()
			return ok && first(5)
		case "city":
			s.City, ok = p.string()
			return ok && first(6)
		case "location":
			s.Location, ok = p.string()
			return ok && first(7)
		case "stockAfter":
			var v int64
			v, ok = p.int(64)
			s.StockAfter = &v
			return ok && first(8)
		case "listCents":
			s.ListCents, ok = p.int(64)
			return ok && first(9)
		case "discountCents":
			s.DiscountCents, ok = p.int(64)
			return ok && first(10)
		case "basketId":
			s.BasketID, ok = p.string()
			return ok && first(11)
		case "cogsCents":
			var v int64
			v, ok = p.int(64)
			s.CogsCents = &v
			return ok && first(12)
		case "promotions":
			s.Promotions = []envelope.SalePromotion{}
			_, ok = p.array(func() bool {
				var sp envelope.SalePromotion
				f := once()
				if !p.object(func(key []byte) bool {
					var ok bool
					switch string(key) {
					case "promotionId":
						sp.PromotionID, ok = p.string()
						return ok && f(0)
					case "discountCents":
						sp.DiscountCents, ok = p.int(64)
						return ok && f(1)
					}
					return false
				}) {
					return false
				}
				s.Promotions = append(s.Promotions, sp)
				return true
			})
			return ok && first(13)
		case "lots":
			s.Lots = []envelope.LotUse{}
			_, ok = p.array(func() bool {
				var u envelope.LotUse
				f := once()
				if !p.object(func(key []byte) bool {
					var ok bool
					switch string(key) {
					case "lotId":
						u.LotID, ok = p.int(64)
						return ok && f(0)
					case "quantity":
						u.Quantity, ok = p.int(64)
						return ok && f(1)
					case "after":
						u.After, ok = p.int(64)
						return ok && f(2)
					case "unitCostCents":
						var v int64
						v, ok = p.int(64)
						u.UnitCostCents = &v
						return ok && f(3)
					}
					return false
				}) {
					return false
				}
				s.Lots = append(s.Lots, u)
				return true
			})
			return ok && first(14)
		case "flags":
			s.Flags = []string{}
			_, ok = p.array(func() bool {
				v, ok := p.string()
				s.Flags = append(s.Flags, v)
				return ok
			})
			return ok && first(15)
		}
		return false
	})
	if !ok || s.TransactionID == "" || s.MachineID == "" || s.ProductID == "" {
		return nil
	}
	return &s
}
