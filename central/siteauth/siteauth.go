// Package siteauth is the NATS authenticator of central's hub: it admits
// each site's leaf connection, signed with the site's NKEY user, with
// permissions limited to its own subjects.
//
// The authenticator keeps the admitted keys in memory; central/sitereg's
// bucket is their source, which the hub follows (sitereg.Registry.Follow)
// into AddSite and RevokeSite. Every connect is checked against the current
// keys, so adding or revoking a site needs no server reload; revoking, or
// giving a site a new key, also disconnects the connections made with the
// old one.
package siteauth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/internal/natsusers"
	"github.com/vendsync/vendsync/sync/envelope"
)

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
//     replies to its own mirror's consumer creations
//     ($JSC.R.hub.*.KV_CONFIG.<MirrorConsumer(site)>.>: the site's server
//     runs with nats-server's js_api_reply_v2 flag, see edge/leaf)
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
			"$JSC.R." + envelope.HubDomain + ".*.KV_" + envelope.BucketConfig + "." + MirrorConsumer(site) + ".>",
		}},
	}
}

// MirrorConsumer is the name nats-server gives the consumer behind site's
// mirror of the CONFIG bucket: JS_MIRROR_ and a hash of the mirror stream,
// its account (the global account) and its domain (the site id). It is
// deterministic, so central knows it without asking the site.
func MirrorConsumer(site string) string {
	return "JS_MIRROR_" + serverHash("KV_"+envelope.BucketConfig+" "+server.DEFAULT_GLOBAL_ACCOUNT+" "+site)
}

// serverHash is nats-server's short name hash (getHash): the first 8 bytes
// of the SHA-256, each mapped to one of 62 digits.
func serverHash(name string) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(name))
	b := make([]byte, 8)
	for i := range b {
		b[i] = digits[int(sum[i]%62)]
	}
	return string(b)
}

// Authenticator is a nats-server custom authenticator: it admits the hub's own
// internal user with full rights and every admitted site's NKEY user with
// Permissions(site), and refuses everything else. It remembers the connection
// ids of each site so that it can disconnect them. It is safe for concurrent
// use.
type Authenticator struct {
	internalPub string

	mu    sync.Mutex
	srv   *server.Server
	acc   *server.Account
	sites map[string]string            // site -> public key
	keys  map[string]string            // public key -> site
	conns map[string]map[uint64]string // site -> connection id -> key it signed with
	// Operators' NATS users (for the nats CLI): public key -> role, and
	// the connections made with each key.
	users     map[string]natsusers.Role
	userConns map[string]map[uint64]bool
}

var _ server.Authentication = (*Authenticator)(nil)

// NewAuthenticator returns an authenticator that admits no site yet and
// the user internalPub without restrictions.
func NewAuthenticator(internalPub string) *Authenticator {
	return &Authenticator{internalPub: internalPub, sites: map[string]string{}, keys: map[string]string{},
		conns: map[string]map[uint64]string{}, users: map[string]natsusers.Role{}, userConns: map[string]map[uint64]bool{}}
}

