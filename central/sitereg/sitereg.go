// Package sitereg is central's registry of sites, shared by every central
// node through a replicated JetStream KV bucket. Registering a site creates
// its NKEY user: the public key goes into the bucket, the seed goes once to the
// installer. Every node mirrors the bucket into its hub, so a site can connect
// its leaf to any node, and a revocation disconnects it everywhere.
package sitereg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/sync/envelope"
)

// Bucket is the KV bucket holding the registry (the hub keeps its own
// authentication copy, site id → public key, in hub.BucketSites).
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
	return &Registry{kv: kv, now: time.Now}, nil
}

// Add registers s with a new NKEY user and returns the user's seed, which
// only the site keeps. It fails with ErrExists for a site that is registered
// and not revoked unless rotate is set, in which case the site gets a new key
// and connections made with the old one are refused.
func (r *Registry) Add(ctx context.Context, s Site, rotate bool) (seed string, out Site, err error) {
	if err := s.Validate(); err != nil {
		return "", Site{}, err
	}
	cur, rev, err := r.get(ctx, s.ID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return "", Site{}, err
	case cur.RevokedAt == nil && !rotate:
		return "", cur, fmt.Errorf("%w: %s (registered %s)", ErrExists, s.ID, cur.CreatedAt.Format(time.RFC3339))
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", Site{}, fmt.Errorf("create site key: %w", err)
	}
	pub, _ := kp.PublicKey()
	rawSeed, _ := kp.Seed()
	s.PublicKey, s.CreatedAt, s.RevokedAt = pub, r.now().UTC(), nil
	b, _ := json.Marshal(s)
	if rev == 0 {
		_, err = r.kv.Create(ctx, s.ID, b)
	} else {
		_, err = r.kv.Update(ctx, s.ID, b, rev)
	}
	if err != nil {
		return "", Site{}, fmt.Errorf("register site %s: %w", s.ID, err)
	}
	return string(rawSeed), s, nil
}

// Revoke marks a site revoked: every node disconnects it and refuses it.
func (r *Registry) Revoke(ctx context.Context, id string) (Site, error) {
	cur, rev, err := r.get(ctx, id)
	if err != nil {
		return Site{}, err
	}
	if cur.RevokedAt != nil {
		return cur, nil
	}
	t := r.now().UTC()
	cur.RevokedAt = &t
	b, _ := json.Marshal(cur)
	if _, err := r.kv.Update(ctx, id, b, rev); err != nil {
		return Site{}, fmt.Errorf("revoke site %s: %w", id, err)
	}
	return cur, nil
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

// Target is what Sync keeps in line with the registry: a hub node.
type Target interface {
	AddSite(site, pub string) error
	RevokeSite(site string) error
}

// Sync applies every registration and revocation, past and future, to t
// until ctx ends. It returns once the current state has been applied
// (ready is closed then) and keeps watching in the background.
func (r *Registry) Sync(ctx context.Context, t Target, log zerolog.Logger) (ready <-chan struct{}, err error) {
	w, err := r.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch site registry: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer w.Stop()
		initial := true
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil { // end of the initial values
					if initial {
						initial = false
						close(done)
					}
					continue
				}
				var s Site
				if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &s) != nil {
					continue
				}
				if s.RevokedAt != nil {
					if err := t.RevokeSite(s.ID); err != nil {
						log.Debug().Err(err).Str("site", s.ID).Msg("revoke on hub")
					}
					continue
				}
				if err := t.AddSite(s.ID, s.PublicKey); err != nil {
					log.Error().Err(err).Str("site", s.ID).Msg("register site on hub")
				}
			}
		}
	}()
	return done, nil
}
