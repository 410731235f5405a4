// Package hqauth keeps the credentials of HQ clients (ADMIN, OPS, FINANCE,
// DRIVER) and the key central signs their tokens with, shared by every
// central node through a JetStream key-value bucket in the hub domain.
//
// The bucket HQ_AUTH holds:
//
//	signing-key         the HMAC token key (raw bytes), created once with
//	                    kv.Create so that nodes starting together agree on it
//	client.<clientId>   a Client record as JSON, with the secret's hash
//	fleet-ca            the fleet's TLS certificate authority (PEM
//	                    certificate and key), created once like the key
//
// Secrets are never stored, only their SHA-256 (see edge/auth).
package hqauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/kvfollow"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// Bucket is the key-value bucket holding HQ credentials.
const Bucket = "HQ_AUTH"

// Issuer is the issuer of tokens signed by central.
const Issuer = "central"

// Keys in Bucket.
const (
	keySigning   = "signing-key"
	keyFleetCA   = "fleet-ca"
	clientPrefix = "client."
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrBadCredentials is returned by Authenticate for an unknown client, a
	// revoked client or a wrong secret, without saying which.
	ErrBadCredentials = errors.New("bad client credentials")
	// ErrNotFound is returned for an unknown client id.
	ErrNotFound = errors.New("client not found")
	// ErrInvalid wraps every reason AddClient refuses its arguments.
	ErrInvalid = errors.New("invalid client")
)

// Roles lists the roles an HQ client may have. MACHINE is not one of them:
// machines authenticate at their site.
var Roles = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver, auth.RoleWarehouse, auth.RoleProcurement}

// Client is an HQ client as listed; it never carries the secret or its hash.
type Client struct {
	ID        string     `json:"clientId"`
	Role      auth.Role  `json:"role"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	// Sites are a DRIVER's route: the sites it was given credentials for.
	Sites []string `json:"sites,omitempty"`
}

// Revoked reports whether the client's credentials were revoked.
func (c Client) Revoked() bool { return c.RevokedAt != nil }

// record is a client as stored under client.<id>. SecretHash is base64 in
// JSON ([]byte's encoding).
type record struct {
	Role       auth.Role  `json:"role"`
	Name       string     `json:"name"`
	SecretHash []byte     `json:"secretHash"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	Sites      []string   `json:"sites,omitempty"`
}

func (r record) client(id string) Client {
	return Client{ID: id, Role: r.Role, Name: r.Name, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt, Sites: r.Sites}
}

// Store reads and writes HQ credentials in Bucket.
type Store struct {
	kv  jetstream.KeyValue
	nc  *nats.Conn // the bucket's connection: a watch starts again when it reconnects
	key []byte
	now func() time.Time

	mu sync.Mutex // serializes this node's EnsureAdmin calls
}

// Open binds to (creating if needed) Bucket through js, a JetStream handle
// in the hub domain, with replicas replicas (1, or 3 in a cluster), and
// makes sure the signing key exists: the first node to get there creates
// it, every other node reads it. It returns an error if the bucket cannot be
// created or bound, or the key cannot be read or written.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas < 1 {
		replicas = 1
	}
	cfg := jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "HQ client credentials and the token signing key of central",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}
	kv, err := js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Another node made it, perhaps with other settings: use it as it is.
		kv, err = js.KeyValue(ctx, Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("open hq auth: bucket: %w", err)
	}
	s := &Store{kv: kv, nc: js.Conn(), now: time.Now}
	if s.key, err = s.signingKey(ctx); err != nil {
		return nil, fmt.Errorf("open hq auth: %w", err)
	}
	return s, nil
}

// signingKey returns the shared signing key, creating it if there is none.
func (s *Store) signingKey(ctx context.Context) ([]byte, error) {
	key, err := s.createOnce(ctx, keySigning, func() ([]byte, error) { return auth.NewKey(), nil })
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("signing key is %d bytes, need 32", len(key))
	}
	return key, nil
}

