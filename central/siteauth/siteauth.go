// Package siteauth holds central's registry of site credentials and the NATS
// authenticator that admits each site's leaf connection with permissions
// limited to its own subjects.
//
// Every site has one NKEY user. Its public key is kept in a small JSON file
// (mode 0600) so that a restart of the hub keeps every site's registration.
// Authentication is done by a custom nats-server authenticator that consults
// the registry on every connect, so adding or revoking a site needs no server
// reload; revoking also disconnects the site's live connections.
package siteauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/sync/envelope"
)

// ErrUnknownSite is returned when a site is not in the registry.
var ErrUnknownSite = errors.New("unknown site")

// Registry maps site ids to their NKEY user public keys, persisted as JSON.
// It is safe for concurrent use.
type Registry struct {
	path string

	mu    sync.RWMutex
	sites map[string]string // site -> public key
	keys  map[string]string // public key -> site
}

type registryFile struct {
	Sites map[string]string `json:"sites"`
}

// OpenRegistry loads the registry at path, or starts an empty one if the file
// does not exist. It returns an error if the file cannot be read or parsed.
func OpenRegistry(path string) (*Registry, error) {
	r := &Registry{path: path, sites: map[string]string{}, keys: map[string]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read site registry: %w", err)
	}
	var f registryFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse site registry %s: %w", path, err)
	}
	for site, pub := range f.Sites {
		r.sites[site] = pub
		r.keys[pub] = site
	}
	return r, nil
}

// Issue creates a new NKEY user for site, registers it (replacing any previous
// key of the site) and returns its seed and public key. The seed is not kept.
func (r *Registry) Issue(site string) (seed, pub string, err error) {
	if err := envelope.ValidateSiteID(site); err != nil {
		return "", "", err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", "", fmt.Errorf("create site key: %w", err)
	}
	s, err := kp.Seed()
	if err != nil {
		return "", "", fmt.Errorf("site key seed: %w", err)
	}
	pub, err = kp.PublicKey()
	if err != nil {
		return "", "", fmt.Errorf("site public key: %w", err)
	}
	if _, err := r.Add(site, pub); err != nil {
		return "", "", err
	}
	return string(s), pub, nil
}

// Add registers pub as site's user key, replacing and returning any previous
// key (prev is "" if there was none). It returns an error for a bad site id,
// a key that is not a user public key, a key already used by another site, or
// a failure to save the registry.
func (r *Registry) Add(site, pub string) (prev string, err error) {
	if err := envelope.ValidateSiteID(site); err != nil {
		return "", err
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return "", fmt.Errorf("site %s: not a user public key", site)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if other, ok := r.keys[pub]; ok && other != site {
		return "", fmt.Errorf("site %s: key already belongs to site %s", site, other)
	}
	prev = r.sites[site]
	if prev == pub {
		return prev, nil
	}
	if prev != "" {
		delete(r.keys, prev)
	}
	r.sites[site] = pub
	r.keys[pub] = site
	if err := r.saveLocked(); err != nil {
		return "", err
	}
	return prev, nil
}

// Remove drops site from the registry and returns the key it had. It returns
// ErrUnknownSite if the site is not registered, or a failure to save.
func (r *Registry) Remove(site string) (pub string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pub, ok := r.sites[site]
	if !ok {
		return "", fmt.Errorf("remove site %s: %w", site, ErrUnknownSite)
	}
	delete(r.sites, site)
	delete(r.keys, pub)
	if err := r.saveLocked(); err != nil {
		return "", err
	}
	return pub, nil
}

// Lookup returns the site whose key is pub.
func (r *Registry) Lookup(pub string) (site string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	site, ok = r.keys[pub]
	return site, ok
}

// Key returns site's public key.
func (r *Registry) Key(site string) (pub string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	pub, ok = r.sites[site]
	return pub, ok
}

// Sites returns the registered site ids, sorted.
func (r *Registry) Sites() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.sites))
	for s := range r.sites {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// saveLocked writes the registry atomically (temp file, fsync, rename).
func (r *Registry) saveLocked() error {
	b, err := json.MarshalIndent(registryFile{Sites: r.sites}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode site registry: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return fmt.Errorf("save site registry: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.path), ".sites-*.json")
	if err != nil {
		return fmt.Errorf("save site registry: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save site registry: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save site registry: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save site registry: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save site registry: %w", err)
	}
	if err := os.Rename(tmp.Name(), r.path); err != nil {
		return fmt.Errorf("save site registry: %w", err)
	}
	return nil
}

// Permissions returns what site's NATS user may do, written from the site's
// point of view (nats-server reverses them on the hub side of a leaf link):
//
//   - publish its batches and watermark requests: fleet.<site>.>
//   - create the consumer of its downlink mirror, filtered to its own keys:
//     $JS.hub.API.CONSUMER.CREATE.KV_CONFIG.*.$KV.CONFIG.<site>.>
//   - answer the flow control of that consumer: $JS.FC.KV_CONFIG.> (what
//     nats-server 2.15 uses; without it the mirror stalls after 2 MiB) and
//     $JS.FC.hub.*.KV_CONFIG.> (the form behind the JS API reply v2 feature
//     flag)
//   - receive its own inbox (_INBOX_<site>.>), its watermark pushes
//     (vsync.wm.<site>), its downlink deliveries (vsync.dl.<site>.>) and the
//     replies to consumer creations ($JSC.R.>, random subjects chosen by the
//     site's server; they carry consumer configuration, not data).
func Permissions(site string) *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			envelope.SubjectSiteAll(site),
			"$JS." + envelope.HubDomain + ".API.CONSUMER.CREATE.KV_" + envelope.BucketConfig + ".*." + envelope.ConfigFilterSubject(site),
			"$JS.FC." + envelope.HubDomain + ".*.KV_" + envelope.BucketConfig + ".>",
			"$JS.FC.KV_" + envelope.BucketConfig + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			envelope.InboxPrefix(site) + ".>",
			envelope.SubjectWatermarkPush(site),
			envelope.DownlinkDeliverPrefix(site) + ".>",
			"$JSC.R.>",
		}},
	}
}

