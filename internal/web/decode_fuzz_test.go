package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary bodies to Decode and checks what it promises:
// it never panics, every refusal is a 4xx *Error whose answer stays short,
// and whatever it accepts is valid UTF-8 JSON whose keys are exactly the
// field names (no duplicates, no case folding) and whose ids hold no
// control character.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"transactionId":"T-1","machineId":"VM_1","quantity":2,"items":[{"productId":"A"}]}`,
		`{"machineId":"a","machineId":"b"}`, `{"MachineID":"a"}`, `{"description":"a\tb"}`,
		`{"machineId":"\u0000"}`, "{\"machineId\":\"\xff\"}", `{"labels":[[[]]]}`, `{}`, `[]`, `null`, ``,
		`{"Extra":{"a":1,"A":1}}`, `{"machine\u0049d":"x"}`, `{"de\u017fcription":"x"}`, `{"quantity":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		var dst strictSale
		err := Decode(httptest.NewRecorder(), r, &dst, 1<<12)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status > 499 {
				t.Fatalf("Decode(%q) = %v, want a 4xx *Error", body, err)
			}
			w := httptest.NewRecorder()
			WriteError(w, r, err)
			if w.Body.Len() > 600 {
				t.Fatalf("error answer of %d bytes for a %d-byte body", w.Body.Len(), len(body))
			}
			return
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted invalid JSON or UTF-8: %q", body)
		}
		// Every key of the top-level object is an exact field name, once.
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil {
			return // null is accepted and decodes to nothing
		}
		names := map[string]bool{"transactionId": true, "machineId": true, "description": true, "quantity": true, "items": true, "labels": true, "Extra": true}
		for k := range top {
			if !names[k] {
				t.Fatalf("accepted key %q in %q", k, body)
			}
		}
		if k, dup := duplicateKey(body); dup {
			t.Fatalf("accepted duplicate key %q in %q", k, body)
		}
		for _, id := range append([]string{dst.TransactionID, dst.MachineID}, itemsIDs(dst.Items)...) {
			if strings.IndexFunc(id, unicode.IsControl) >= 0 {
				t.Fatalf("accepted an id with a control character: %q", id)
			}
		}
	})
}

func itemsIDs(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ProductID
	}
	return out
}

// duplicateKey reports a key that appears twice in one object of a valid
// JSON text, walking it with encoding/json's tokenizer.
func duplicateKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj     bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.obj {
					top.wantKey = true // this value is done once it closes
				}
				stack = append(stack, &frame{obj: v == '{', keys: map[string]bool{}, wantKey: true})
				continue
			default:
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if top != nil && top.obj && top.wantKey {
				if top.keys[v] {
					return v, true
				}
				top.keys[v] = true
				top.wantKey = false
				continue
			}
		}
		if top != nil && top.obj {
			top.wantKey = true
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1,"b":{"a":1},"c":[{"a":1,"b":2}]}`: false,
		`{"a":1,"b":{"c":1,"c":2}}`:               true,
		`{"a":"a","a":1}`:                         true,
		`{"a":{"x":1},"a":2}`:                     true,
		`[{"a":1},{"a":1}]`:                       false,
	} {
		if _, got := duplicateKey([]byte(body)); got != want {
			t.Fatalf("duplicateKey(%s) = %v, want %v", body, got, want)
		}
	}
}
