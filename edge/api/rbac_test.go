package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/api"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
)

// concrete fills a route pattern's wildcards. DELETE targets a machine that
// does not exist so the matrix changes nothing.
func concrete(rt api.Route) string {
	p := rt.Pattern
	if rt.Method == "DELETE" {
		return strings.ReplaceAll(p, "{id}", "NOPE")
	}
	if strings.HasPrefix(p, "/faults/") {
		return strings.ReplaceAll(p, "{id}", "1")
	}
	return strings.NewReplacer("{id}", "M1", "{pid}", "P1").Replace(p)
}

func TestRBAC_Matrix(t *testing.T) {
	s := newSite(t)
	fault := map[string]any{"machineId": "M1", "faultType": "JAM", "timestamp": t0.Format(time.RFC3339)}
	if r := s.Do("POST", "/events/faults", s.AdminToken(), fault); r.Status != http.StatusCreated {
		t.Fatalf("POST /events/faults: %d %s", r.Status, r.Body)
	}
	tokens := map[auth.Role]string{}
	// CUSTOMER is central's role: a site's store refuses such a client.
	roles := slices.DeleteFunc(slices.Clone(auth.Roles), func(r auth.Role) bool { return r == auth.RoleCustomer })
	for _, role := range roles {
		m := ""
		if role == auth.RoleMachine {
			m = "M1"
		}
		tokens[role] = s.Token(role, m)
	}
	before := edgetest.Counts(t, s.DB())
	for _, rt := range api.Routes {
		path := concrete(rt)
		var body any
		if rt.Method != "GET" && rt.Method != "DELETE" {
			body = `{}` // invalid for every write: allowed roles get 400, nothing changes
		}
		t.Run(rt.Method+" "+rt.Pattern+" without token", func(t *testing.T) {
			r := s.Do(rt.Method, path, "", body)
			if rt.Roles == nil {
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
					t.Fatalf("public route answered %d: %s", r.Status, r.Body)
				}
				return
			}
			if got, want := r.Status, http.StatusUnauthorized; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if got, want := r.Error(t).Code, "UNAUTHENTICATED"; got != want {
				t.Fatalf("code = %q, want %q", got, want)
			}
			if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
		})
		if rt.Roles == nil {
			continue
		}
		for _, role := range roles {
			allowed := slices.Contains(rt.Roles, role)
			t.Run(rt.Method+" "+rt.Pattern+" as "+string(role), func(t *testing.T) {
				r := s.Do(rt.Method, path, tokens[role], body)
				if !allowed {
					if got, want := r.Status, http.StatusForbidden; got != want {
						t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
					}
					if got, want := r.Error(t).Code, "FORBIDDEN"; got != want {
						t.Fatalf("code = %q, want %q", got, want)
					}
					return
				}
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500 {
					t.Fatalf("allowed role answered %d: %s", r.Status, r.Body)
				}
			})
		}
	}
	sameCounts(t, before, edgetest.Counts(t, s.DB()))
}

