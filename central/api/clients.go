package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
)

// NewClient is the body of POST /clients: the only time the secret is shown.
// It also carries the id and secret as client_id and client_secret, the
// names every credentials file (and POST /auth/token) uses, so the answer
// can be saved as the client's credentials file as is.
type NewClient struct {
	hqauth.Client
	ClientSecret string `json:"clientSecret"`
	FileID       string `json:"client_id"`
	FileSecret   string `json:"client_secret"`
}

func (s *server) createClient(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Role *string `json:"role"`
		Name *string `json:"name"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.Role == nil {
		return web.Invalid("role", "role is required (ADMIN, OPS, FINANCE or DRIVER)")
	}
	role, err := hqauth.ParseRole(*body.Role)
	if err != nil {
		return web.Invalid("role", "role %q: must be one of ADMIN, OPS, FINANCE, DRIVER (machines get credentials at their site)", *body.Role)
	}
	if body.Name == nil {
		return web.Invalid("name", "name is required")
	}
	id, secret, err := s.cfg.Auth.AddClient(r.Context(), role, *body.Name)
	if errors.Is(err, hqauth.ErrInvalid) {
		return web.Invalid("name", "name must be 1 to 128 characters")
	}
	if err != nil {
		return err
	}
	c, err := s.cfg.Auth.Client(r.Context(), id)
	if err != nil {
		return err
	}
	s.log.Info().Str("client", id).Str("role", string(role)).Str("by", who(r)).Msg("hq client created")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/clients/"+id)
	web.WriteJSON(w, http.StatusCreated, NewClient{Client: c, ClientSecret: secret, FileID: c.ID, FileSecret: secret})
	return nil
}

// maxRouteSites bounds the sites of one driver's route.
const maxRouteSites = 200

// createDriver is POST /drivers {"name", "sites"}: an HQ DRIVER client for
// the route at central, and per site a DRIVER credential for that site's
// edge. A site credential is made here, but only its secret's hash is sent,
// over the downlink and only to its own site (driver.<clientId>), so it
// works at that site and nowhere else; HQ's token key never leaves
// central. The secrets are in this answer only.
func (s *server) createDriver(w http.ResponseWriter, r *http.Request) error {
	var body hqapi.NewDriverRequest
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if len(body.Sites) == 0 {
		return web.Invalid("sites", "sites is required: the sites of the driver's route")
	}
	if len(body.Sites) > maxRouteSites {
		return web.Invalid("sites", "at most %d sites on one route", maxRouteSites)
	}
	seen := map[string]bool{}
	for _, site := range body.Sites {
		if err := envelope.ValidateSiteID(site); err != nil {
			return web.Invalid("sites", "%v", err)
		}
		if seen[site] {
			return web.Invalid("sites", "site %q is listed twice", site)
		}
		seen[site] = true
		if s.cfg.Sites != nil {
			st, err := s.cfg.Sites.Get(r.Context(), site)
			if errors.Is(err, sitereg.ErrNotFound) {
				return web.Invalid("sites", "site %q is not registered", site)
			}
			if err != nil {
				return err
			}
			if st.RevokedAt != nil {
				return web.Invalid("sites", "site %q is revoked", site)
			}
		}
	}
	id, secret, err := s.cfg.Auth.AddDriver(r.Context(), body.Name, body.Sites)
	if errors.Is(err, hqauth.ErrInvalid) {
		return web.Invalid("name", "name must be 1 to 128 characters")
	}
	if err != nil {
		return err
	}
	out := hqapi.NewDriver{Name: body.Name, ClientID: id, ClientSecret: secret, Sites: []hqapi.SiteCredential{}}
	for _, site := range body.Sites {
		cid, csecret := auth.NewClientID(envelope.DriverClientPrefix), auth.NewSecret()
		cred := envelope.DriverCredential{Name: body.Name + " (" + id + ")", SecretHash: auth.HashSecret(csecret)}
		p, err := publish(r.Context(), s, who(r), site, "", envelope.DriverKey(cid), func(v *envelope.DriverCredential) { *v = cred })
		if err != nil {
			return err
		}
		out.Sites = append(out.Sites, hqapi.SiteCredential{SiteID: site, ClientID: cid, ClientSecret: csecret, Revision: p.Revision})
	}
	s.log.Info().Str("client", id).Strs("sites", body.Sites).Str("by", who(r)).Msg("driver created")
	w.Header().Set("Cache-Control", "no-store")
	web.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (s *server) listClients(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.cfg.Auth.List(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"clients": cs})
	return nil
}

func (s *server) revokeClient(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, err := s.cfg.Auth.Revoke(r.Context(), id)
	if errors.Is(err, hqauth.ErrNotFound) {
		return web.NotFound("clientId", "no client %q", id)
	}
	if err != nil {
		return err
	}
	s.log.Info().Str("client", id).Str("by", who(r)).Time("revokedAt", c.RevokedAt.UTC().Truncate(time.Millisecond)).Msg("hq client revoked")
	web.WriteJSON(w, http.StatusOK, c)
	return nil
}

// rotateKey is POST /auth/rotate-key {"confirm": true}: a new token
// signing key for every central node; every token issued before, the
// caller's included, is refused from now on.
func (s *server) rotateKey(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Confirm bool `json:"confirm"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if !body.Confirm {
		return web.Invalid("confirm", `confirm must be true: every HQ token, yours included, stops working`)
	}
	key, err := s.cfg.Auth.RotateKey(r.Context())
	if err != nil {
		return err
	}
	// This node at once; the others follow the bucket (WatchSigningKey).
	if err := s.cfg.Signer.Rotate(key); err != nil {
		return err
	}
	s.log.Warn().Str("by", who(r)).Msg("token signing key rotated: every earlier HQ token is refused")
	web.WriteJSON(w, http.StatusOK, map[string]any{"rotated": true, "message": "every token issued before is refused; get a new one from POST /auth/token"})
	return nil
}
