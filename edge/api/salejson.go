package api

import (
	"net/http"
	"sync"

	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

// decodeSale reads the body of POST /events/sales into in. The body a
// machine sends (a flat object of the plain sale's fields, printable ASCII
// text, whole quantities) is read by plainSale without reflection; any
// other body goes through web.DecodeRead, so it gets exactly web.Decode's
// checks and errors. plainSale accepts only what the strict decoder accepts
// and fills in what it fills in (TestPlainSale_SameAsStrictDecoder,
// FuzzPlainSale).
func decodeSale(w http.ResponseWriter, r *http.Request, in *sale.In) error {
	bp := saleBodies.Get().(*[]byte)
	b, err := web.ReadBody(w, r, MaxBody, (*bp)[:0])
	if err == nil && !plainSale(b, in) {
		*in = sale.In{}
		err = web.DecodeRead(b, in, MaxBody)
	}
	if cap(b) <= maxPooledBody {
		*bp = b[:0]
		saleBodies.Put(bp)
	}
	return err
}

// saleBodies holds the buffers sale bodies are read into; in keeps no
// reference to them (plainSale copies the body into one string first).
var saleBodies = sync.Pool{New: func() any { b := make([]byte, 0, 1<<10); return &b }}

const maxPooledBody = 16 << 10

// The fields plainSale reads, as bits of its seen set.
const (
	fTransactionID = iota
	fMachineID
	fProductID
	fQuantity
	fAmount
	fPaymentMethod
	fTimestamp
)

func plainField(k []byte) int {
	switch string(k) {
	case "transactionId":
		return fTransactionID
	case "machineId":
		return fMachineID
	case "productId":
		return fProductID
	case "quantity":
		return fQuantity
	case "amount":
		return fAmount
	case "paymentMethod":
		return fPaymentMethod
	case "timestamp":
		return fTimestamp
	}
	return -1
}

// plainSale decodes b into in and reports true when b is one JSON object
// made of nothing but these fields, each at most once: transactionId,
// machineId, productId, paymentMethod and timestamp as strings of
// printable ASCII without escapes, quantity as a whole number of at most
// 18 digits without sign, amount as a number -?(0|[1-9]d*)(.d+)? that
// wire.ParseMoney takes. On false in is left as it was and the caller
// decodes b the strict way, which then gives the answer (an error or a
// value plainSale does not read).
func plainSale(b []byte, in *sale.In) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	// All text fields (and the amount's digits) are cut from one copy of
	// the body: one allocation instead of one per field, and nothing
	// points into b.
	s := string(b)
	var out sale.In
	var nums *struct {
		q int64
		m wire.Money
	}
	seen := 0
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		j := plainString(b, i+1)
		if j < 0 {
			return false
		}
		f := plainField(b[i+1 : j])
		if f < 0 || seen&(1<<f) != 0 {
			return false
		}
		seen |= 1 << f
		i = skipWS(b, j+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		switch f {
		case fQuantity, fAmount:
			j = plainNumber(b, i, f == fQuantity)
			if j < 0 {
				return false
			}
			if nums == nil {
				nums = &struct {
					q int64
					m wire.Money
				}{}
			}
			if f == fQuantity {
				var q int64
				for _, c := range b[i:j] {
					q = q*10 + int64(c-'0')
				}
				nums.q, out.Quantity = q, &nums.q
			} else {
				m, err := wire.ParseMoney(s[i:j])
				if err != nil {
					return false
				}
				nums.m, out.Amount = m, &nums.m
			}
			i = j
		default:
			if b[i] != '"' {
				return false
			}
			j = plainString(b, i+1)
			if j < 0 {
				return false
			}
			v := s[i+1 : j]
			switch f {
			case fTransactionID:
				out.TransactionID = v
			case fMachineID:
				out.MachineID = v
			case fProductID:
				out.ProductID = v
			case fPaymentMethod:
				out.PaymentMethod = v
			case fTimestamp:
				out.Timestamp = v
			}
			i = j + 1
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
			continue
		case '}':
			if skipWS(b, i+1) != len(b) {
				return false
			}
			*in = out
			return true
		}
		return false
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString returns the index of the quote that closes the string whose
// first byte is at i, or -1 when the string holds anything but printable
// ASCII other than a backslash (or does not end).
func plainString(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i
		case c < 0x20 || c > 0x7e || c == '\\':
			return -1
		}
	}
	return -1
}

// plainNumber returns the end of the number at i, or -1 when it is not
// one plainSale reads: whole (no sign, at most 18 digits) for a quantity,
// -?(0|[1-9]d*)(.d+)? for an amount; either must be followed by
// whitespace, ',' or '}'.
func plainNumber(b []byte, i int, whole bool) int {
	if !whole && i < len(b) && b[i] == '-' {
		i++
	}
	d := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == d || (b[d] == '0' && i-d > 1) || (whole && i-d > 18) {
		return -1
	}
	if !whole && i < len(b) && b[i] == '.' {
		i++
		f := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == f {
			return -1
		}
	}
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case ' ', '\t', '\n', '\r', ',', '}':
		return i
	}
	return -1
}
