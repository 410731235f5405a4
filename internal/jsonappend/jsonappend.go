// Package jsonappend appends JSON values to a byte slice, byte for byte as
// encoding/json writes them, without reflection. Large answers (time series
// of hundreds of rows) spend most of their time in encoding/json's
// reflection and in the Marshaler calls of their money fields; their wire
// types implement Appender with these functions instead, and
// internal/web.WriteJSON uses it when it is there.
package jsonappend

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Appender is a value that appends its own JSON encoding to b, exactly the
// bytes json.Marshal would give.
type Appender interface {
	AppendJSON(b []byte) []byte
}

// String appends s as a JSON string. Plain printable ASCII is copied as it
// is; anything else (quotes, backslashes, control characters, <, >, &,
// non-ASCII) goes through encoding/json, so escaping stays exactly its own.
func String(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Int appends v.
func Int(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// Uint appends v.
func Uint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

// Time appends t as time.Time's MarshalJSON writes it (RFC 3339 with
// nanoseconds, quoted). For a year outside 0–9999, where MarshalJSON fails
// (and encoding/json with it, for the whole answer), it appends the same
// layout anyway.
func Time(b []byte, t time.Time) []byte {
	b = append(b, '"')
	if sec := t.Unix(); t.Location() == time.UTC && sec >= minUTC && sec <= maxUTC {
		b = appendUTC(b, sec, t.Nanosecond())
	} else {
		b = t.AppendFormat(b, time.RFC3339Nano)
	}
	return append(b, '"')
}

// The instants appendUTC writes: 0000-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
const (
	minUTC = -62167219200
	maxUTC = 253402300799
)

// appendUTC appends the UTC instant sec, nsec (minUTC ≤ sec ≤ maxUTC) in
// RFC 3339 with its fraction's trailing zeros left out, as AppendFormat
// writes time.RFC3339Nano. The answers' times are UTC; AppendFormat reads
// its layout and works the date out for each of them, at about three
// times the cost.
func appendUTC(b []byte, sec int64, nsec int) []byte {
	// Days since 1970-01-01 to a civil date (the proleptic Gregorian
	// calendar counted in 400-year eras from 0000-03-01).
	days := sec / 86400
	if sec%86400 < 0 {
		days--
	}
	sod := int(sec - days*86400)
	z := days + 719468 // days since 0000-03-01: January and February of year 0 are before it
	era := z / 146097
	if z < 0 {
		era--
	}
	doe := int(z - era*146097)
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	y := yoe + int(era)*400
	if m > 12 {
		m -= 12
		y++
	}
	b = append(b, digits2[2*(y/100)], digits2[2*(y/100)+1], digits2[2*(y%100)], digits2[2*(y%100)+1], '-',
		digits2[2*m], digits2[2*m+1], '-', digits2[2*d], digits2[2*d+1], 'T',
		digits2[2*(sod/3600)], digits2[2*(sod/3600)+1], ':', digits2[2*(sod/60%60)], digits2[2*(sod/60%60)+1], ':',
		digits2[2*(sod%60)], digits2[2*(sod%60)+1])
	if nsec != 0 {
		// The fraction in groups of three digits, as many as it has (the
		// answers' times are whole milliseconds), then its trailing zeros
		// trimmed.
		b = append(b, '.')
		for unit := 1_000_000; ; unit /= 1000 { // milli-, micro-, nanoseconds
			g := nsec / unit % 1000
			b = append(b, byte('0'+g/100), digits2[2*(g%100)], digits2[2*(g%100)+1])
			if nsec%unit == 0 {
				break
			}
		}
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return append(b, 'Z')
}

// digits2 holds 00 to 99, two bytes each.
const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// Bool appends v.
func Bool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// TimeOrNull appends *t as Time does, or null for a nil t (a *time.Time
// field without omitempty).
func TimeOrNull(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return Time(b, *t)
}

// Raw appends raw as encoding/json writes a json.RawMessage: "null" for
// nil, otherwise compacted, with <, >, &, U+2028 and U+2029 escaped. It
// reports false, with b unchanged, for what is not valid JSON (on which
// encoding/json fails the whole value).
func Raw(b []byte, raw []byte) ([]byte, bool) {
	if raw == nil {
		return append(b, "null"...), true
	}
	if !Valid(raw) {
		return b, false
	}
	for _, c := range raw {
		if c <= ' ' || c == '<' || c == '>' || c == '&' || c == 0xe2 {
			// Whitespace to drop or characters to escape: encoding/json's own
			// compaction, then its HTML escaping (the same bytes as its
			// compact-with-escape).
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return b, false
			}
			var esc bytes.Buffer
			json.HTMLEscape(&esc, buf.Bytes())
			return append(b, esc.Bytes()...), true
		}
	}
	return append(b, raw...), true
}

// List appends items as a JSON array, each element by elem, or null for a
// nil slice (as encoding/json encodes one). elem is given a pointer into
// items, so large elements are not copied.
func List[T any](b []byte, items []T, elem func(b []byte, item *T) []byte) []byte {
	if items == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &items[i])
	}
	return append(b, ']')
}