// Authenticator is a nats-server custom authenticator: it admits the hub's own
// internal user with full rights and every registered site's NKEY user with
// Permissions(site), and refuses everything else. It remembers the connection
// ids of each site so that Kick can disconnect them.
type Authenticator struct {
	reg         *Registry
	internalPub string

	mu    sync.Mutex
	srv   *server.Server
	acc   *server.Account
	conns map[string]map[uint64]struct{} // site -> connection ids
}

var _ server.Authentication = (*Authenticator)(nil)

// NewAuthenticator returns an authenticator over reg that also admits the
// user internalPub without restrictions.
func NewAuthenticator(reg *Registry, internalPub string) *Authenticator {
	return &Authenticator{reg: reg, internalPub: internalPub, conns: map[string]map[uint64]struct{}{}}
}

// Bind tells the authenticator which server it serves; call it after
// server.NewServer and before Start.
func (a *Authenticator) Bind(s *server.Server) {
	a.mu.Lock()
	a.srv = s
	a.acc = s.GlobalAccount()
	a.mu.Unlock()
}

// Check implements server.Authentication: it verifies the NKEY signature of
// the nonce and maps the key to a site.
func (a *Authenticator) Check(c server.ClientAuthentication) bool {
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
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv == nil {
		return false
	}
	acc := a.acc
	if o.Nkey == a.internalPub {
		c.RegisterUser(&server.User{Username: "vendsync-hub", Account: acc})
		return true
	}
	site, ok := a.reg.Lookup(o.Nkey)
	if !ok {
		return false
	}
	c.RegisterUser(&server.User{Username: "site-" + site, Account: acc, Permissions: Permissions(site)})
	ids := a.conns[site]
	if ids == nil {
		ids = map[uint64]struct{}{}
		a.conns[site] = ids
	}
	ids[c.GetID()] = struct{}{}
	return true
}

// Kick disconnects every connection that authenticated as site and returns
// how many were still open.
func (a *Authenticator) Kick(site string) int {
	a.mu.Lock()
	srv, ids := a.srv, a.conns[site]
	delete(a.conns, site)
	a.mu.Unlock()
	n := 0
	for id := range ids {
		if srv != nil && srv.DisconnectClientByID(id) == nil {
			n++
		}
	}
	return n
}
