package api_test

import (
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
)

func TestRestock_Roles(t *testing.T) {
	s := newSite(t)
	tests := []struct {
		role   auth.Role
		status int
	}{
		{auth.RoleDriver, http.StatusCreated},
		{auth.RoleOps, http.StatusCreated},
		{auth.RoleAdmin, http.StatusCreated},
		{auth.RoleFinance, http.StatusForbidden},
		{auth.RoleMachine, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(string(tc.role), func(t *testing.T) {
			m := ""
			if tc.role == auth.RoleMachine {
				m = "M1"
			}
			body := map[string]any{"movementId": "mv-" + string(tc.role), "items": []map[string]any{{"productId": "P1", "added": 1}}}
			before := s.Stock("M1", "P1")
			r := s.Do("POST", "/machines/M1/restock", s.Token(tc.role, m), body)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			want := before
			if tc.status == http.StatusCreated {
				want++
			}
			if got := s.Stock("M1", "P1"); got != want {
				t.Fatalf("stock = %d, want %d", got, want)
			}
		})
	}
}

func TestRestock_BadBodies(t *testing.T) {
	s := newSite(t)
	tok := s.Token(auth.RoleDriver, "")
	tests := []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"not json", "/machines/M1/restock", `{"movementId":`, 400, ""},
		{"wrong type", "/machines/M1/restock", `{"movementId":"a","items":[{"productId":"P1","added":"ten"}]}`, 400, "items.added"},
		{"no movement id", "/machines/M1/restock", `{"items":[{"productId":"P1","added":1}]}`, 400, "movementId"},
		{"decommissioned", "/machines/MDEC/restock", `{"movementId":"d","items":[{"productId":"P1","added":1}]}`, 409, "machineId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do("POST", tc.path, tok, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if e := r.Error(t); tc.field != "" && e.Field != tc.field {
				t.Fatalf("field = %q, want %q (%s)", e.Field, tc.field, e.Message)
			}
		})
	}
}
