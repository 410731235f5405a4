package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/internal/natsusers"
	"github.com/vendsync/vendsync/internal/web"
)

// NATSUsers issues, revokes and lists operators' NATS users for the
// standard nats CLI (central/hub implements it).
type NATSUsers interface {
	IssueUser(ctx context.Context, role natsusers.Role, name string) (seed string, u natsusers.User, err error)
	RevokeUser(ctx context.Context, pub string) (natsusers.User, error)
	Users(ctx context.Context) ([]natsusers.User, error)
}

var _ NATSUsers = (*hub.Hub)(nil)

// NATSUserCreated is the answer of POST /nats/users: the user and its NKEY
// seed, shown this once and kept nowhere at central.
type NATSUserCreated struct {
	natsusers.User
	Seed string `json:"seed"`
}

// createNATSUser is POST /nats/users {"role": "ops"|"read-only", "name"}.
func (s *server) createNATSUser(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.NATSUsers == nil {
		return web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node issues no NATS users")
	}
	var body struct {
		Role *string `json:"role"`
		Name string  `json:"name"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.Role == nil {
		return web.Invalid("role", "role is required: %s or %s", natsusers.RoleOps, natsusers.RoleReadOnly)
	}
	role, err := natsusers.ParseRole(*body.Role)
	if err != nil {
		return web.Invalid("role", "%v", err)
	}
	if len(body.Name) > 128 {
		return web.Invalid("name", "name: at most 128 bytes")
	}
	seed, u, err := s.cfg.NATSUsers.IssueUser(r.Context(), role, body.Name)
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("nats_user", u.PublicKey).Str("role", string(u.Role)).Str("by", who(r)).Msg("nats user issued")
	web.WriteJSON(w, http.StatusCreated, NATSUserCreated{User: u, Seed: seed})
	return nil
}

// listNATSUsers is GET /nats/users: every user issued, revoked ones too.
func (s *server) listNATSUsers(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.NATSUsers == nil {
		return web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node issues no NATS users")
	}
	us, err := s.cfg.NATSUsers.Users(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"users": us})
	return nil
}

// revokeNATSUser is DELETE /nats/users/{key}: every node disconnects the
// user and refuses it from then on.
func (s *server) revokeNATSUser(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.NATSUsers == nil {
		return web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node issues no NATS users")
	}
	key := r.PathValue("key")
	u, err := s.cfg.NATSUsers.RevokeUser(r.Context(), key)
	if errors.Is(err, hub.ErrUserNotFound) {
		return web.NotFound("key", "no NATS user %q", key)
	}
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("nats_user", key).Str("by", who(r)).Msg("nats user revoked")
	web.WriteJSON(w, http.StatusOK, u)
	return nil
}
