package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/web"
)

// page handles a signed-in request.
type page func(w http.ResponseWriter, r *http.Request, s *session) error

// apiRoles returns the roles of an API route ("GET /sites"): a page is open
// to whoever may call the route it shows. It panics on an unknown route (a
// wiring mistake caught by every test).
func apiRoles(key string) []auth.Role {
	for _, rt := range api.Routes {
		if rt.Method+" "+rt.Pattern == key {
			return rt.Roles
		}
	}
	panic("dashboard: no API route " + key)
}

// both are the roles allowed by every one of keys.
func both(keys ...string) []auth.Role {
	out := slices.Clone(apiRoles(keys[0]))
	for _, k := range keys[1:] {
		rs := apiRoles(k)
		out = slices.DeleteFunc(out, func(r auth.Role) bool { return !slices.Contains(rs, r) })
	}
	return out
}

// Roles of each page, from the API routes they show.
var (
	rolesAny     = hqauth.Roles
	rolesSales   = apiRoles("GET /aggregations/sales")
	rolesExport  = apiRoles("POST /reports/export")
	rolesSites   = apiRoles("GET /sites")
	rolesMachine = apiRoles("GET /machines/{id}")
	rolesAlerts  = both("GET /faults", "GET /alerts")
	rolesResolve = apiRoles("PATCH /faults/{siteId}/{faultId}")
	rolesRoutes  = apiRoles("GET /routes/candidates")
)

// navItem is one entry of the navigation bar.
type navItem struct {
	Label, Path string
	Roles       []auth.Role
}

var nav = []navItem{
	{"Overview", Prefix, rolesAny},
	{"Sales", Prefix + "sales", rolesSales},
	{"Sites", Prefix + "sites", rolesSites},
	{"Alerts & faults", Prefix + "alerts", rolesAlerts},
	{"Routes", Prefix + "routes", rolesRoutes},
}

func (d *Dashboard) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ui", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	mux.Handle("GET /ui/static/", d.static)
	mux.HandleFunc("GET /ui/login", d.loginForm)
	mux.HandleFunc("POST /ui/login", d.login)
	mux.Handle("POST /ui/logout", d.authed(rolesAny, d.logout))
	mux.Handle("GET /ui/{$}", d.authed(rolesAny, d.overview))
	mux.Handle("GET /ui/sales", d.authed(rolesSales, d.sales))
	mux.Handle("GET /ui/sales.csv", d.authed(rolesExport, d.salesCSV))
	mux.Handle("GET /ui/top.csv", d.authed(rolesSales, d.topCSV))
	mux.Handle("GET /ui/heatmap.csv", d.authed(rolesSales, d.heatmapCSV))
	mux.Handle("GET /ui/sales/heat", d.authed(rolesSales, d.salesHeat))
	mux.Handle("GET /ui/sites", d.authed(rolesSites, d.sites))
	mux.Handle("GET /ui/sites/{siteId}", d.authed(rolesSites, d.site))
	mux.Handle("GET /ui/machines/{id}", d.authed(rolesMachine, d.machine))
	mux.Handle("GET /ui/alerts", d.authed(rolesAlerts, d.alerts))
	mux.Handle("POST /ui/faults/{siteId}/{faultId}", d.authed(rolesResolve, d.updateFault))
	mux.Handle("GET /ui/routes", d.authed(rolesRoutes, d.driverRoutes))
	mux.Handle("GET /ui/events", d.authed(rolesAny, d.events))
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		d.fail(w, r, nil, httpErr(http.StatusNotFound, "There is no page %s.", r.URL.Path))
	})
	var h http.Handler = securityHeaders(mux)
	if d.cfg.Metrics != nil {
		h = d.cfg.Metrics.Instrument(h, d.log)
	}
	return h
}

// securityHeaders sets the headers every answer carries. The policy allows
// only this origin's scripts and styles (no inline ones), so injected markup
// cannot run.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// current returns the request's session, or errNoSession. A session whose
// client was revoked is ended.
func (d *Dashboard) current(r *http.Request) (session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || d.sessions == nil {
		return session{}, errNoSession
	}
	s, err := d.sessions.get(r.Context(), c.Value)
	if err != nil {
		return session{}, err
	}
	cl, err := d.cfg.Auth.Client(r.Context(), s.ClientID)
	switch {
	case errors.Is(err, hqauth.ErrNotFound), err == nil && cl.Revoked():
		if err := d.sessions.end(r.Context(), s); err != nil {
			d.log.Warn().Err(err).Msg("end revoked session")
		}
		return session{}, errNoSession
	case err != nil && r.Context().Err() != nil:
		return session{}, err
	case err != nil:
		// The session itself was just read from the same hub, so this is
		// a passing failure: the revocation is caught on the next request.
		d.log.Warn().Err(err).Msg("revocation check skipped")
	}
	return s, nil
}

