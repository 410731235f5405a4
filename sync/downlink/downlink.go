// Package downlink carries configuration from central to the sites.
//
// Central authors it in the KV bucket envelope.BucketConfig under keys
// <site>.<kind>.<id...> (for example s1.price.m7.p3 or s1.machine.m7) with a
// Publisher. Each site keeps a mirror of its own keys in its own JetStream
// domain, so reads are local and keep working offline; the mirror catches up
// by itself whenever the leaf connection is up. A Watcher on the site applies
// every change to a callback, in revision order, at least once, remembering
// the last applied revision through the Applied interface.
//
// The hub delivers a site's mirror traffic on envelope.DownlinkDeliverPrefix,
// and the site's credentials allow it to create only a consumer filtered to
// envelope.ConfigFilterSubject(site) (see central/siteauth).
package downlink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/sync/envelope"
)

// ErrBadKey is returned for a key that is not a valid KV key.
var ErrBadKey = errors.New("invalid config key")

// validKey checks a site-relative key: dot-separated tokens of KV key
// characters, no wildcards.
func validKey(key string) error {
	if key == "" || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
		return fmt.Errorf("%w %q", ErrBadKey, key)
	}
	for _, r := range key {
		if !(r == '-' || r == '_' || r == '.' || r == '=' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w %q: character %q", ErrBadKey, key, r)
		}
	}
	return nil
}

// Publisher writes per-site configuration into central's CONFIG bucket.
type Publisher struct {
	kv jetstream.KeyValue
}

// NewPublisher binds to the CONFIG bucket through js, a JetStream handle in
// the hub domain. It returns an error if the bucket does not exist.
func NewPublisher(ctx context.Context, js jetstream.JetStream) (*Publisher, error) {
	kv, err := js.KeyValue(ctx, envelope.BucketConfig)
	if err != nil {
		return nil, fmt.Errorf("bind config bucket: %w", err)
	}
	return &Publisher{kv: kv}, nil
}

// Put sets key (relative to the site, <kind>.<id...>) for site and returns
// the new revision. It returns an error for a bad site or key, or if the
// write fails.
func (p *Publisher) Put(ctx context.Context, site, key string, value []byte) (uint64, error) {
	if err := envelope.ValidateSiteID(site); err != nil {
		return 0, err
	}
	if err := validKey(key); err != nil {
		return 0, err
	}
	rev, err := p.kv.Put(ctx, envelope.ConfigKeyPrefix(site)+key, value)
	if err != nil {
		return 0, fmt.Errorf("put config %s/%s: %w", site, key, err)
	}
	return rev, nil
}

// ErrConflict is returned by Merge when the key kept changing under it.
var ErrConflict = errors.New("config key changed concurrently")

// mergeAttempts bounds Merge's retries; each conflict means another writer
// succeeded, so running out takes sustained contention on one key.
const mergeAttempts = 32

// Merge sets key for site to merge(current) and returns the new revision,
// where current is the value now in force (nil if none). The write is
// checked against the revision read, so a concurrent writer (another
// central node) is never overwritten: on a conflict Merge reads again and
// calls merge again. It returns an error for a bad site or key, merge's
// error, a read or write failure, or ErrConflict after many conflicts.
func (p *Publisher) Merge(ctx context.Context, site, key string, merge func(current []byte) ([]byte, error)) (uint64, error) {
	if err := envelope.ValidateSiteID(site); err != nil {
		return 0, err
	}
	if err := validKey(key); err != nil {
		return 0, err
	}
	full := envelope.ConfigKeyPrefix(site) + key
	for range mergeAttempts {
		var current []byte
		var last uint64
		e, err := p.kv.Get(ctx, full)
		switch {
		case err == nil:
			current, last = e.Value(), e.Revision()
		case errors.Is(err, jetstream.ErrKeyNotFound):
			// None yet, or deleted: Create succeeds on both.
		default:
			return 0, fmt.Errorf("read config %s/%s: %w", site, key, err)
		}
		value, err := merge(current)
		if err != nil {
			return 0, err
		}
		var rev uint64
		if last == 0 {
			rev, err = p.kv.Create(ctx, full, value)
		} else {
			rev, err = p.kv.Update(ctx, full, value, last)
		}
		if err == nil {
			return rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, fmt.Errorf("write config %s/%s: %w", site, key, err)
		}
	}
	return 0, fmt.Errorf("write config %s/%s: %w", site, key, ErrConflict)
}