// createOnce returns the value under key, creating it with make if there
// is none: the first node to get there wins, every other node reads it.
func (s *Store) createOnce(ctx context.Context, key string, make func() ([]byte, error)) ([]byte, error) {
	for range 5 {
		e, err := s.kv.Get(ctx, key)
		if err == nil {
			return e.Value(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		v, err := make()
		if err != nil {
			return nil, err
		}
		_, err = s.kv.Create(ctx, key, v)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("create %s: %w", key, err)
		}
		// Another node won the race: read its value.
	}
	return nil, fmt.Errorf("%s: kept changing while read", key)
}

// FleetCA returns the fleet's certificate authority, shared by every
// central node through the bucket (key fleet-ca, certificate and private
// key as PEM), creating it on first use. It returns an error if the bucket
// cannot be read or written or holds something that is not a CA.
func (s *Store) FleetCA(ctx context.Context, now time.Time) (*tlsca.CA, error) {
	return s.FleetCAFrom(ctx, now, nil)
}

// FleetCAFrom is FleetCA, storing proposed (when not nil) rather than a new
// CA if the bucket holds none yet: the CA an operator made before the
// cluster's first start, which its routes already trust.
func (s *Store) FleetCAFrom(ctx context.Context, now time.Time, proposed *tlsca.CA) (*tlsca.CA, error) {
	b, err := s.createOnce(ctx, keyFleetCA, func() ([]byte, error) {
		if proposed != nil {
			return proposed.Marshal()
		}
		ca, err := tlsca.New("vendsync fleet CA", now)
		if err != nil {
			return nil, err
		}
		return ca.Marshal()
	})
	if err != nil {
		return nil, fmt.Errorf("fleet ca: %w", err)
	}
	return tlsca.Parse(b)
}

// RotateKey replaces the shared signing key with a new random one and
// returns it. Every node following the key with WatchSigningKey then
// refuses tokens signed before. It returns an error if the bucket cannot be
// written.
func (s *Store) RotateKey(ctx context.Context) ([]byte, error) {
	key := auth.NewKey()
	if _, err := s.kv.Put(ctx, keySigning, key); err != nil {
		return nil, fmt.Errorf("rotate signing key: %w", err)
	}
	return key, nil
}

// WatchSigningKey keeps signer's key equal to the shared one until ctx
// ends, and returns nil then: a rotation made on any node reaches every node
// within moments. A watch that cannot start, or that the server drops, is
// started again (kvfollow). A key the signer refuses, and each reason the
// watch is started again, is passed to onErr (nil to ignore them).
func (s *Store) WatchSigningKey(ctx context.Context, signer *auth.Signer, onErr func(error)) error {
	if onErr == nil {
		onErr = func(error) {}
	}
	return kvfollow.Run(ctx, kvfollow.Config{
		Watch: func(ctx context.Context) (jetstream.KeyWatcher, error) { return s.kv.Watch(ctx, keySigning) },
		Apply: func(e jetstream.KeyValueEntry) {
			if e.Operation() != jetstream.KeyValuePut || signer.KeyIs(e.Value()) {
				return
			}
			if err := signer.Rotate(e.Value()); err != nil {
				onErr(fmt.Errorf("signing key revision %d: %w", e.Revision(), err))
			}
		},
		Restart: func(err error) { onErr(fmt.Errorf("watch signing key: starting it again: %w", err)) },
		Conn:    s.nc,
	})
}

// Signer returns a token signer with the shared key, issuer Issuer and ttl.
// Every node's signer verifies every other node's tokens. It returns an
// error only for a ttl the signer refuses.
func (s *Store) Signer(ttl time.Duration) (*auth.Signer, error) {
	sg, err := auth.NewSigner(s.key, Issuer, ttl)
	if err != nil {
		return nil, fmt.Errorf("hq signer: %w", err)
	}
	return sg, nil
}

// ParseRole accepts an HQ role name in any case. It returns an error
// wrapping ErrInvalid for MACHINE or an unknown role.
func ParseRole(s string) (auth.Role, error) {
	r := auth.Role(strings.ToUpper(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("%w: role %q: must be one of ADMIN, OPS, FINANCE, DRIVER, WAREHOUSE, PROCUREMENT", ErrInvalid, s)
	}
	return r, nil
}

func idPrefix(r auth.Role) string {
	switch r {
	case auth.RoleAdmin:
		return "hqadm"
	case auth.RoleOps:
		return "hqops"
	case auth.RoleFinance:
		return "hqfin"
	case auth.RoleWarehouse:
		return "hqwhs"
	case auth.RoleProcurement:
		return "hqpro"
	case auth.RoleCustomer:
		return "cust"
	default:
		return "hqdrv"
	}
}

// AddClient creates credentials for a new HQ client and returns its id and
// secret; the secret is not kept and cannot be shown again. It returns an
// error wrapping ErrInvalid for a role that is not an HQ role or a name that
// is empty or longer than 128 characters.
func (s *Store) AddClient(ctx context.Context, role auth.Role, name string) (clientID, secret string, err error) {
	c, secret, err := s.addClient(ctx, role, name, nil)
	if err != nil {
		return "", "", err
	}
	return c.ID, secret, nil
}

// AddDriver is AddClient for a DRIVER whose route covers sites; the route
// is kept with the client (reports group by it).
func (s *Store) AddDriver(ctx context.Context, name string, sites []string) (clientID, secret string, err error) {
	c, secret, err := s.addClient(ctx, auth.RoleDriver, name, slices.Clone(sites))
	if err != nil {
		return "", "", err
	}
	return c.ID, secret, nil
}

func (s *Store) addClient(ctx context.Context, role auth.Role, name string, sites []string) (Client, string, error) {
	if !slices.Contains(Roles, role) && role != auth.RoleCustomer {
		return Client{}, "", fmt.Errorf("add client: %w: role %q: must be one of ADMIN, OPS, FINANCE, DRIVER, WAREHOUSE, PROCUREMENT", ErrInvalid, role)
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 {
		return Client{}, "", fmt.Errorf("add client: %w: name must be 1 to 128 characters", ErrInvalid)
	}
	id, secret := auth.NewClientID(idPrefix(role)), auth.NewSecret()
	rec := record{Role: role, Name: name, SecretHash: auth.HashSecret(secret), CreatedAt: s.now().UTC().Truncate(time.Millisecond), Sites: sites}
	b, err := json.Marshal(rec)
	if err != nil {
		return Client{}, "", fmt.Errorf("add client: %w", err)
	}
	if _, err := s.kv.Create(ctx, clientPrefix+id, b); err != nil {
		return Client{}, "", fmt.Errorf("add client: %w", err)
	}
	return rec.client(id), secret, nil
}

// get returns a client's record and its revision, or ErrNotFound.
func (s *Store) get(ctx context.Context, id string) (record, uint64, error) {
	if !validID(id) {
		return record{}, 0, fmt.Errorf("client %q: %w", id, ErrNotFound)
	}
	e, err := s.kv.Get(ctx, clientPrefix+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, 0, fmt.Errorf("client %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return record{}, 0, fmt.Errorf("read client %q: %w", id, err)
	}
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return record{}, 0, fmt.Errorf("read client %q: %w", id, err)
	}
	return r, e.Revision(), nil
}

// validID reports whether id can be a key token: client ids are made by
// auth.NewClientID, so anything else is unknown without asking the bucket.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Client returns the client with id, or an error wrapping ErrNotFound.
func (s *Store) Client(ctx context.Context, id string) (Client, error) {
	r, _, err := s.get(ctx, id)
	if err != nil {
		return Client{}, err
	}
	return r.client(id), nil
}

// Authenticate checks a client's secret and returns the client. It returns
// ErrBadCredentials for an unknown or revoked client or a wrong secret, or a
// storage error.
func (s *Store) Authenticate(ctx context.Context, id, secret string) (Client, error) {
	r, _, err := s.get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Client{}, ErrBadCredentials
	}
	if err != nil {
		return Client{}, fmt.Errorf("authenticate: %w", err)
	}
	if !auth.CheckSecret(r.SecretHash, secret) || r.RevokedAt != nil {
		return Client{}, ErrBadCredentials
	}
	return r.client(id), nil
}

// Revoke revokes a client's credentials: it can get no new token (tokens
// already issued live until they expire). Revoking a revoked client changes
// nothing. It returns the client, or an error wrapping ErrNotFound.
func (s *Store) Revoke(ctx context.Context, id string) (Client, error) {
	for range 10 {
		r, rev, err := s.get(ctx, id)
		if err != nil {
			return Client{}, fmt.Errorf("revoke: %w", err)
		}
		if r.RevokedAt != nil {
			return r.client(id), nil
		}
		now := s.now().UTC().Truncate(time.Millisecond)
		r.RevokedAt = &now
		b, err := json.Marshal(r)
		if err != nil {
			return Client{}, fmt.Errorf("revoke: %w", err)
		}
		_, err = s.kv.Update(ctx, clientPrefix+id, b, rev)
		if err == nil {
			return r.client(id), nil
		}
		if !conflict(err) {
			return Client{}, fmt.Errorf("revoke %q: %w", id, err)
		}
	}
	return Client{}, fmt.Errorf("revoke %q: record kept changing", id)
}

// conflict reports whether err is a failed compare-and-set.
func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

// List returns every HQ client, revoked ones included, oldest first;
// customers (role CUSTOMER) are not listed.
func (s *Store) List(ctx context.Context) ([]Client, error) {
	kl, err := s.kv.ListKeysFiltered(ctx, clientPrefix+">")
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer kl.Stop()
	out := []Client{}
	seen := map[string]bool{}
	for key := range kl.Keys() {
		id := strings.TrimPrefix(key, clientPrefix)
		if seen[id] {
			continue // the lister may repeat a key written while it runs
		}
		seen[id] = true
		r, _, err := s.get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		if r.Role == auth.RoleCustomer {
			continue // customers are not HQ staff (see AddCustomer)
		}
		out = append(out, r.client(id))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	slices.SortFunc(out, func(a, b Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// credentialsFile is what EnsureAdmin writes.
type credentialsFile struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// EnsureAdmin gives the node whose credentials file is path an ADMIN client
// of its own: when path does not exist it creates one, named name, and
// writes its credentials there as {"client_id","client_secret"} (mode
// 0600). Every node of a cluster runs it on start with the file in its own
// data directory, so each node's directory holds a working ADMIN
// credential, whichever node started first; HQ credentials are shared, so
// any node accepts any of them. An existing file is left alone (delete it
// and restart the node for a new one; revoke the old one with DELETE
// /clients/{id}).
//
// It returns created = false when path exists, and an error when the
// client or the file cannot be written (the new client is then revoked).
func (s *Store) EnsureAdmin(ctx context.Context, path, name string) (created bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("admin credentials: %w", err)
	}
	c, secret, err := s.addClient(ctx, auth.RoleAdmin, name, nil)
	if err != nil {
		return false, fmt.Errorf("admin credentials: %w", err)
	}
	if err := writeCredentials(path, credentialsFile{ClientID: c.ID, ClientSecret: secret}); err != nil {
		if _, rerr := s.Revoke(ctx, c.ID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return false, fmt.Errorf("admin credentials: %w", err)
	}
	return true, nil
}

func writeCredentials(path string, v credentialsFile) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}