// TestRBAC_MachineScope: a MACHINE token acts only for its own machine.
func TestRBAC_MachineScope(t *testing.T) {
	s := newSite(t)
	s.Machine("M2")
	s.Product("M2", "P1", 250, 100)
	tok := s.Token(auth.RoleMachine, "M1")
	ts := t0.Format(time.RFC3339)
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
	}{
		{name: "own sale", method: "POST", path: "/events/sales", body: s.Sale("tx-own", "M1", "P1", 1, 250), status: 201},
		{name: "other machine's sale", method: "POST", path: "/events/sales", body: s.Sale("tx-other", "M2", "P1", 1, 250), status: 403},
		{name: "unknown machine's sale", method: "POST", path: "/events/sales", body: s.Sale("tx-unknown", "M3", "P1", 1, 250), status: 403},
		{name: "own telemetry", method: "POST", path: "/events/telemetry", body: map[string]any{"machineId": "M1", "temperature": 4, "timestamp": ts}, status: 202},
		{name: "other machine's telemetry", method: "POST", path: "/events/telemetry", body: map[string]any{"machineId": "M2", "temperature": 4, "timestamp": ts}, status: 403},
		{name: "own fault", method: "POST", path: "/events/faults", body: map[string]any{"machineId": "M1", "faultType": "JAM", "timestamp": ts}, status: 201},
		{name: "other machine's fault", method: "POST", path: "/events/faults", body: map[string]any{"machineId": "M2", "faultType": "JAM", "timestamp": ts}, status: 403},
		{name: "own machine", method: "GET", path: "/machines/M1", status: 200},
		{name: "other machine", method: "GET", path: "/machines/M2", status: 403},
		{name: "own inventory", method: "GET", path: "/machines/M1/inventory", status: 200},
		{name: "other machine's inventory", method: "GET", path: "/machines/M2/inventory", status: 403},
		{name: "unknown machine's inventory", method: "GET", path: "/machines/NOPE/inventory", status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := edgetest.Counts(t, s.DB())
			r := s.Do(tt.method, tt.path, tok, tt.body)
			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if tt.status == http.StatusForbidden {
				e := r.Error(t)
				if got, want := e.Code, "FORBIDDEN"; got != want {
					t.Fatalf("code = %q, want %q", got, want)
				}
				if got, want := e.Field, "machineId"; got != want {
					t.Fatalf("field = %q, want %q", got, want)
				}
				sameCounts(t, before, edgetest.Counts(t, s.DB()))
			}
		})
	}
	t.Run("batch with another machine's sale", func(t *testing.T) {
		r := s.Do("POST", "/events/batch", tok, map[string]any{"events": []any{
			s.Sale("tx-b-own", "M1", "P1", 1, 250), s.Sale("tx-b-other", "M2", "P1", 1, 250),
		}})
		if got, want := r.Status, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
		}
		var ans batchAnswer
		r.Decode(t, &ans)
		if got, want := ans.Results[0].Status, "ACCEPTED"; got != want {
			t.Fatalf("own event: %q, want %q", got, want)
		}
		if got, want := ans.Results[1].Status, "REJECTED"; got != want || ans.Results[1].Error.Code != "FORBIDDEN" {
			t.Fatalf("other machine's event: %q %+v, want %q FORBIDDEN", got, ans.Results[1].Error, want)
		}
	})
	if got, want := s.Stock("M2", "P1"), int64(100); got != want {
		t.Fatalf("M2 stock = %d, want %d", got, want)
	}
	for _, tbl := range []string{"sales_events", "telemetry_events", "fault_events"} {
		if n := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM `+tbl+` WHERE machine_id = 'M2'`); n != 0 {
			t.Fatalf("%d %s rows for M2", n, tbl)
		}
	}
}

func TestAuth_Tokens(t *testing.T) {
	clock := edgetest.NewClock(t0)
	s := edgetest.Start(t, edgetest.Options{Clock: clock})
	other := edgetest.Start(t, edgetest.Options{Site: "other-site", Clock: clock})
	ops := s.Client(auth.RoleOps, "")
	revoked := s.Client(auth.RoleOps, "")
	revokedTok := s.TokenFor(revoked)
	if err := s.Node.Store.RevokeClient(t.Context(), revoked.ClientID); err != nil {
		t.Fatal(err)
	}
	tokenTests := []struct {
		name        string
		id, secret  string
		status      int
		code, field string
	}{
		{name: "right secret", id: ops.ClientID, secret: ops.ClientSecret, status: 200},
		{name: "wrong secret", id: ops.ClientID, secret: ops.ClientSecret + "x", status: 401, code: "INVALID_CLIENT", field: "client_id"},
		{name: "another client's secret", id: ops.ClientID, secret: s.Admin.ClientSecret, status: 401, code: "INVALID_CLIENT", field: "client_id"},
		{name: "unknown client", id: "ops_0000000000000000", secret: ops.ClientSecret, status: 401, code: "INVALID_CLIENT", field: "client_id"},
		{name: "revoked client", id: revoked.ClientID, secret: revoked.ClientSecret, status: 401, code: "INVALID_CLIENT", field: "client_id"},
	}
	for _, tt := range tokenTests {
		t.Run("token "+tt.name, func(t *testing.T) {
			r := s.Do("POST", "/auth/token", "", map[string]string{"client_id": tt.id, "client_secret": tt.secret})
			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if tt.code == "" {
				if got, want := r.Header.Get("Cache-Control"), "no-store"; got != want {
					t.Fatalf("Cache-Control = %q, want %q", got, want)
				}
				return
			}
			e := r.Error(t)
			if e.Code != tt.code || e.Field != tt.field {
				t.Fatalf("error = %+v, want code %q field %q", e, tt.code, tt.field)
			}
		})
	}

	tok := s.TokenFor(ops)
	otherTok := other.AdminToken()
	bearerTests := []struct {
		name   string
		header string
		at     time.Time
		status int
	}{
		{name: "valid", header: "Bearer " + tok, at: t0, status: 200},
		{name: "just before expiry", header: "Bearer " + tok, at: t0.Add(time.Hour - time.Second), status: 200},
		{name: "expired", header: "Bearer " + tok, at: t0.Add(time.Hour), status: 401},
		{name: "revoked client's earlier token is refused at once", header: "Bearer " + revokedTok, at: t0, status: 401},
		{name: "another site's token", header: "Bearer " + otherTok, at: t0, status: 401},
		{name: "tampered", header: "Bearer " + tok[:len(tok)-2] + "AA", at: t0, status: 401},
		{name: "garbage", header: "Bearer not.a.token", at: t0, status: 401},
		{name: "no scheme", header: tok, at: t0, status: 401},
		{name: "basic scheme", header: "Basic " + tok, at: t0, status: 401},
		{name: "empty bearer", header: "Bearer ", at: t0, status: 401},
	}
	for _, tt := range bearerTests {
		t.Run("bearer "+tt.name, func(t *testing.T) {
			clock.Set(tt.at)
			defer clock.Set(t0)
			r := s.Do("GET", "/machines", "", nil, "Authorization", tt.header)
			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if tt.status == http.StatusUnauthorized {
				if got, want := r.Error(t).Code, "UNAUTHENTICATED"; got != want {
					t.Fatalf("code = %q, want %q", got, want)
				}
			}
		})
	}
}