// Delete removes key for site; the sites see a change with a nil value.
func (p *Publisher) Delete(ctx context.Context, site, key string) error {
	if err := envelope.ValidateSiteID(site); err != nil {
		return err
	}
	if err := validKey(key); err != nil {
		return err
	}
	if err := p.kv.Delete(ctx, envelope.ConfigKeyPrefix(site)+key); err != nil {
		return fmt.Errorf("delete config %s/%s: %w", site, key, err)
	}
	return nil
}

// Applied remembers the last revision a site applied; the edge store
// implements it. The watcher calls SetApplied after Handle returns; a
// Handler that writes should also record the revision itself in the same
// transaction as the change, so a crash between the two cannot apply a
// change twice. SetApplied must therefore never lower the revision.
type Applied interface {
	// LastApplied returns the last revision recorded, 0 if none.
	LastApplied(ctx context.Context) (uint64, error)
	// SetApplied records that every change up to revision is applied; a
	// lower revision than the one recorded changes nothing.
	SetApplied(ctx context.Context, revision uint64) error
}

// Handler applies one change. key is relative to the site (<kind>.<id...>);
// value is nil when the key was deleted. A returned error makes the watcher
// retry the same change after a pause; later changes wait.
type Handler func(ctx context.Context, key string, value []byte, revision uint64) error

// WatcherConfig configures a site's Watcher.
type WatcherConfig struct {
	Site    string
	JS      jetstream.JetStream // the site's own domain
	State   Applied
	Handle  Handler
	History int           // revisions kept per key in the mirror; default 1
	Retry   time.Duration // pause before retrying a failed change; default 1s
	Logger  zerolog.Logger

	// Conn and Connected, when both set, let the watcher catch up at once
	// when the leaf connection comes back: nats-server's mirror retries on
	// a back-off of its own (tens of seconds after an outage of as many),
	// so on reconnect the watcher also reads the changes after its last
	// revision straight from central's bucket (see catchUp). Conn is a
	// connection to the site's server with inbox prefix
	// envelope.InboxPrefix(Site); Connected says whether the leaf link is up.
	Conn      *nats.Conn
	Connected func() bool
	// CheckEvery is how often Connected is polled; default 250ms.
	CheckEvery time.Duration
}

// Validate names the first bad field.
func (c WatcherConfig) Validate() error {
	if err := envelope.ValidateSiteID(c.Site); err != nil {
		return fmt.Errorf("watcher config: Site: %w", err)
	}
	switch {
	case c.JS == nil:
		return errors.New("watcher config: JS is required")
	case c.State == nil:
		return errors.New("watcher config: State is required")
	case c.Handle == nil:
		return errors.New("watcher config: Handle is required")
	case c.History < 0 || c.History > 64:
		return fmt.Errorf("watcher config: History must be 0..64, not %d", c.History)
	}
	return nil
}

// Watcher keeps the site's mirror of its configuration and applies changes.
type Watcher struct {
	cfg WatcherConfig
	log zerolog.Logger

	mu     sync.Mutex
	kv     jetstream.KeyValue
	cancel context.CancelFunc
	g      *errgroup.Group
}

// NewWatcher checks cfg; it starts nothing.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if cfg.History == 0 {
		cfg.History = 1
	}
	if cfg.Retry == 0 {
		cfg.Retry = time.Second
	}
	if cfg.CheckEvery == 0 {
		cfg.CheckEvery = 250 * time.Millisecond
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Watcher{cfg: cfg, log: cfg.Logger.With().Str("component", "downlink").Str("site", cfg.Site).Logger()}, nil
}

// MirrorConfig is the site's KV mirror of its own keys in central's CONFIG
// bucket: same bucket name, in the site's domain, sourced from the hub domain
// and delivered on the site's own downlink prefix.
func MirrorConfig(site string, history int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      envelope.BucketConfig,
		Description: "mirror of this site's configuration at central",
		History:     uint8(history),
		Storage:     jetstream.FileStorage,
		Mirror: &jetstream.StreamSource{
			Name:          "KV_" + envelope.BucketConfig,
			FilterSubject: envelope.ConfigFilterSubject(site),
			External: &jetstream.ExternalStream{
				APIPrefix:     "$JS." + envelope.HubDomain + ".API",
				DeliverPrefix: envelope.DownlinkDeliverPrefix(site),
			},
		},
	}
}

