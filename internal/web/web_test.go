package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecode_Errors(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		Qty  int64  `json:"quantity"`
	}
	tests := []struct {
		name, body, code, field string
		status                  int
	}{
		{"malformed", `{"name":`, "INVALID_JSON", "", 400},
		{"syntax", `{"name" "x"}`, "INVALID_JSON", "", 400},
		{"wrong type", `{"quantity":"two"}`, "INVALID_FIELD", "quantity", 400},
		{"unknown field", `{"nme":"x"}`, "UNKNOWN_FIELD", "nme", 400},
		{"empty", ``, "INVALID_JSON", "", 400},
		{"trailing", `{"name":"x"} {}`, "INVALID_JSON", "", 400},
		{"not an object", `[1]`, "INVALID_JSON", "", 400},
		{"too large", `{"name":"` + strings.Repeat("x", 200) + `"}`, "BODY_TOO_LARGE", "", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			w := httptest.NewRecorder()
			var b body
			err := Decode(w, r, &b, 100)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != tt.code || e.Field != tt.field || e.Status != tt.status {
				t.Fatalf("got %d %s field %q, want %d %s field %q (%s)", e.Status, e.Code, e.Field, tt.status, tt.code, tt.field, e.Message)
			}
		})
	}
}
