package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/internal/web"
)

// NewClient is the body of POST /clients: the only time the secret is shown.
type NewClient struct {
	hqauth.Client
	ClientSecret string `json:"clientSecret"`
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
	web.WriteJSON(w, http.StatusCreated, NewClient{Client: c, ClientSecret: secret})
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