// Open creates or updates the local mirror (this works offline: the mirror
// connects whenever the leaf does) and starts applying changes after
// State.LastApplied. It returns an error if the mirror cannot be created or
// the last revision cannot be read.
func (w *Watcher) Open(ctx context.Context) error {
	kv, err := w.cfg.JS.CreateOrUpdateKeyValue(ctx, MirrorConfig(w.cfg.Site, w.cfg.History))
	if err != nil {
		return fmt.Errorf("open downlink: create mirror: %w", err)
	}
	last, err := w.cfg.State.LastApplied(ctx)
	if err != nil {
		return fmt.Errorf("open downlink: last applied: %w", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, ctx := errgroup.WithContext(ctx)
	w.mu.Lock()
	w.kv, w.cancel, w.g = kv, cancel, g
	w.mu.Unlock()
	g.Go(func() error { return w.run(ctx, kv, last) })
	return nil
}

// KeyValue returns the local mirror for reads (full keys <site>.<kind>...),
// nil before Open.
func (w *Watcher) KeyValue() jetstream.KeyValue {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.kv
}

// Close stops applying changes and waits for the loop. It returns the loop's
// error if it stopped on one (a failure to record a revision).
func (w *Watcher) Close() error {
	w.mu.Lock()
	cancel, g := w.cancel, w.g
	w.cancel, w.g = nil, nil
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// run watches the mirror from last+1 and applies each change in order,
// restarting the watch if it ends.
func (w *Watcher) run(ctx context.Context, kv jetstream.KeyValue, last uint64) error {
	prefix := envelope.ConfigKeyPrefix(w.cfg.Site)
	for {
		watch, err := kv.WatchAll(ctx, jetstream.ResumeFromRevision(last+1), jetstream.IncludeHistory())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.log.Warn().Err(err).Msg("watch config mirror")
			if err := sleep(ctx, w.cfg.Retry); err != nil {
				return err
			}
			continue
		}
		last, err = w.drain(ctx, watch, prefix, last)
		_ = watch.Stop()
		if err != nil {
			return err
		}
	}
}

// drain applies updates until the watch channel closes or ctx ends, and
// catches up straight from central whenever the leaf link comes back.
func (w *Watcher) drain(ctx context.Context, watch jetstream.KeyWatcher, prefix string, last uint64) (uint64, error) {
	var check <-chan time.Time
	if w.cfg.Conn != nil && w.cfg.Connected != nil {
		t := time.NewTicker(w.cfg.CheckEvery)
		defer t.Stop()
		check = t.C
	}
	up := true // a link that is up when the watch starts needs no catch-up: the mirror is fresh
	retry := false
	var nextTry time.Time
	for {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-check:
			now := w.cfg.Connected()
			if now && (!up || retry) && !time.Now().Before(nextTry) {
				var err error
				if last, err = w.catchUp(ctx, last); err != nil {
					if ctx.Err() != nil {
						return last, ctx.Err()
					}
					// Central may still be starting; the mirror delivers
					// anyway, this is only a shortcut: try again shortly.
					w.log.Warn().Err(err).Msg("catch up from central after reconnect")
					nextTry = time.Now().Add(time.Second)
				}
				retry = err != nil
			}
			up = now
		case e, ok := <-watch.Updates():
			if !ok {
				return last, nil
			}
			if e == nil || e.Revision() <= last {
				continue // nil marks "caught up"
			}
			var value []byte
			if e.Operation() == jetstream.KeyValuePut {
				value = e.Value()
				if value == nil {
					value = []byte{}
				}
			}
			if err := w.apply(ctx, prefix, e.Key(), value, e.Revision()); err != nil {
				return last, err
			}
			last = e.Revision()
		}
	}
}

// apply hands one change (value nil for a delete) to the handler until it
// succeeds, then records its revision.
func (w *Watcher) apply(ctx context.Context, prefix, fullKey string, value []byte, rev uint64) error {
	key, found := strings.CutPrefix(fullKey, prefix)
	if !found {
		return nil // not ours: the mirror's filter should make this impossible
	}
	for {
		err := w.cfg.Handle(ctx, key, value, rev)
		if err == nil {
			break
		}
		w.log.Warn().Err(err).Str("key", key).Uint64("revision", rev).Msg("apply config change")
		if err := sleep(ctx, w.cfg.Retry); err != nil {
			return err
		}
	}
	if err := w.cfg.State.SetApplied(ctx, rev); err != nil {
		return fmt.Errorf("downlink: record revision %d: %w", rev, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
