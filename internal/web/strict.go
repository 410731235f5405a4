package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds how deeply a request body may nest objects and arrays.
const maxDepth = 32

// maxEcho is how much of one input (a key, a value) an error may repeat.
const maxEcho = 64

// maxMessage bounds an error message, whatever it is made of.
const maxMessage = 320

// strictCheck enforces what encoding/json lets through but the API
// documents as refused: a body that is not valid UTF-8, a key that appears
// twice in one object, a key that matches a field of dst only when case is
// ignored (encoding/json would silently take "MachineID" for "machineId"),
// a control character in a string (tab, CR and LF are allowed in free text,
// never in an identifier: a key named "id" or ending in "Id" or "_id"), and
// nesting deeper than maxDepth. It leaves every syntax error to the JSON
// decoder that runs after it, so those keep their usual messages.
func strictCheck(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body is not valid UTF-8")
	}
	s := scanner{b: body}
	s.value(fieldsOf(reflect.TypeOf(dst)), nil, 0)
	return s.err
}

// scanner walks a JSON text once. It stops at the first strict violation
// (err) and gives up silently on anything malformed (the decoder reports it).
type scanner struct {
	b   []byte
	i   int
	err error
	bad bool // malformed: stop, let encoding/json say why
}

func (s *scanner) stop() bool { return s.err != nil || s.bad }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value; t describes what it decodes into (nil: unknown)
// and key is the object key it belongs to (nil for none).
func (s *scanner) value(t *typeInfo, key []byte, depth int) {
	s.ws()
	if s.i >= len(s.b) {
		s.bad = true
		return
	}
	switch s.b[s.i] {
	case '{':
		s.object(t, depth+1)
	case '[':
		s.array(t, key, depth+1)
	case '"':
		v, ok := s.str()
		if !ok {
			return
		}
		if err := checkText(key, v); err != nil {
			s.err = err
		}
	default:
		// number, true, false, null: encoding/json validates them
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\n\r", rune(s.b[s.i])) {
			s.i++
		}
	}
}

func (s *scanner) object(t *typeInfo, depth int) {
	if depth > maxDepth {
		s.err = Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body nests deeper than %d levels", maxDepth)
		return
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return
	}
	// Keys are checked as the body's own bytes (no string per key): the
	// first ones seen are compared in place, a map takes over past them.
	var few [16][]byte
	seen := few[:0]
	var many map[string]bool
	for !s.stop() {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			s.bad = true
			return
		}
		k, ok := s.str()
		if !ok {
			return
		}
		if err := checkKey(k); err != nil {
			s.err = err
			return
		}
		dup := many[string(k)]
		for _, o := range seen {
			dup = dup || bytes.Equal(o, k)
		}
		if dup {
			ks := string(k)
			s.err = Errorf(http.StatusBadRequest, "DUPLICATE_FIELD", clip(ks), "key %q appears more than once in one object", clip(ks))
			return
		}
		if len(seen) < len(few) {
			seen = append(seen, k)
		} else {
			if many == nil {
				many = make(map[string]bool, 2*len(few))
			}
			many[string(k)] = true
		}
		var ft *typeInfo
		if t != nil {
			if t.fields != nil {
				f, exact := t.fields[string(k)]
				if !exact {
					ks := string(k)
					if want, folded := t.folded[foldName(ks)]; folded {
						s.err = Errorf(http.StatusBadRequest, "UNKNOWN_FIELD", clip(ks), "unknown field %q: keys are case-sensitive (did you mean %q?)", clip(ks), want)
						return
					}
				}
				ft = f
			} else {
				ft = t.elem // a map: every value has the element type
			}
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			s.bad = true
			return
		}
		s.i++
		s.value(ft, k, depth)
		if s.stop() {
			return
		}
		s.ws()
		if s.i >= len(s.b) {
			s.bad = true
			return
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.bad = true
			return
		}
	}
}

func (s *scanner) array(t *typeInfo, key []byte, depth int) {
	if depth > maxDepth {
		s.err = Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body nests deeper than %d levels", maxDepth)
		return
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return
	}
	var et *typeInfo
	if t != nil {
		et = t.elem
	}
	for !s.stop() {
		s.value(et, key, depth)
		if s.stop() {
			return
		}
		s.ws()
		if s.i >= len(s.b) {
			s.bad = true
			return
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.bad = true
			return
		}
	}
}

