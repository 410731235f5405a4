package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/vendsync/vendsync/central/hqauth"
)

// loginPage is the sign-in form's data.
type loginPage struct {
	CSRF  string
	Next  string
	Error string
	ID    string
}

// loginForm is GET /ui/login. A signed-in client goes straight on.
func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := d.current(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d.showLogin(w, r, http.StatusOK, loginPage{Next: next})
}

func (d *Dashboard) showLogin(w http.ResponseWriter, r *http.Request, status int, p loginPage) {
	// The form's CSRF token is a fresh random value kept in a cookie and in
	// the form (double submit): a cross-site form cannot read the cookie.
	p.CSRF = randomToken()
	setCookie(w, r, loginCookie, p.CSRF, 3600)
	if err := d.render(w, r, status, "login", "Sign in", nil, p); err != nil {
		d.fail(w, r, nil, err)
	}
}

// login is POST /ui/login: client credentials in, session cookie out.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id := strings.TrimSpace(r.PostFormValue("client_id"))
	secret := r.PostFormValue("client_secret")
	p := loginPage{Next: safeNext(r.PostFormValue("next")), ID: id}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !tokenEqual(r.PostFormValue("csrf"), c.Value) {
		p.Error = "The sign-in form expired; please try again."
		d.showLogin(w, r, http.StatusForbidden, p)
		return
	}
	if d.limiter.blocked(clientAddr(r)) {
		d.log.Warn().Str("addr", clientAddr(r)).Msg("sign-in refused: too many failed attempts")
		p.Error = "Too many failed sign-ins from this address; wait a minute."
		d.showLogin(w, r, http.StatusTooManyRequests, p)
		return
	}
	if id == "" || secret == "" {
		p.Error = "Enter a client id and its secret."
		d.showLogin(w, r, http.StatusBadRequest, p)
		return
	}
	cl, err := d.cfg.Auth.Authenticate(r.Context(), id, secret)
	if errors.Is(err, hqauth.ErrBadCredentials) {
		d.limiter.fail(clientAddr(r))
		d.log.Warn().Str("client", id).Str("addr", clientAddr(r)).Msg("sign-in refused: bad credentials")
		p.Error = "Unknown client, wrong secret or revoked credentials."
		d.showLogin(w, r, http.StatusUnauthorized, p)
		return
	}
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	if d.sessions == nil {
		d.fail(w, r, nil, httpErr(http.StatusServiceUnavailable, "Sessions are not available on this node yet."))
		return
	}
	tok, _, err := d.sessions.create(r.Context(), cl.ID, cl.Role, cl.Name)
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	d.log.Info().Str("client", cl.ID).Str("role", string(cl.Role)).Msg("signed in to the dashboard")
	clearCookie(w, r, loginCookie)
	setCookie(w, r, sessionCookie, tok, int(d.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

// logout is POST /ui/logout: the session ends on every node.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := d.sessions.end(r.Context(), *s); err != nil {
		return err
	}
	d.log.Info().Str("client", s.ClientID).Msg("signed out of the dashboard")
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
	return nil
}
