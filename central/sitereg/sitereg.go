// Package sitereg is central's registry of sites, shared by every central
// node through one replicated JetStream KV bucket: the single source of the
// sites' identities. Registering a site creates its NKEY user: the public key
// goes into the bucket, the seed goes once to the installer. Every hub node
// follows the bucket (Follow) to admit and refuse leaf connections, so a site
// can connect to any node, and a revocation disconnects it everywhere.
package sitereg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/internal/kvfollow"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Bucket is the KV bucket holding the registry: key = site id, value = Site
// as JSON. Sites cannot read it.
const Bucket = "SITE_REGISTRY"

// Errors returned by the registry.
var (
	ErrExists   = errors.New("site already registered")
	ErrNotFound = errors.New("site not registered")
)

// Site is a registered site.
type Site struct {
	ID        string     `json:"siteId"`
	Name      string     `json:"name"`
	City      string     `json:"city"`
	Timezone  string     `json:"timezone"`
	Lat       *float64   `json:"lat,omitempty"`
	Lng       *float64   `json:"lng,omitempty"`
	PublicKey string     `json:"publicKey"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Validate names the first bad field of a site to register.
func (s Site) Validate() error {
	if err := envelope.ValidateSiteID(s.ID); err != nil {
		return fmt.Errorf("siteId: %w", err)
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return fmt.Errorf("timezone %q: not a known IANA timezone", s.Timezone)
		}
	}
	if s.Lat != nil && (*s.Lat < -90 || *s.Lat > 90) {
		return fmt.Errorf("lat %v: must be between -90 and 90", *s.Lat)
	}
	if s.Lng != nil && (*s.Lng < -180 || *s.Lng > 180) {
		return fmt.Errorf("lng %v: must be between -180 and 180", *s.Lng)
	}
	return nil
}

// Registry is the shared site registry.
type Registry struct {
	kv  jetstream.KeyValue
	nc  *nats.Conn // the bucket's connection: a watch starts again when it reconnects
	now func() time.Time
}

// Open creates or binds the registry bucket with the given replicas.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Registry, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "vendsync site registry", History: 5, Replicas: max(1, replicas), Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("open site registry: %w", err)
	}
	return &Registry{kv: kv, nc: js.Conn(), now: time.Now}, nil
}

// Add registers s with a new NKEY user and returns the user's seed, which
// only the site keeps. It fails with ErrExists for a site that is registered
// and not revoked unless rotate is set, in which case the site gets a new key
// and connections made with the old one are refused.
func (r *Registry) Add(ctx context.Context, s Site, rotate bool) (seed string, out Site, err error) {
	if err := s.Validate(); err != nil {
		return "", Site{}, err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", Site{}, fmt.Errorf("create site key: %w", err)
	}
	pub, _ := kp.PublicKey()
	rawSeed, _ := kp.Seed()
	s.PublicKey = pub
	if out, err = r.Register(ctx, s, rotate); err != nil {
		return "", out, err
	}
	return string(rawSeed), out, nil
}

// Register registers s with the NKEY user key s.PublicKey, made elsewhere
// (by an installer). It fails for a bad site or key, and with ErrExists as
// Add does.
func (r *Registry) Register(ctx context.Context, s Site, rotate bool) (Site, error) {
	if err := s.Validate(); err != nil {
		return Site{}, err
	}
	if !nkeys.IsValidPublicUserKey(s.PublicKey) {
		return Site{}, fmt.Errorf("site %s: publicKey is not an NKEY user public key", s.ID)
	}
	return r.change(ctx, s.ID, "register", func(cur *Site) (Site, bool, error) {
		if cur != nil && cur.RevokedAt == nil && !rotate {
			return *cur, false, fmt.Errorf("%w: %s (registered %s)", ErrExists, s.ID, cur.CreatedAt.Format(time.RFC3339))
		}
		s.CreatedAt, s.RevokedAt = r.now().UTC(), nil
		return s, true, nil
	})
}

// change writes f's answer to site id's current record (nil when there is
// none) unless f says not to, retrying f with the record read again when it
// changed in between: registrations through different nodes are serialized
// by the bucket's revisions, and a replica may answer with an older one.
func (r *Registry) change(ctx context.Context, id, what string, f func(cur *Site) (Site, bool, error)) (Site, error) {
	wait := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		cur, rev, err := r.get(ctx, id)
		var curp *Site
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return Site{}, err
		default:
			curp = &cur
		}
		next, write, err := f(curp)
		if err != nil || !write {
			return next, err
		}
		b, _ := json.Marshal(next)
		if rev == 0 {
			_, err = r.kv.Create(ctx, id, b)
		} else {
			_, err = r.kv.Update(ctx, id, b, rev)
		}
		if err == nil {
			return next, nil
		}
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence || attempt == 10 {
			return Site{}, fmt.Errorf("%s site %s: %w", what, id, err)
		}
		select {
		case <-ctx.Done():
			return Site{}, fmt.Errorf("%s site %s: %w", what, id, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Import registers each site of keys (site id → user public key) that the
// registry does not hold at all, revoked or not, and returns the ids it
// added. It is for keys kept by an older central; a site the registry
// knows is never changed.
func (r *Registry) Import(ctx context.Context, keys map[string]string) ([]string, error) {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var added []string
	for _, id := range ids {
		s := Site{ID: id, PublicKey: keys[id], CreatedAt: r.now().UTC()}
		if err := s.Validate(); err != nil {
			return added, fmt.Errorf("import site: %w", err)
		}
		if !nkeys.IsValidPublicUserKey(s.PublicKey) {
			return added, fmt.Errorf("import site %s: not an NKEY user public key", id)
		}
		b, _ := json.Marshal(s)
		_, err := r.kv.Create(ctx, id, b)
		switch {
		case errors.Is(err, jetstream.ErrKeyExists):
		case err != nil:
			return added, fmt.Errorf("import site %s: %w", id, err)
		default:
			added = append(added, id)
		}
	}
	return added, nil
}

// Revoke marks a site revoked: every node disconnects it and refuses it. It
// returns ErrNotFound (wrapped) for a site never registered.
func (r *Registry) Revoke(ctx context.Context, id string) (Site, error) {
	return r.change(ctx, id, "revoke", func(cur *Site) (Site, bool, error) {
		if cur == nil {
			return Site{}, false, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		if cur.RevokedAt != nil {
			return *cur, false, nil
		}
		t := r.now().UTC()
		s := *cur
		s.RevokedAt = &t
		return s, true, nil
	})
}

// Get returns one site, or ErrNotFound.
func (r *Registry) Get(ctx context.Context, id string) (Site, error) {
	s, _, err := r.get(ctx, id)
	return s, err
}

func (r *Registry) get(ctx context.Context, id string) (Site, uint64, error) {
	e, err := r.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Site{}, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Site{}, 0, fmt.Errorf("read site %s: %w", id, err)
	}
	var s Site
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return Site{}, 0, fmt.Errorf("decode site %s: %w", id, err)
	}
	return s, e.Revision(), nil
}

// List returns every site, revoked ones included, by id.
func (r *Registry) List(ctx context.Context) ([]Site, error) {
	lister, err := r.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	var out []Site
	for k := range lister.Keys() {
		s, err := r.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Target is what Follow keeps in line with the registry: a hub node's
// authenticator.
type Target interface {
	// AddSite admits site's leaf connections made with key pub (and no
	// longer those made with another key).
	AddSite(site, pub string) error
	// RevokeSite refuses site and disconnects it.
	RevokeSite(site string) error
}

// Follow applies every registration and revocation, past and future, to t
// until ctx ends, calling ready once the registry's current state has been
// applied, and returns nil then. A watch that cannot start, or that the
// server drops, is started again (every site's latest entry is applied again
// then, so a revocation made meanwhile is not missed); restart, if set, is
// told why. Errors of t are passed to onErr (nil to ignore them).
func (r *Registry) Follow(ctx context.Context, t Target, ready func(), onErr func(site string, err error), restart func(error)) error {
	if onErr == nil {
		onErr = func(string, error) {}
	}
	return kvfollow.Run(ctx, kvfollow.Config{
		Watch: func(ctx context.Context) (jetstream.KeyWatcher, error) { return r.kv.WatchAll(ctx) },
		Apply: func(e jetstream.KeyValueEntry) {
			if err := apply(t, e); err != nil {
				onErr(e.Key(), err)
			}
		},
		Ready:   ready,
		Restart: restart,
		Conn:    r.nc,
	})
}

// apply hands one bucket entry to t: a site that is revoked, deleted or
// unreadable is refused.
func apply(t Target, e jetstream.KeyValueEntry) error {
	var s Site
	if e.Operation() != jetstream.KeyValuePut {
		return t.RevokeSite(e.Key())
	}
	if err := json.Unmarshal(e.Value(), &s); err != nil || s.ID != e.Key() {
		_ = t.RevokeSite(e.Key())
		return fmt.Errorf("undecodable registration: %v", err)
	}
	if s.RevokedAt != nil {
		return t.RevokeSite(s.ID)
	}
	return t.AddSite(s.ID, s.PublicKey)
}
