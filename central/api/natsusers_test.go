package api_test

import (
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/natsusers"
)

func TestNATSUsers_IssueListRevoke(t *testing.T) {
	c := newCentral(t)
	admin := c.Token(auth.RoleAdmin)
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{name: "no role", body: map[string]string{"name": "x"}, field: "role"},
		{name: "unknown role", body: map[string]string{"role": "admin"}, field: "role"},
		{name: "unknown field", body: map[string]any{"role": "ops", "seed": "x"}, field: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("POST", "/nats/users", admin, tc.body)
			if got, want := r.Status, http.StatusBadRequest; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if tc.field != "" && r.Error(t).Field != tc.field {
				t.Fatalf("field = %q, want %q", r.Error(t).Field, tc.field)
			}
		})
	}
	r := c.Do("POST", "/nats/users", admin, map[string]string{"role": "read-only", "name": "alice"})
	if got, want := r.Status, http.StatusCreated; got != want {
		t.Fatalf("issue: status = %d, want %d: %s", got, want, r.Body)
	}
	var u api.NATSUserCreated
	r.JSON(t, &u)
	if u.Role != natsusers.RoleReadOnly || u.Name != "alice" || u.Seed == "" || u.PublicKey == "" {
		t.Fatalf("issued %+v", u)
	}
	var list struct{ Users []natsusers.User }
	c.Do("GET", "/nats/users", admin, nil).JSON(t, &list)
	if len(list.Users) != 1 || list.Users[0].PublicKey != u.PublicKey || list.Users[0].RevokedAt != nil {
		t.Fatalf("list = %+v", list.Users)
	}
	if r := c.Do("DELETE", "/nats/users/"+u.PublicKey, admin, nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	c.Do("GET", "/nats/users", admin, nil).JSON(t, &list)
	if len(list.Users) != 1 || list.Users[0].RevokedAt == nil {
		t.Fatalf("after revoke, list = %+v", list.Users)
	}
	if r := c.Do("DELETE", "/nats/users/UNOPE", admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("revoke unknown: %d %s", r.Status, r.Body)
	}
}
