package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/siteauth"
	"github.com/vendsync/vendsync/sync/envelope"
)

// BucketSites is the hub-domain KV bucket that carries the site registry to
// every hub node: key = site id, value = the site's user public key. Each
// node keeps its own copy in sites.json (so it can authenticate sites before
// JetStream is up) and follows the bucket, so a site issued or revoked on one
// node is admitted or disconnected on all of them. Sites cannot read it.
const BucketSites = "SITES"

const siteOpTimeout = 10 * time.Second

// openSites ensures the SITES bucket and starts following it.
func (h *Hub) openSites(ctx context.Context) error {
	var kv jetstream.KeyValue
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		kv, err = h.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      BucketSites,
			Description: "site id -> NKEY user public key of its leaf connection",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    h.cfg.Replicas,
		})
		if err != nil {
			return fmt.Errorf("ensure kv %s: %w", BucketSites, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The first pass (the bucket's current content) must be applied before
	// Open returns, so that a revocation made while this node was down is
	// not honoured late.
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", BucketSites, err)
	}
	seen := map[string]bool{}
	for initial := true; initial; {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return fmt.Errorf("load %s: %w", BucketSites, ctx.Err())
		case e := <-w.Updates():
			if e == nil {
				initial = false
				break
			}
			seen[e.Key()] = true
			h.applySite(e)
		}
	}
	// Sites only in the local file (registered before the bucket existed)
	// are published, never silently dropped.
	for _, site := range h.reg.Sites() {
		if seen[site] {
			continue
		}
		if pub, ok := h.reg.Key(site); ok {
			if _, err := kv.Create(ctx, site, []byte(pub)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
				_ = w.Stop()
				return fmt.Errorf("publish site %s: %w", site, err)
			}
		}
	}
	lctx, cancel := context.WithCancel(context.Background())
	g, lctx := errgroup.WithContext(lctx)
	g.Go(func() error {
		defer w.Stop()
		for {
			select {
			case <-lctx.Done():
				return nil
			case e, ok := <-w.Updates():
				if !ok {
					return nil
				}
				if e != nil {
					h.applySite(e)
				}
			}
		}
	})
	h.mu.Lock()
	h.sites, h.cancel, h.g = kv, cancel, g
	h.mu.Unlock()
	return nil
}

// applySite mirrors one bucket entry into the local registry, disconnecting
// connections made with a key that is no longer valid.
func (h *Hub) applySite(e jetstream.KeyValueEntry) {
	site := e.Key()
	switch e.Operation() {
	case jetstream.KeyValuePut:
		prev, err := h.reg.Add(site, string(e.Value()))
		if err != nil {
			h.log.Error().Err(err).Str("site", site).Msg("apply site registration")
			return
		}
		if prev != "" && prev != string(e.Value()) {
			h.auth.Kick(site)
		}
	default: // delete or purge: revoked
		if _, err := h.reg.Remove(site); err != nil && !errors.Is(err, siteauth.ErrUnknownSite) {
			h.log.Error().Err(err).Str("site", site).Msg("apply site revocation")
		}
		if n := h.auth.Kick(site); n > 0 {
			h.log.Info().Str("site", site).Int("disconnected", n).Msg("site revoked")
		}
	}
}

func (h *Hub) sitesKV() (jetstream.KeyValue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sites == nil {
		return nil, errors.New("hub is not open")
	}
	return h.sites, nil
}

// IssueSite creates (or rotates) site's NKEY user and returns its seed, which
// only the site keeps, and public key. Every hub node admits the new key and
// disconnects connections made with a previous one. It returns an error for a
// bad site id, a closed hub, or if the registry cannot be written.
func (h *Hub) IssueSite(site string) (seed, pub string, err error) {
	if err := envelope.ValidateSiteID(site); err != nil {
		return "", "", fmt.Errorf("issue site: %w", err)
	}
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

// AddSite registers a public key made elsewhere (an installer) for site on
// every hub node, disconnecting connections made with a previous key. It
// returns an error for a bad site id or key, a key of another site, a closed
// hub, or if the registry cannot be written.
func (h *Hub) AddSite(site, pub string) error {
	if err := envelope.ValidateSiteID(site); err != nil {
		return fmt.Errorf("add site: %w", err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return fmt.Errorf("add site %s: not a user public key", site)
	}
	if other, ok := h.reg.Lookup(pub); ok && other != site {
		return fmt.Errorf("add site %s: key already belongs to site %s", site, other)
	}
	kv, err := h.sitesKV()
	if err != nil {
		return fmt.Errorf("add site: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), siteOpTimeout)
	defer cancel()
	if _, err := kv.Put(ctx, site, []byte(pub)); err != nil {
		return fmt.Errorf("add site %s: %w", site, err)
	}
	// Apply locally now rather than when the watch delivers it, so that the
	// caller can connect the site as soon as this returns.
	prev, err := h.reg.Add(site, pub)
	if err != nil {
		return fmt.Errorf("add site: %w", err)
	}
	if prev != "" && prev != pub {
		h.auth.Kick(site)
	}
	return nil
}

// RevokeSite removes site's key on every hub node and disconnects its live
// connections; its reconnects are refused. It returns siteauth.ErrUnknownSite
// (wrapped) if the site was not registered.
func (h *Hub) RevokeSite(site string) error {
	kv, err := h.sitesKV()
	if err != nil {
		return fmt.Errorf("revoke site: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), siteOpTimeout)
	defer cancel()
	if _, ok := h.reg.Key(site); !ok {
		return fmt.Errorf("revoke site %s: %w", site, siteauth.ErrUnknownSite)
	}
	if err := kv.Delete(ctx, site); err != nil {
		return fmt.Errorf("revoke site %s: %w", site, err)
	}
	if _, err := h.reg.Remove(site); err != nil && !errors.Is(err, siteauth.ErrUnknownSite) {
		return fmt.Errorf("revoke site: %w", err)
	}
	n := h.auth.Kick(site)
	h.log.Info().Str("site", site).Int("disconnected", n).Msg("site revoked")
	return nil
}
