package leaf

import (
	"encoding/base64"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/natsusers"
)

// usersAuth admits clients of the site's NATS port: the node's own
// in-process client with every right, and the operator users of the
// site's users file (natsusers.SiteFile) with their role's permissions. It
// rereads the file when it changes, at every connect and every
// usersRefresh, and disconnects users revoked or removed from it.
type usersAuth struct {
	internalPub string
	path        string
	log         zerolog.Logger

	mu      sync.Mutex
	srv     *server.Server
	acc     *server.Account
	stamp   string // the file's size and modification time when last read
	users   map[string]natsusers.Role
	conns   map[string]map[uint64]bool // public key -> connection ids
	readErr string                     // the last error reading the file, logged once
}

const usersRefresh = 2 * time.Second

var _ server.Authentication = (*usersAuth)(nil)

func newUsersAuth(internalPub, path string, log zerolog.Logger) *usersAuth {
	return &usersAuth{internalPub: internalPub, path: path, log: log, users: map[string]natsusers.Role{}, conns: map[string]map[uint64]bool{}}
}

func (a *usersAuth) bind(s *server.Server) {
	a.mu.Lock()
	a.srv, a.acc = s, s.GlobalAccount()
	a.mu.Unlock()
}

// Check implements server.Authentication.
func (a *usersAuth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o == nil || o.Nkey == "" || o.Sig == "" {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(o.Sig)
	if err != nil {
		if sig, err = base64.StdEncoding.DecodeString(o.Sig); err != nil {
			return false
		}
	}
	pk, err := nkeys.FromPublicKey(o.Nkey)
	if err != nil || pk.Verify(c.GetNonce(), sig) != nil {
		return false
	}
	a.reload()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv == nil {
		return false
	}
	if o.Nkey == a.internalPub {
		c.RegisterUser(&server.User{Username: "vendsync-site", Account: a.acc})
		return true
	}
	role, ok := a.users[o.Nkey]
	if !ok {
		return false
	}
	c.RegisterUser(&server.User{Username: "ops-" + o.Nkey[:12], Account: a.acc, Permissions: natsusers.Permissions(role, nil)})
	if a.conns[o.Nkey] == nil {
		a.conns[o.Nkey] = map[uint64]bool{}
	}
	a.conns[o.Nkey][c.GetID()] = true
	return true
}

// reload rereads the users file if it changed, and disconnects the users
// it no longer admits (or admits with another role).
func (a *usersAuth) reload() {
	fi, err := os.Stat(a.path)
	stamp := ""
	if err == nil {
		stamp = fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
	}
	a.mu.Lock()
	if stamp == a.stamp && stamp != "" {
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	list, err := natsusers.ReadFile(a.path)
	a.mu.Lock()
	if err != nil {
		if err.Error() != a.readErr {
			a.readErr = err.Error()
			a.log.Error().Err(err).Msg("nats users file unreadable: keeping the users read before")
		}
		a.mu.Unlock()
		return
	}
	a.readErr, a.stamp = "", stamp
	next := map[string]natsusers.Role{}
	for _, u := range list {
		if u.RevokedAt == nil {
			next[u.PublicKey] = u.Role
		}
	}
	var stale []uint64
	for pub, ids := range a.conns {
		if role, ok := next[pub]; !ok || role != a.users[pub] {
			for id := range ids {
				stale = append(stale, id)
			}
			delete(a.conns, pub)
		}
	}
	a.users = next
	srv := a.srv
	a.mu.Unlock()
	for _, id := range stale {
		if srv != nil {
			_ = srv.DisconnectClientByID(id)
		}
	}
	if len(stale) > 0 {
		a.log.Info().Int("disconnected", len(stale)).Msg("nats users revoked")
	}
}

// follow rereads the file every usersRefresh until stop closes.
func (a *usersAuth) follow(stop <-chan struct{}) {
	t := time.NewTicker(usersRefresh)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			a.reload()
		}
	}
}
