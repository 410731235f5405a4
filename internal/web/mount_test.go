package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/auth"
)

func TestMount_RoutesRolesAndFallbacks(t *testing.T) {
	signer, err := auth.NewSigner(auth.NewKey(), "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ok := Handler(func(w http.ResponseWriter, r *http.Request) error {
		WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
		return nil
	})
	guarded := 0
	guard := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { guarded++; h.ServeHTTP(w, r) })
	}
	routes := []Route{
		{Method: "GET", Pattern: "/open"},
		{Method: "GET", Pattern: "/things/{id}", Roles: []auth.Role{auth.RoleOps}},
		{Method: "GET", Pattern: "/metrics"},
	}
	srv := httptest.NewServer(Mount(routes, map[string]Handler{"GET /open": ok, "GET /things/{id}": ok},
		NewMetrics("t"), &Authenticator{Signer: signer}, guard, zerolog.Nop()))
	defer srv.Close()
	ops, _ := signer.Issue(auth.Claims{ClientID: "c", Role: auth.RoleOps}, time.Now())
	fin, _ := signer.Issue(auth.Claims{ClientID: "c", Role: auth.RoleFinance}, time.Now())
	tests := []struct {
		name, method, path, token string
		status                    int
		allow                     string
	}{
		{"public", "GET", "/open", "", 200, ""},
		{"no token", "GET", "/things/1", "", 401, ""},
		{"wrong role", "GET", "/things/1", fin, 403, ""},
		{"right role", "GET", "/things/1", ops, 200, ""},
		{"wrong method on a known path", "POST", "/things/1", ops, 405, "GET"},
		{"unknown path", "GET", "/nope", ops, 404, ""},
		{"metrics", "GET", "/metrics", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := resp.StatusCode, tt.status; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := resp.Header.Get("Allow"), tt.allow; got != want {
				t.Fatalf("Allow = %q, want %q", got, want)
			}
		})
	}
	if guarded != 1 {
		t.Fatalf("guard ran %d times, want once (only the authorized protected call)", guarded)
	}
}

func TestMount_PanicsOnMissingHandler(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Mount accepted a route without a handler")
		}
	}()
	Mount([]Route{{Method: "GET", Pattern: "/x"}}, nil, NewMetrics("p"), &Authenticator{}, nil, zerolog.Nop())
}
