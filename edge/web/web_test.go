package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMoney_JSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Money
		wantErr bool
	}{
		{"50", 5000, false},
		{"1.5", 150, false},
		{"1.25", 125, false},
		{"0", 0, false},
		{"-2.5", -250, false},
		{"1.255", 0, true},
		{`"50"`, 0, true},
		{"null", 0, true},
		{"1e2", 10000, false},
		{"1e-3", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var m Money
			err := json.Unmarshal([]byte(tt.in), &m)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && m != tt.want {
				t.Fatalf("got %d, want %d", m, tt.want)
			}
		})
	}
	b, _ := json.Marshal(struct{ P Money }{P: 1205})
	if got, want := string(b), `{"P":12.05}`; got != want {
		t.Fatalf("marshal = %s, want %s", got, want)
	}
}

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