// str reads a JSON string at s.i and returns its value: the body's own
// bytes when it has no escapes.
func (s *scanner) str() ([]byte, bool) {
	start := s.i
	s.i++ // opening quote
	escaped := false
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '\\':
			escaped = true
			s.i += 2
			continue
		case c == '"':
			s.i++
			raw := s.b[start:s.i]
			if !escaped {
				return raw[1 : len(raw)-1], true
			}
			if err := checkSurrogates(raw); err != nil {
				s.err = err
				return nil, false
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				s.bad = true
				return nil, false
			}
			return []byte(v), true
		case c < 0x20:
			s.bad = true // a raw control character: a syntax error
			return nil, false
		}
		s.i++
	}
	s.bad = true
	return nil, false
}

// isIDKey reports whether a key names an identifier.
func isIDKey(k []byte) bool {
	return string(k) == "id" || bytes.HasSuffix(k, []byte("Id")) || bytes.HasSuffix(k, []byte("ID")) || bytes.HasSuffix(k, []byte("_id"))
}

// checkKey refuses a key holding a control character.
func checkKey(k []byte) error {
	for _, r := range string(k) {
		if unicode.IsControl(r) {
			return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "a key holds the control character %U", r)
		}
	}
	return nil
}

// checkText refuses a control character in a string value: any in an
// identifier, any but tab, CR and LF elsewhere.
func checkText(key, v []byte) error {
	id := isIDKey(key)
	for _, r := range string(v) {
		if !unicode.IsControl(r) || (!id && (r == '\t' || r == '\n' || r == '\r')) {
			continue
		}
		k := clip(string(key))
		if id {
			return Invalid(k, "%s holds the control character %U: identifiers are printable text", k, r)
		}
		return Invalid(k, "%s holds the control character %U", k, r)
	}
	return nil
}

// clip returns at most maxEcho bytes of s (on a rune boundary) followed by
// "…" when cut: error messages never repeat more of a client's input.
func clip(s string) string { return clipN(s, maxEcho) }

// clipN is clip with a limit of n bytes.
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// typeInfo is what the scanner needs to know about a Go type: for a struct
// its JSON field names (exact and lower-cased), for a map, slice or array
// its element. nil stands for "anything" (interface, json.RawMessage, a type
// with its own UnmarshalJSON).
type typeInfo struct {
	fields map[string]*typeInfo // struct: exact JSON name → field type
	folded map[string]string    // struct: foldName(name) → exact name
	elem   *typeInfo            // map, slice, array
}

var typeCache sync.Map // reflect.Type → *typeInfo

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func fieldsOf(t reflect.Type) *typeInfo {
	return buildInfo(t, map[reflect.Type]*typeInfo{})
}

func buildInfo(t reflect.Type, building map[reflect.Type]*typeInfo) *typeInfo {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if v, ok := typeCache.Load(t); ok {
		return v.(*typeInfo)
	}
	if ti, ok := building[t]; ok {
		return ti // a recursive type: its info is being filled in
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	var ti *typeInfo
	switch t.Kind() {
	case reflect.Struct:
		ti = &typeInfo{fields: map[string]*typeInfo{}, folded: map[string]string{}}
		building[t] = ti
		addFields(ti, t, building)
	case reflect.Map, reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte is a base64 string
		}
		ti = &typeInfo{}
		building[t] = ti
		ti.elem = buildInfo(t.Elem(), building)
	default:
		return nil
	}
	typeCache.Store(t, ti)
	return ti
}

// addFields adds t's JSON fields to ti, promoting those of embedded structs
// without a name the way encoding/json does.
func addFields(ti *typeInfo, t reflect.Type, building map[reflect.Type]*typeInfo) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				addFields(ti, et, building)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := ti.fields[name]; dup {
			continue // the shallower field wins
		}
		ti.fields[name] = buildInfo(ft, building)
		ti.folded[foldName(name)] = name
	}
}

// foldName folds a key the way encoding/json does when it matches keys to
// fields, so that every key it would take for a field is caught here.
func foldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		b.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return b.String()
}

// checkSurrogates refuses a \u escape that is half of a UTF-16 surrogate
// pair without its other half: encoding/json would turn it into U+FFFD, so
// it is invalid UTF-8 in disguise.
func checkSurrogates(raw []byte) error {
	bad := Errorf(http.StatusBadRequest, "INVALID_JSON", "", "a string holds an unpaired UTF-16 surrogate escape")
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++ // a two-byte escape such as \\ or \"
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			return nil // malformed: the decoder says why
		}
		i += 5
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return bad
		case r >= 0xD800 && r <= 0xDBFF:
			if i+2 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return bad
			}
			lo, ok := hex4(raw, i+3)
			if !ok {
				return nil
			}
			if lo < 0xDC00 || lo > 0xDFFF {
				return bad
			}
			i += 6
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
