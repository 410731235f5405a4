package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/siteauth"
	"github.com/vendsync/vendsync/central/sitereg"
)

// The hub admits exactly the sites of the registry bucket (sitereg.Bucket),
// which every node follows: a site registered or revoked through any node is
// admitted or disconnected on all of them.

var _ sitereg.Target = (*siteauth.Authenticator)(nil)

const siteOpTimeout = 10 * time.Second

// Where an older central kept site keys besides the registry: a bucket
// copied from it (site id → public key; a deleted key was a revocation) and
// a per-node file copy of that bucket.
const (
	legacyBucket = "SITES"
	legacyFile   = "sites.json"
)

// openSites opens the registry, imports what an older central kept
// elsewhere, and starts following the registry into the authenticator. The
// registry's current state is applied before it returns, so that a
// revocation made while this node was down is not honoured late.
func (h *Hub) openSites(ctx context.Context) error {
	var reg *sitereg.Registry
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		reg, err = sitereg.Open(ctx, h.js, h.cfg.Replicas)
		return err
	})
	if err != nil {
		return err
	}
	if err := retry(ctx, func(ctx context.Context) error { return h.importLegacy(ctx, reg) }); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	g, lctx := errgroup.WithContext(lctx)
	h.mu.Lock()
	h.reg, h.cancel, h.g, h.bg = reg, cancel, g, lctx
	h.mu.Unlock()
	return startFollower(ctx, g, "site registry", func(ready func()) error {
		return reg.Follow(lctx, h.auth, ready, func(site string, err error) {
			h.log.Error().Err(err).Str("site", site).Msg("apply site registration")
		}, func(err error) {
			// Worth an operator's eye: registrations wait while it restarts.
			h.log.Warn().Err(err).Msg("watch site registry: starting it again")
		})
	})
}

// importLegacy registers, once, the keys an older central kept in the SITES
// bucket, and in this node's sites.json copy of it, that the registry does not
// hold; then it deletes the bucket and renames the file sites.json.imported.
// A key the bucket had deleted (revoked) is not imported from the file, and a
// file found without the bucket is only retired: it is a stale copy of a
// bucket some node has imported already (every central that wrote the file
// also had the bucket). Every key an older central's registry issued is in
// the registry already: only keys issued to the hub directly are new.
func (h *Hub) importLegacy(ctx context.Context, reg *sitereg.Registry) error {
	path := filepath.Join(h.cfg.StoreDir, legacyFile)
	kv, err := h.js.KeyValue(ctx, legacyBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if err := os.Rename(path, path+".imported"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("retire %s: %w", path, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", legacyBucket, err)
	}
	keys, mentioned := map[string]string{}, map[string]bool{}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", legacyBucket, err)
	}
	complete := false
	for e := range w.Updates() {
		if e == nil {
			complete = true
			break
		}
		mentioned[e.Key()] = true
		if e.Operation() == jetstream.KeyValuePut {
			keys[e.Key()] = string(e.Value())
		} else {
			delete(keys, e.Key())
		}
	}
	_ = w.Stop()
	if !complete {
		return fmt.Errorf("read %s: %w", legacyBucket, cmp.Or(ctx.Err(), errors.New("watch ended early")))
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read %s: %w", path, err)
	default:
		var f struct {
			Sites map[string]string `json:"sites"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		for site, pub := range f.Sites {
			if !mentioned[site] {
				keys[site] = pub
			}
		}
	}
	added, err := reg.Import(ctx, keys)
	if err != nil {
		return err
	}
	if len(added) > 0 {
		h.log.Info().Strs("sites", added).Msg("imported site keys of an older central into the site registry")
	}
	if err := os.Rename(path, path+".imported"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("retire %s: %w", path, err)
	}
	if err := h.js.DeleteKeyValue(ctx, legacyBucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("delete %s: %w", legacyBucket, err)
	}
	return nil
}

func (h *Hub) registry() (*sitereg.Registry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reg == nil {
		return nil, errors.New("hub is not open")
	}
	return h.reg, nil
}

// IssueSite registers (or gives a new key to) site with a new NKEY user and
// returns its seed, which only the site keeps, and public key. Every hub
// node admits the new key and disconnects connections made with a previous
// one. It returns an error for a bad site id, a closed hub, or if the
// registry cannot be written.
func (h *Hub) IssueSite(site string) (seed, pub string, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", "", fmt.Errorf("issue site: %w", err)
	}
	s, err := kp.Seed()
	if err != nil {
		return "", "", fmt.Errorf("issue site: %w", err)
	}
	pub = mustPublic(kp)
	if err := h.AddSite(site, pub); err != nil {
		return "", "", fmt.Errorf("issue site: %w", err)
	}
	return string(s), pub, nil
}

// AddSite registers a public key made elsewhere (an installer) for site,
// keeping what the registry says about the site otherwise. Every hub node
// admits it and disconnects connections made with a previous key; this one
// before AddSite returns. It returns an error for a bad site id or key, a key
// of another site, a closed hub, or if the registry cannot be written.
func (h *Hub) AddSite(site, pub string) error {
	if other, ok := h.auth.Lookup(pub); ok && other != site {
		return fmt.Errorf("add site %s: key already belongs to site %s", site, other)
	}
	reg, err := h.registry()
	if err != nil {
		return fmt.Errorf("add site: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), siteOpTimeout)
	defer cancel()
	s, err := reg.Get(ctx, site)
	switch {
	case err != nil && !errors.Is(err, sitereg.ErrNotFound):
		return fmt.Errorf("add site: %w", err)
	case err == nil && s.PublicKey == pub && s.RevokedAt == nil:
		// Registered already (through another node, say).
	default:
		s.ID, s.PublicKey = site, pub
		if _, err := reg.Register(ctx, s, true); err != nil {
			return fmt.Errorf("add site: %w", err)
		}
	}
	// Apply here now rather than when the watch delivers it, so that the
	// caller can connect the site as soon as this returns.
	if err := h.auth.AddSite(site, pub); err != nil {
		return fmt.Errorf("add site: %w", err)
	}
	return nil
}

// RevokeSite revokes site in the registry: every hub node disconnects its
// live connections and refuses its reconnects; this one before RevokeSite
// returns. It returns an error wrapping sitereg.ErrNotFound if the site was
// never registered.
func (h *Hub) RevokeSite(site string) error {
	reg, err := h.registry()
	if err != nil {
		return fmt.Errorf("revoke site: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), siteOpTimeout)
	defer cancel()
	if _, err := reg.Revoke(ctx, site); err != nil {
		return fmt.Errorf("revoke site: %w", err)
	}
	n := h.auth.Revoke(site)
	h.log.Info().Str("site", site).Int("disconnected", n).Msg("site revoked")
	return nil
}

// Registry returns the site registry the hub follows, nil before Open.
func (h *Hub) Registry() *sitereg.Registry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reg
}

// Sites returns the ids of the sites this node admits, sorted.
func (h *Hub) Sites() []string { return h.auth.Sites() }
