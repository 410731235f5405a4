package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type strictSale struct {
	TransactionID string   `json:"transactionId"`
	MachineID     string   `json:"machineId"`
	Description   string   `json:"description"`
	Quantity      int64    `json:"quantity"`
	Items         []item   `json:"items"`
	Labels        []string `json:"labels"`
	Extra         json.RawMessage
}

type item struct {
	ProductID string `json:"productId"`
}

func decodeString(t *testing.T, body string) (*strictSale, *Error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	var b strictSale
	err := Decode(httptest.NewRecorder(), r, &b, 1<<16)
	if err == nil {
		return &b, nil
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	return nil, e
}

func TestDecode_Strict(t *testing.T) {
	tests := []struct {
		name, body, code, field string
	}{
		{"duplicate key", `{"machineId":"VM_1","machineId":"VM_2"}`, "DUPLICATE_FIELD", "machineId"},
		{"duplicate key in a nested object", `{"items":[{"productId":"A","productId":"B"}]}`, "DUPLICATE_FIELD", "productId"},
		{"duplicate key spelt with an escape", `{"machineId":"VM_1","machine\u0049d":"VM_2"}`, "DUPLICATE_FIELD", "machineId"},
		{"case-folded key", `{"MachineID":"VM_1"}`, "UNKNOWN_FIELD", "MachineID"},
		{"case-folded key in a nested object", `{"items":[{"ProductId":"A"}]}`, "UNKNOWN_FIELD", "ProductId"},
		{"unicode-folded key (long s)", `{"de\u017fcription":"x"}`, "UNKNOWN_FIELD", "deſcription"},
		{"case-folded untagged field", `{"extra":1}`, "UNKNOWN_FIELD", "extra"},
		{"invalid UTF-8", "{\"machineId\":\"VM_\xff\"}", "INVALID_JSON", ""},
		{"unpaired surrogate", `{"machineId":"VM_\ud800"}`, "INVALID_JSON", ""},
		{"control character in an id", `{"machineId":"VM\u0000_1"}`, "VALIDATION_FAILED", "machineId"},
		{"newline in an id", `{"transactionId":"T\n1"}`, "VALIDATION_FAILED", "transactionId"},
		{"control character in a nested id", `{"items":[{"productId":"P\u001b[31m"}]}`, "VALIDATION_FAILED", "productId"},
		{"DEL in free text", `{"description":"a\u007fb"}`, "VALIDATION_FAILED", "description"},
		{"control character in a key", `{"machine\u0000Id":"x"}`, "INVALID_JSON", ""},
		{"nesting too deep", `{"labels":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "INVALID_JSON", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := decodeString(t, tt.body)
			if e == nil {
				t.Fatalf("accepted %s", tt.body)
			}
			if got, want := e.Code, tt.code; got != want {
				t.Fatalf("code = %s, want %s (%s)", got, want, e.Message)
			}
			if got, want := e.Field, tt.field; got != want {
				t.Fatalf("field = %q, want %q (%s)", got, want, e.Message)
			}
			if e.Status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", e.Status)
			}
		})
	}
}

func TestDecode_StrictAccepts(t *testing.T) {
	b, e := decodeString(t, `{"transactionId":"T-1","machineId":"VM_1","description":"door\tjammed\r\nagain ✓","items":[{"productId":"A"},{"productId":"A"}],"labels":["x","x"],"Extra":{"a":1,"A":2}}`)
	if e != nil {
		t.Fatalf("refused: %v", e)
	}
	if b.MachineID != "VM_1" || len(b.Items) != 2 || b.Description != "door\tjammed\r\nagain ✓" {
		t.Fatalf("decoded %+v", b)
	}
}

func TestDecodeBytes_Strict(t *testing.T) {
	var b strictSale
	err := DecodeBytes([]byte(`{"machineId":"a","MACHINEID":"b"}`), &b)
	var e *Error
	if !errors.As(err, &e) || e.Code != "UNKNOWN_FIELD" {
		t.Fatalf("err = %v, want UNKNOWN_FIELD", err)
	}
}

func TestWriteError_NeverEchoesLongInput(t *testing.T) {
	long := strings.Repeat("A", 10000)
	bodies := []string{
		`{"` + long + `":1}`, // unknown field
		`{"quantity":` + "1" + long[:0] + strings.Repeat("9", 5000) + `}`, // number too big for int64
		`{"quantity":"` + long + `"}`,                                     // wrong type
		`{"machineId":"x","machineId":"` + long + `"}`,
		`{"` + long + `":1,"` + long + `":2}`,
		`{"machineId":"` + long + "\u0001" + `"}`,
	}
	for i, body := range bodies {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		w := httptest.NewRecorder()
		var b strictSale
		err := Decode(w, r, &b, 1<<20)
		if err == nil {
			t.Fatalf("body %d accepted", i)
		}
		rec := httptest.NewRecorder()
		WriteError(rec, r, err)
		if n := rec.Body.Len(); n > 600 {
			t.Fatalf("body %d: error answer is %d bytes: %.200s", i, n, rec.Body.String())
		}
	}
	// Any *Error, wherever it was made, is clamped on the way out.
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), Invalid(long, "value %q is bad", long))
	if n := rec.Body.Len(); n > 600 {
		t.Fatalf("error answer is %d bytes", n)
	}
}
