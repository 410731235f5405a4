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
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

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