// authed runs h for a signed-in client whose role is in roles. Without a
// session a page asks for sign-in (an XHR or event stream gets 401); another
// role gets 403. Every request other than GET must carry the session's CSRF
// token and come from this origin.
func (d *Dashboard) authed(roles []auth.Role, h page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := d.current(r)
		if errors.Is(err, errNoSession) {
			clearCookie(w, r, sessionCookie)
			if r.Method == http.MethodGet && !partial(r) && r.URL.Path != Prefix+"events" {
				http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			d.fail(w, r, nil, httpErr(http.StatusUnauthorized, "Your session has ended; sign in again."))
			return
		}
		if err != nil {
			d.fail(w, r, nil, err)
			return
		}
		if !slices.Contains(roles, s.Role) {
			d.fail(w, r, &s, httpErr(http.StatusForbidden, "The %s role cannot use this page.", s.Role))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if !sameOrigin(r) || !tokenEqual(csrfValue(r), s.CSRF) {
				d.log.Warn().Str("client", s.ClientID).Str("path", r.URL.Path).Msg("request refused: bad CSRF token or origin")
				d.fail(w, r, &s, httpErr(http.StatusForbidden, "This form has expired or did not come from this dashboard; reload the page and try again."))
				return
			}
		}
		if r.Method == http.MethodGet {
			// The read model's position before the page reads it: the
			// page's script compares it with the event stream's, so a
			// change committed while the page loaded is not missed.
			pos, err := d.cfg.Store.Position(r.Context())
			if err != nil {
				d.fail(w, r, &s, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), posKey{}, pos))
			w.Header().Set("X-Position", strconv.FormatUint(pos, 10))
		}
		if err := h(w, r, &s); err != nil {
			d.fail(w, r, &s, err)
		}
	})
}

// posKey carries the read model's position a page was read at.
type posKey struct{}

// partial reports whether the page's script asks for the main section only.
func partial(r *http.Request) bool { return r.Header.Get("X-Partial") == "main" }

// statusError is an error shown to the user as it is.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func httpErr(status int, format string, args ...any) error {
	return &statusError{status: status, msg: fmt.Sprintf(format, args...)}
}

// view is what every page template gets.
type view struct {
	Title string
	Path  string
	// URI is the page's path and query, where its forms come back to.
	URI     string
	Session *session
	Nav     []navItem
	Flash   string
	Page    any
	// Pos is the read model's position the page was read at.
	Pos uint64
}

// can reports whether the session's role may do what roles allow (used by
// templates to show or hide controls).
func (v view) can(roles []auth.Role) bool {
	return v.Session != nil && slices.Contains(roles, v.Session.Role)
}

// CanSales and friends tell templates what the role may see and do.
func (v view) CanSales() bool   { return v.can(rolesSales) }
func (v view) CanExport() bool  { return v.can(rolesExport) }
func (v view) CanSites() bool   { return v.can(rolesSites) }
func (v view) CanAlerts() bool  { return v.can(rolesAlerts) }
func (v view) CanResolve() bool { return v.can(rolesResolve) }
func (v view) CanRoutes() bool  { return v.can(rolesRoutes) }
func (v view) CanMachine() bool { return v.can(rolesMachine) }

// render writes page name with data: the whole document, or only its main
// section when the page's script asks for it.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name, title string, s *session, data any) error {
	t, ok := d.pages[name]
	if !ok {
		return fmt.Errorf("render: no template %q", name)
	}
	v := view{Title: title, Path: r.URL.Path, URI: r.URL.RequestURI(), Session: s, Page: data, Flash: r.URL.Query().Get("flash")}
	v.Pos, _ = r.Context().Value(posKey{}).(uint64)
	if s != nil {
		for _, n := range nav {
			if slices.Contains(n.Roles, s.Role) {
				v.Nav = append(v.Nav, n)
			}
		}
	}
	tmpl := "layout"
	if partial(r) {
		tmpl = "main"
	}
	// Render to a buffer first: a template error then becomes a proper
	// error page instead of half a page.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// renderFragment writes the main section of page name with data as its
// page data, for a page's script to place.
func (d *Dashboard) renderFragment(w http.ResponseWriter, name string, data any) error {
	t, ok := d.pages[name]
	if !ok {
		return fmt.Errorf("render: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "main", view{Page: data}); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := w.Write(buf.Bytes())
	return err
}

// fail answers err as an error page (or a short text for the page's
// script). Errors other than statusError and the API's are logged and
// shown as a 500 without details.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on this node; the details are in its log."
	var se *statusError
	var we *web.Error
	switch {
	case errors.As(err, &se):
		status, msg = se.status, se.msg
	case errors.As(err, &we):
		status, msg = we.Status, we.Message
	case errors.Is(err, context.Canceled) || r.Context().Err() != nil:
		return // the browser went away
	default:
		d.log.Error().Err(err).Str("path", r.URL.Path).Msg("dashboard request failed")
	}
	if partial(r) || r.URL.Path == Prefix+"events" || strings.HasSuffix(r.URL.Path, ".csv") {
		http.Error(w, msg, status)
		return
	}
	if rerr := d.render(w, r, status, "error", "Error", s, msg); rerr != nil {
		d.log.Error().Err(rerr).Msg("render error page")
		http.Error(w, msg, status)
	}
}

// parsePages parses the layout with each page's template.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	out := map[string]*template.Template{}
	for _, e := range names {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", e.Name(), err)
		}
		out[name] = t
	}
	return out, nil
}
