package web

import (
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/auth"
)

// Route is one endpoint and the roles allowed to call it (none: public).
type Route struct {
	Method, Pattern string
	Roles           []auth.Role
}

// Mount serves routes, instrumented with m: each route's handler comes from
// handlers by "METHOD pattern" ("GET /metrics" serves m itself); a route with
// roles runs behind a.Require, and behind guard too when one is given. A
// known path asked with another method answers 405 with Allow, anything else
// 404. It panics on a route without a handler (a wiring mistake).
func Mount(routes []Route, handlers map[string]Handler, m *Metrics, a *Authenticator,
	guard func(http.Handler) http.Handler, log zerolog.Logger) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		key := rt.Method + " " + rt.Pattern
		if key == "GET /metrics" {
			mux.Handle(key, m.Handler())
			continue
		}
		h, ok := handlers[key]
		if !ok {
			panic("web: no handler for " + key)
		}
		switch {
		case rt.Roles == nil:
			mux.Handle(key, h)
		case guard != nil:
			mux.Handle(key, a.Require(guard(h), rt.Roles...))
		default:
			mux.Handle(key, a.Require(h, rt.Roles...))
		}
	}
	mux.Handle("/", Handler(func(w http.ResponseWriter, r *http.Request) error {
		if allow := methodsFor(routes, r.URL.Path); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return Errorf(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "", "%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))
		}
		return NotFound("", "no route %s %s", r.Method, r.URL.Path)
	}))
	return m.Instrument(mux, log)
}

// methodsFor lists the methods routes serve on path.
func methodsFor(routes []Route, path string) []string {
	segs := strings.Split(path, "/")
	var out []string
	for _, rt := range routes {
		ps := strings.Split(rt.Pattern, "/")
		if len(ps) != len(segs) {
			continue
		}
		match := true
		for i := range ps {
			if ps[i] != segs[i] && !(strings.HasPrefix(ps[i], "{") && segs[i] != "") {
				match = false
				break
			}
		}
		if match {
			out = append(out, rt.Method)
		}
	}
	return out
}
