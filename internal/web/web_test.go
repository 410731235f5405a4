package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/internal/errs"
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

func TestWriteError_DomainErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		field  string
	}{
		{"invalid", errs.Invalidf("quantity", "quantity is required"), 400, "VALIDATION_FAILED", "quantity"},
		{"not found", errs.NotFoundf("machineId", "machine %q is not registered", "M1"), 404, "NOT_FOUND", "machineId"},
		{"conflict", errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", "transactionId", "already recorded"), 409, "IDEMPOTENCY_CONFLICT", "transactionId"},
		{"unprocessable", errs.Errorf(errs.Unprocessable, "AMOUNT_MISMATCH", "amount", "does not match"), 422, "AMOUNT_MISMATCH", "amount"},
		{"forbidden", errs.Forbiddenf("machineId", "not yours"), 403, "FORBIDDEN", "machineId"},
		{"unavailable", errs.Errorf(errs.Unavailable, "NOT_READY", "", "later"), 503, "NOT_READY", ""},
		{"wrapped", fmt.Errorf("record: %w", errs.Errorf(errs.Conflict, "MACHINE_EXISTS", "machineId", "exists")), 409, "MACHINE_EXISTS", "machineId"},
		{"internal domain error hides its message", errs.Errorf(errs.Internal, "BROKEN", "", "secret detail"), 500, "INTERNAL", ""},
		{"plain error", errors.New("disk full"), 500, "INTERNAL", ""},
		{"cancelled", context.Canceled, 503, "UNAVAILABLE", ""},
		{"http error keeps its status", Errorf(http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "", "too big"), 413, "BODY_TOO_LARGE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), tt.err)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			var body struct {
				Error map[string]string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if got := body.Error["code"]; got != tt.code {
				t.Fatalf("code = %q, want %q", got, tt.code)
			}
			if got := body.Error["field"]; got != tt.field {
				t.Fatalf("field = %q, want %q", got, tt.field)
			}
			if body.Error["message"] == "" || strings.Contains(body.Error["message"], "secret") || strings.Contains(body.Error["message"], "disk") {
				t.Fatalf("message = %q: want one, without internal details", body.Error["message"])
			}
		})
	}
}