// AddSite admits site's connections signed with the user key pub. A site
// that had another key is disconnected, and its old key refused. It returns
// an error for a bad site id, a key that is not a user public key, or a key
// another site has.
func (a *Authenticator) AddSite(site, pub string) error {
	if err := envelope.ValidateSiteID(site); err != nil {
		return fmt.Errorf("admit site: %w", err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return fmt.Errorf("admit site %s: not a user public key", site)
	}
	a.mu.Lock()
	if other, ok := a.keys[pub]; ok && other != site {
		a.mu.Unlock()
		return fmt.Errorf("admit site %s: key already belongs to site %s", site, other)
	}
	prev := a.sites[site]
	if prev == pub {
		a.mu.Unlock()
		return nil
	}
	if prev != "" {
		delete(a.keys, prev)
	}
	a.sites[site], a.keys[pub] = pub, site
	stale := a.takeConnsLocked(site, func(key string) bool { return key != pub })
	a.mu.Unlock()
	a.disconnect(stale)
	return nil
}

// RevokeSite refuses site from now on and disconnects its connections. A
// site that is not admitted is left as it is. It never fails: its error is
// sitereg.Target's.
func (a *Authenticator) RevokeSite(site string) error {
	a.Revoke(site)
	return nil
}

// Revoke is RevokeSite, returning how many connections it closed.
func (a *Authenticator) Revoke(site string) (disconnected int) {
	a.mu.Lock()
	if pub, ok := a.sites[site]; ok {
		delete(a.sites, site)
		delete(a.keys, pub)
	}
	ids := a.takeConnsLocked(site, func(string) bool { return true })
	a.mu.Unlock()
	return a.disconnect(ids)
}

// Lookup returns the admitted site whose key is pub.
func (a *Authenticator) Lookup(pub string) (site string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	site, ok = a.keys[pub]
	return site, ok
}

// Key returns site's admitted key.
func (a *Authenticator) Key(site string) (pub string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pub, ok = a.sites[site]
	return pub, ok
}

// Sites returns the admitted site ids, sorted.
func (a *Authenticator) Sites() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.sites))
	for s := range a.sites {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
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
	if role, ok := a.users[o.Nkey]; ok {
		c.RegisterUser(&server.User{Username: "ops-" + o.Nkey[:12], Account: acc, Permissions: natsusers.Permissions(role, ReadableStreams)})
		if a.userConns[o.Nkey] == nil {
			a.userConns[o.Nkey] = map[uint64]bool{}
		}
		a.userConns[o.Nkey][c.GetID()] = true
		return true
	}
	site, ok := a.keys[o.Nkey]
	if !ok {
		return false
	}
	c.RegisterUser(&server.User{Username: "site-" + site, Account: acc, Permissions: Permissions(site)})
	ids := a.conns[site]
	if ids == nil {
		ids = map[uint64]string{}
		a.conns[site] = ids
	}
	ids[c.GetID()] = o.Nkey
	return true
}

// takeConnsLocked forgets and returns the ids of site's connections made
// with a key for which drop is true. The caller holds a.mu.
func (a *Authenticator) takeConnsLocked(site string, drop func(key string) bool) []uint64 {
	var out []uint64
	for id, key := range a.conns[site] {
		if drop(key) {
			out = append(out, id)
			delete(a.conns[site], id)
		}
	}
	if len(a.conns[site]) == 0 {
		delete(a.conns, site)
	}
	return out
}

// disconnect closes the connections ids and returns how many were still
// open.
func (a *Authenticator) disconnect(ids []uint64) int {
	a.mu.Lock()
	srv := a.srv
	a.mu.Unlock()
	n := 0
	for _, id := range ids {
		if srv != nil && srv.DisconnectClientByID(id) == nil {
			n++
		}
	}
	return n
}

// AddUser admits an operator's NATS user with key pub and role; a user
// admitted with another role is disconnected and gets the new one when it
// reconnects. It returns an error for a key that is not a user public key,
// one a site has, or an unknown role.
func (a *Authenticator) AddUser(pub string, role natsusers.Role) error {
	if !nkeys.IsValidPublicUserKey(pub) {
		return fmt.Errorf("admit nats user: %q is not a user public key", pub)
	}
	if _, err := natsusers.ParseRole(string(role)); err != nil {
		return fmt.Errorf("admit nats user: %w", err)
	}
	a.mu.Lock()
	if site, ok := a.keys[pub]; ok || pub == a.internalPub {
		a.mu.Unlock()
		return fmt.Errorf("admit nats user: key belongs to site %q", site)
	}
	prev, had := a.users[pub]
	a.users[pub] = role
	var stale []uint64
	if had && prev != role {
		stale = a.takeUserConnsLocked(pub)
	}
	a.mu.Unlock()
	a.disconnect(stale)
	return nil
}

// RemoveUser refuses the operator's NATS user pub from now on and
// disconnects its connections, returning how many it closed.
func (a *Authenticator) RemoveUser(pub string) (disconnected int) {
	a.mu.Lock()
	delete(a.users, pub)
	ids := a.takeUserConnsLocked(pub)
	a.mu.Unlock()
	return a.disconnect(ids)
}

func (a *Authenticator) takeUserConnsLocked(pub string) []uint64 {
	var out []uint64
	for id := range a.userConns[pub] {
		out = append(out, id)
	}
	delete(a.userConns, pub)
	return out
}
