package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/internal/kvfollow"
	"github.com/vendsync/vendsync/internal/natsusers"
)

// UsersBucket holds operators' NATS users (for the standard nats CLI), shared
// by every node like the site registry: key = the user's public key, value =
// natsusers.User as JSON. Every node follows it, so credentials issued or
// revoked through any node take effect on all of them. It holds no secret:
// the seed goes once to whoever asked for it.
const UsersBucket = "NATS_USERS"

// ErrUserNotFound is returned for a public key that was never issued.
var ErrUserNotFound = errors.New("nats user not found")

// openUsers binds the users bucket and follows it into the authenticator
// until Close; the bucket's current state is applied before it returns.
func (h *Hub) openUsers(ctx context.Context) error {
	var kv jetstream.KeyValue
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		kv, err = h.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: UsersBucket, Description: "vendsync operators' NATS users", History: 5,
			Replicas: h.cfg.Replicas, Storage: jetstream.FileStorage,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("open %s: %w", UsersBucket, err)
	}
	h.mu.Lock()
	h.users = kv
	g, lctx := h.g, h.bg
	h.mu.Unlock()
	return startFollower(ctx, g, UsersBucket, func(ready func()) error { return h.followUsers(lctx, kv, ready) })
}

// followUsers admits and refuses users as the bucket says until ctx ends.
// A watch that cannot start (its consumer's creation times out while a new
// cluster elects its leaders: a node failed to start that way under load)
// or that the server drops is started again (kvfollow); the caller waiting
// for ready bounds the first.
func (h *Hub) followUsers(ctx context.Context, kv jetstream.KeyValue, ready func()) error {
	return kvfollow.Run(ctx, kvfollow.Config{
		Watch: func(ctx context.Context) (jetstream.KeyWatcher, error) { return kv.WatchAll(ctx) },
		Apply: h.applyUser,
		Ready: ready,
		Conn:  h.js.Conn(),
		Restart: func(err error) {
			h.log.Debug().Err(err).Msg("watch nats users: starting it again")
		},
	})
}

func (h *Hub) applyUser(e jetstream.KeyValueEntry) {
	var u natsusers.User
	if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &u) != nil || u.PublicKey != e.Key() || u.RevokedAt != nil {
		if n := h.auth.RemoveUser(e.Key()); n > 0 {
			h.log.Info().Str("nats_user", e.Key()).Int("disconnected", n).Msg("nats user revoked")
		}
		return
	}
	if err := h.auth.AddUser(u.PublicKey, u.Role); err != nil {
		h.log.Error().Err(err).Str("nats_user", u.PublicKey).Msg("apply nats user")
	}
}

func (h *Hub) usersKV() (jetstream.KeyValue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.users == nil {
		return nil, errors.New("hub is not open")
	}
	return h.users, nil
}

// IssueUser makes an NKEY user for an operator's nats CLI with role,
// records it in the users bucket and admits it on this node before
// returning (every other node admits it moments later). It returns the
// seed, which is not kept anywhere, and the user. It returns an error for a
// bad role or name, a closed hub, or if the bucket cannot be written.
func (h *Hub) IssueUser(ctx context.Context, role natsusers.Role, name string) (seed string, u natsusers.User, err error) {
	kv, err := h.usersKV()
	if err != nil {
		return "", natsusers.User{}, fmt.Errorf("issue nats user: %w", err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", natsusers.User{}, fmt.Errorf("issue nats user: %w", err)
	}
	s, err := kp.Seed()
	if err != nil {
		return "", natsusers.User{}, fmt.Errorf("issue nats user: %w", err)
	}
	u = natsusers.User{PublicKey: mustPublic(kp), Role: role, Name: strings.TrimSpace(name), CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := u.Validate(); err != nil {
		return "", natsusers.User{}, fmt.Errorf("issue nats user: %w", err)
	}
	b, _ := json.Marshal(u)
	if _, err := kv.Create(ctx, u.PublicKey, b); err != nil {
		return "", natsusers.User{}, fmt.Errorf("issue nats user: %w", err)
	}
	if err := h.auth.AddUser(u.PublicKey, u.Role); err != nil {
		return "", natsusers.User{}, fmt.Errorf("issue nats user: %w", err)
	}
	h.log.Info().Str("nats_user", u.PublicKey).Str("role", string(u.Role)).Str("name", u.Name).Msg("nats user issued")
	return string(s), u, nil
}

// RevokeUser marks the user pub revoked: every node disconnects it and
// refuses it from then on (this one before RevokeUser returns). It returns
// ErrUserNotFound (wrapped) for a key never issued.
func (h *Hub) RevokeUser(ctx context.Context, pub string) (natsusers.User, error) {
	kv, err := h.usersKV()
	if err != nil {
		return natsusers.User{}, fmt.Errorf("revoke nats user: %w", err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return natsusers.User{}, fmt.Errorf("revoke nats user: %w: %q", ErrUserNotFound, pub)
	}
	for attempt := 0; ; attempt++ {
		e, err := kv.Get(ctx, pub)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return natsusers.User{}, fmt.Errorf("revoke nats user: %w: %s", ErrUserNotFound, pub)
		}
		if err != nil {
			return natsusers.User{}, fmt.Errorf("revoke nats user: %w", err)
		}
		var u natsusers.User
		if err := json.Unmarshal(e.Value(), &u); err != nil {
			return natsusers.User{}, fmt.Errorf("revoke nats user: decode %s: %w", pub, err)
		}
		if u.RevokedAt == nil {
			t := time.Now().UTC().Truncate(time.Millisecond)
			u.RevokedAt = &t
			b, _ := json.Marshal(u)
			if _, err := kv.Update(ctx, pub, b, e.Revision()); err != nil {
				if attempt < 5 {
					continue // changed in between: read it again
				}
				return natsusers.User{}, fmt.Errorf("revoke nats user: %w", err)
			}
		}
		n := h.auth.RemoveUser(pub)
		h.log.Info().Str("nats_user", pub).Int("disconnected", n).Msg("nats user revoked")
		return u, nil
	}
}

// Users lists the operators' NATS users, revoked ones included, oldest
// first.
func (h *Hub) Users(ctx context.Context) ([]natsusers.User, error) {
	kv, err := h.usersKV()
	if err != nil {
		return nil, fmt.Errorf("list nats users: %w", err)
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nats users: %w", err)
	}
	out := []natsusers.User{}
	for k := range lister.Keys() {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list nats users: %w", err)
		}
		var u natsusers.User
		if err := json.Unmarshal(e.Value(), &u); err != nil {
			return nil, fmt.Errorf("list nats users: decode %s: %w", k, err)
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}
